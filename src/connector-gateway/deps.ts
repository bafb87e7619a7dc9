import type { ToolInvokeResult } from '../../generated/connector-gateway/types';
import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { ControlPlaneClient } from '../gateway/cp-client';
import type { McpToolService } from './mcp-tools';
import type { ReplayCache } from './replay-cache';
import type { TicketService } from './tickets';
import type { ToolService } from './tools';

/** What every connector-gateway handler receives as `ctx.deps`. */
export interface ConnectorGatewayDeps {
  config: Config;
  log: Logger;
  identity: Identity;
  /** Control Plane client (shared with the gateway; this service's own token). */
  cp: ControlPlaneClient;
  /** Policy checks, secret reads and tool execution. */
  tools: ToolService;
  /** The instance's MCP servers: list and call their tools under the same policy. */
  mcp: McpToolService;
  /** Helpdesk tickets of conversations handed over to a person. */
  tickets: TicketService;
  /** Idempotency-Key replays of invokeTool. */
  replays: ReplayCache<ToolInvokeResult>;
}
