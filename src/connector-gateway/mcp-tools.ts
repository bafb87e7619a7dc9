/**
 * The instance's MCP tools (`mcp_tools` capability), under the same policy as HTTP tools
 * (tools.ts):
 * 1. the instance active; the server named in its `mcp_tools.servers` (a call to an unknown
 *    server is refused); for a call, the tool in that server's `allowedTools` (empty allows
 *    none) — refused before anything is sent;
 * 2. the run's `maxCallsPerRun` (per instance and run id; every call accepted here counts, whether
 *    or not the server answers; a refused one reads no secret and sends nothing);
 * 3. the server URL https, its host the only allowed host, and every address it resolves to
 *    public (checked before the secret is read, and again on every connection — redirects
 *    included — by the guarded fetch);
 * 4. the credential of the server's `bindingId` from the secret store (the binding must be one the
 *    instance may use, and active; Vault down → 503, nothing sent), injected as the binding's
 *    connector type says;
 * 5. `initialize` + `tools/list` (a read: retried on transient failures), the tool's kind from its
 *    annotations (`readOnlyHint: true` without `destructiveHint: true` → read, else write; a
 *    request's `kind: write` makes it stricter), then `tools/call`: a read is retried up to 3×
 *    on 502/503/504 and connection errors, a write is sent once. Each request has
 *    `callTimeoutMs`, the whole operation at most 60 s; a timeout is never retried;
 * 6. one audit line per call (tools.ts auditCall), any echo of the credential redacted from the
 *    answer. Failures name the server: down → 502 `details.server`, timeout → 504.
 */
import type { Entitlements } from '../../generated/control-plane/types';
import type { McpToolCallRequest, McpToolCallResult, McpToolList } from '../../generated/connector-gateway/types';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { connectorType } from '../connectors/catalog';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import { bindingSecretPath, SecretMissingError, vaultUnavailable, type SecretStore } from '../secrets';
import { guardedFetch } from './guarded-fetch';
import { checkTarget, policyDenied } from './http-connector';
import { McpFailure, mcpToolKind, openMcpSession, type McpSession, type McpTransportName } from './mcp-client';
import { resolveChecked, type Resolver } from '../platform/net-guard';
import type { RunCallCounter } from './run-call-counter';
import { auditCall, inject, outcomeOf, redact, secretStrings, type ToolCallRecord, type ToolServiceOptions } from './tools';

export interface McpToolServiceOptions {
  entitlements(instanceId: string, requestId: string): Promise<Entitlements>;
  secrets: SecretStore;
  resolver: Resolver;
  counter: RunCallCounter;
  log: Logger;
  onToolCall?: ToolServiceOptions['onToolCall'];
  /** Tests only: where a checked address is dialled. */
  dial?: (address: string) => string;
  /** Tests only: a CA to trust besides the system's. */
  ca?: string | Buffer;
  sleep?: (ms: number) => Promise<void>;
  /** Delay before retry n (1-based); default 100 ms × 2^(n-1). */
  backoffMs?: (n: number) => number;
}

interface ServerConfig {
  name: string;
  url: string;
  transport: McpTransportName;
  bindingId?: string;
  allowedTools: string[];
}

interface Limits {
  callTimeoutMs: number;
  maxCallsPerRun: number;
}

interface Prepared {
  server: ServerConfig;
  limits: Limits;
  open(signal: AbortSignal): Promise<McpSession>;
  secrets: string[];
}

const READ_RETRIES = 3;
/**
 * The most one operation (list, or call with its retries) may take, whatever `callTimeoutMs`
 * says for each request: the Runner's client of this service waits 65 s.
 */
const OPERATION_BUDGET_MS = 60_000;

function operationSignal(signal?: AbortSignal): AbortSignal {
  const budget = AbortSignal.timeout(OPERATION_BUDGET_MS);
  return signal ? AbortSignal.any([signal, budget]) : budget;
}
const MAX_RESPONSE_BYTES = 1 << 20;

function configOf(ent: Entitlements): { servers: ServerConfig[]; limits: Limits } {
  const c = ((ent.config as Record<string, Record<string, any>>).mcp_tools ?? {}) as Record<string, any>;
  return {
    servers: (Array.isArray(c.servers) ? c.servers : []).map((s: Record<string, any>) => ({
      name: s.name,
      url: s.url,
      transport: s.transport === 'sse' ? 'sse' : 'streamable_http',
      ...(typeof s.bindingId === 'string' ? { bindingId: s.bindingId } : {}),
      allowedTools: Array.isArray(s.allowedTools) ? s.allowedTools : [],
    })),
    limits: {
      callTimeoutMs: typeof c.callTimeoutMs === 'number' ? c.callTimeoutMs : 15_000,
      maxCallsPerRun: typeof c.maxCallsPerRun === 'number' ? c.maxCallsPerRun : 10,
    },
  };
}

function unavailable(server: string, failure: McpFailure, attempts: number, tool?: string): AppError {
  return new AppError('DEPENDENCY_UNAVAILABLE', `MCP server ${server} is unavailable`, {
    server,
    ...(tool ? { tool } : {}),
    attempts,
    reason: failure.reason,
    ...(failure.upstreamStatus ? { upstreamStatus: failure.upstreamStatus } : {}),
  }, { status: 502, cause: failure });
}

function failed(server: string, failure: McpFailure, attempts: number, timeoutMs: number, tool?: string): AppError {
  if (failure.kind === 'timeout') return new AppError('DEPENDENCY_TIMEOUT', `MCP server ${server} did not answer within ${timeoutMs} ms`, { server, ...(tool ? { tool } : {}), attempts }, { cause: failure });
  if (failure.kind === 'rpc' && tool) return new AppError('UNPROCESSABLE', `MCP server ${server} refused the call of ${tool}`, { server, tool, reason: failure.reason }, { cause: failure });
  return unavailable(server, failure, attempts, tool);
}

export class McpToolService {
  constructor(private readonly o: McpToolServiceOptions) {}

  private sleep(ms: number): Promise<void> {
    return (this.o.sleep ?? ((t: number) => new Promise<void>((r) => setTimeout(r, t))))(ms);
  }

  private backoff(n: number): number {
    return (this.o.backoffMs ?? ((k: number) => 100 * 2 ** (k - 1)))(n);
  }

  /** Step 1: the instance active and the server one of its `mcp_tools.servers`. */
  private serverOf(ent: Entitlements, name: string, missing: () => AppError): { server: ServerConfig; limits: Limits } {
    if (ent.state !== 'active') throw new AppError('NOT_ENTITLED', `The instance is ${ent.state}; MCP tools need an active instance`, { state: ent.state });
    const { servers, limits } = configOf(ent);
    const server = servers.find((s) => s.name === name);
    if (!server) throw missing();
    return { server, limits };
  }

  /** Steps 3 and 4: the server's address checked, its credential read; how to open sessions. */
  private async prepare(ent: Entitlements, server: ServerConfig, limits: Limits, record?: ToolCallRecord): Promise<Prepared> {
    let host: string;
    try {
      host = new URL(server.url).hostname;
    } catch {
      throw new AppError('INVALID_CONFIG', `MCP server ${server.name} has no valid URL`, { server: server.name });
    }
    // Scheme, no user info; the server's own host is the only host its requests may reach.
    const url = checkTarget(server.url, [host]);
    if (record) record.host = url.hostname;
    if (url.protocol !== 'https:') throw policyDenied(`MCP server ${server.name} is not https`, { server: server.name, reason: 'insecure_scheme' });
    // Before the secret is read: a server resolving to a private address never gets it.
    await resolveChecked(url.hostname, false, this.o.resolver).catch((err) => {
      if (err instanceof AppError) throw new AppError(err.code, err.message, { ...err.details, server: server.name });
      throw unavailable(server.name, new McpFailure('transient', 'ENOTFOUND'), 1);
    });
    let credentialHeaders: Record<string, string> = {};
    let secrets: string[] = [];
    if (server.bindingId) {
      const binding = ent.bindings.find((b) => b.bindingId === server.bindingId);
      if (!binding) throw policyDenied(`The binding of MCP server ${server.name} is not usable by this instance`, { server: server.name, bindingId: server.bindingId, reason: 'binding_not_found' });
      if (record) record.connectorId = binding.connectorId;
      if (binding.status !== 'active') throw policyDenied(`The binding of MCP server ${server.name} is revoked`, { server: server.name, bindingId: server.bindingId, reason: 'binding_revoked' });
      const type = connectorType(binding.connectorId);
      if (!type) throw policyDenied(`Connector ${binding.connectorId} cannot carry an MCP credential`, { server: server.name, reason: 'connector_unsupported' });
      let data;
      try {
        data = (await this.o.secrets.get(bindingSecretPath(ent.orgId, ent.projectId, server.bindingId))).data;
      } catch (err) {
        if (err instanceof SecretMissingError) throw policyDenied(`The binding of MCP server ${server.name} has no usable credential (revoked)`, { server: server.name, bindingId: server.bindingId, reason: 'binding_revoked' });
        throw vaultUnavailable({ bindingId: server.bindingId, server: server.name }, err);
      }
      credentialHeaders = inject(type.injection, data);
      secrets = secretStrings(data, credentialHeaders);
    }
    const fetch = guardedFetch({
      allowedHosts: [url.hostname],
      allowPrivateNetworks: false,
      resolver: this.o.resolver,
      dial: this.o.dial,
      ca: this.o.ca,
      credentialHeaders,
      credentialHost: url.host,
      maxBytes: MAX_RESPONSE_BYTES,
    });
    return {
      server,
      limits,
      secrets,
      open: (signal) => openMcpSession({ url: server.url, transport: server.transport, fetch, timeoutMs: limits.callTimeoutMs, signal }),
    };
  }

  /**
   * Opens a session and lists the tools, retrying transient failures (a read). Answers the open
   * session (the caller closes it) and the attempts made.
   */
  private async openAndList(p: Prepared, signal: AbortSignal, tool?: string): Promise<{ session: McpSession; tools: Tool[]; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      let session: McpSession | undefined;
      try {
        session = await p.open(signal);
        const tools = await session.listTools({ timeoutMs: p.limits.callTimeoutMs, signal });
        return { session, tools, attempts: attempt };
      } catch (err) {
        await session?.close();
        if (err instanceof AppError && !err.details?.server) throw new AppError(err.code, err.message, { ...err.details, server: p.server.name }, { status: err.status });
        if (!(err instanceof McpFailure)) throw err;
        if (err.kind !== 'transient' || attempt > READ_RETRIES) throw failed(p.server.name, err, attempt, p.limits.callTimeoutMs, tool);
      }
    }
  }

  async list(ent: Entitlements, serverName: string, ctx: { requestId: string; signal?: AbortSignal }): Promise<McpToolList> {
    const started = Date.now();
    const { server, limits } = this.serverOf(ent, serverName, () => new AppError('NOT_FOUND', `MCP server ${serverName} is not configured for this instance`, { server: serverName }));
    const p = await this.prepare(ent, server, limits);
    const signal = operationSignal(ctx.signal);
    const { session, tools } = await this.openAndList(p, signal);
    await session.close();
    this.o.log.info({ mcp: 'tools_list', requestId: ctx.requestId, orgId: ent.orgId, projectId: ent.projectId, instanceId: ent.instanceId, server: serverName, tools: tools.length }, 'mcp tools listed');
    const allowed = new Set(p.server.allowedTools);
    return redact({
      instanceId: ent.instanceId,
      server: p.server.name,
      transport: p.server.transport,
      ...(session.serverInfo ? { serverInfo: { name: session.serverInfo.name, version: session.serverInfo.version } } : {}),
      tools: tools.map((t) => ({
        name: t.name,
        ...(t.title ? { title: t.title } : {}),
        ...(t.description ? { description: t.description } : {}),
        inputSchema: t.inputSchema as Record<string, unknown>,
        ...(t.outputSchema ? { outputSchema: t.outputSchema as Record<string, unknown> } : {}),
        ...(t.annotations ? { annotations: t.annotations as Record<string, unknown> } : {}),
        kind: mcpToolKind(t),
        allowed: allowed.has(t.name),
      })),
      durationMs: Date.now() - started,
    }, p.secrets);
  }

  async call(req: McpToolCallRequest, ctx: { requestId: string; signal?: AbortSignal }): Promise<McpToolCallResult> {
    const started = Date.now();
    const ent = await this.o.entitlements(req.instanceId, ctx.requestId);
    const record: ToolCallRecord = {
      auditEventId: newId('evt'),
      requestId: ctx.requestId,
      orgId: ent.orgId,
      projectId: ent.projectId,
      instanceId: ent.instanceId,
      runId: req.runId,
      tool: req.tool,
      server: req.server,
      kind: req.kind ?? 'write',
      method: 'tools/call',
      outcome: 'error',
      attempts: 0,
      durationMs: 0,
    };
    try {
      const result = await this.run(req, ctx, ent, record);
      record.outcome = 'ok';
      await auditCall(this.o, record, started);
      return { ...result, auditEventId: record.auditEventId };
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL', 'Unexpected error', undefined, { cause: err });
      record.errorCode = e.code;
      record.outcome = outcomeOf(e.code);
      await auditCall(this.o, record, started);
      throw e;
    }
  }

  private async run(req: McpToolCallRequest, ctx: { requestId: string; signal?: AbortSignal }, ent: Entitlements, record: ToolCallRecord): Promise<Omit<McpToolCallResult, 'auditEventId'>> {
    const callStarted = Date.now();
    const { server, limits } = this.serverOf(ent, req.server, () => policyDenied(`MCP server ${req.server} is not configured for this instance`, { server: req.server, reason: 'server_not_configured' }));
    if (server.bindingId) record.bindingId = server.bindingId;
    if (!server.allowedTools.includes(req.tool)) throw policyDenied(`Tool ${req.tool} of MCP server ${req.server} is not allowed for this instance`, { server: req.server, tool: req.tool, reason: 'tool_not_allowed' });
    const taken = this.o.counter.take(`${ent.instanceId}:${req.runId}`, limits.maxCallsPerRun);
    if (!taken.allowed) throw policyDenied(`Run ${req.runId} already made ${limits.maxCallsPerRun} MCP tool calls (maxCallsPerRun)`, { server: req.server, tool: req.tool, runId: req.runId, maxCallsPerRun: limits.maxCallsPerRun, reason: 'max_calls_per_run' });
    const p = await this.prepare(ent, server, limits, record);

    const signal = operationSignal(ctx.signal);
    let { session, tools } = await this.openAndList(p, signal, req.tool);
    let result: CallToolResult | undefined;
    try {
      const tool = tools.find((t) => t.name === req.tool);
      if (!tool) throw new AppError('NOT_FOUND', `MCP server ${req.server} offers no tool ${req.tool}`, { server: req.server, tool: req.tool });
      const kind = req.kind === 'write' ? 'write' : mcpToolKind(tool);
      record.kind = kind;
      const maxAttempts = kind === 'write' ? 1 : 1 + READ_RETRIES;
      for (let attempt = 1; ; attempt++) {
        record.attempts = attempt;
        try {
          result = await session.callTool(req.tool, req.arguments, { timeoutMs: limits.callTimeoutMs, signal });
          break;
        } catch (err) {
          if (!(err instanceof McpFailure)) throw err;
          if (err.kind !== 'transient' || attempt >= maxAttempts) throw failed(req.server, err, attempt, limits.callTimeoutMs, req.tool);
        }
        // A transient failure of a read: a fresh session, then the call again.
        await session.close();
        await this.sleep(this.backoff(attempt));
        ({ session } = await this.openAndList(p, signal, req.tool));
      }
    } finally {
      await session.close();
    }
    return redact({
      server: req.server,
      tool: req.tool,
      kind: record.kind,
      content: (result!.content ?? []) as Record<string, unknown>[],
      ...(result!.structuredContent ? { structuredContent: result!.structuredContent as Record<string, unknown> } : {}),
      isError: result!.isError === true,
      attempts: record.attempts,
      durationMs: Date.now() - callStarted,
    }, p.secrets);
  }
}
