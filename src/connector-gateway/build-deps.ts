import type { Identity } from '../auth/identity';
import { clientCredentialsTokenSource, devIssuerTokenSource, type TokenSource } from '../auth/token-source';
import { createControlPlaneClient } from '../gateway/cp-client';
import { createHttpClient } from '../platform/service-client/http-json';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createSecretStore, type SecretStore } from '../secrets';
import type { ConnectorGatewayDeps } from './deps';
import { McpToolService } from './mcp-tools';
import { systemResolver, type Resolver } from '../platform/net-guard';
import { ReplayCache } from './replay-cache';
import { MemoryRunCallCounter } from './run-call-counter';
import { ToolService, type ToolCallRecord } from './tools';

export interface ConnectorGatewayOverrides {
  controlPlaneUrl?: () => string;
  tokens?: TokenSource;
  secrets?: SecretStore;
  resolver?: Resolver;
  /** Tests only: where a checked address is dialled. */
  dial?: (address: string) => string;
  /** Tests only: a CA the MCP client trusts besides the system's (a test server's certificate). */
  ca?: string | Buffer;
  onToolCall?: (record: ToolCallRecord) => void | string | Promise<void | string>;
  backoffMs?: (n: number) => number;
}

/** The connector gateway's own service token: Keycloak client credentials, or the dev issuer. */
export function connectorGatewayTokenSource(config: Config, identity: Identity): TokenSource {
  if (identity.devIssuer) return devIssuerTokenSource(identity.devIssuer, { service: 'connector-gateway', audience: config.oidc.audience });
  const { clientId, clientSecret, tokenUrl } = config.connectorGateway;
  if (!clientSecret) throw new Error('The connector gateway needs CONNECTOR_GATEWAY_CLIENT_SECRET (its Keycloak client secret) when OIDC_ISSUER is set');
  return clientCredentialsTokenSource({ issuer: identity.issuer, clientId, clientSecret, tokenUrl });
}

export function buildConnectorGatewayDeps(base: { config: Config; log: Logger; identity: Identity }, o: ConnectorGatewayOverrides = {}): ConnectorGatewayDeps {
  const log = base.log.child({ service: 'connector-gateway' });
  const cp = createControlPlaneClient({
    baseUrl: o.controlPlaneUrl ?? (() => base.config.urls.controlPlane),
    http: createHttpClient(),
    tokens: o.tokens ?? connectorGatewayTokenSource(base.config, base.identity),
  });
  const shared = {
    entitlements: (instanceId: string, requestId: string) => cp.getEntitlements(instanceId, { kind: 'service' }, { requestId }),
    secrets: o.secrets ?? createSecretStore(base.config),
    resolver: o.resolver ?? systemResolver,
    dial: o.dial,
    log,
    onToolCall: o.onToolCall,
    backoffMs: o.backoffMs,
  };
  const tools = new ToolService(shared);
  const mcp = new McpToolService({ ...shared, ca: o.ca, counter: new MemoryRunCallCounter() });
  return { ...base, cp, tools, mcp, replays: new ReplayCache() };
}
