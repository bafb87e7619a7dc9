/**
 * `invoke(tool, bindingId, input)` for an instance:
 * 1. the instance's entitlements from the Control Plane (the connector gateway's own service
 *    token; CP down → 503 CONTROL_PLANE_UNAVAILABLE, fail closed); the instance must be active;
 * 2. the tool must be in allowedTools; the binding must be one the instance may use (else 404,
 *    so another tenant's binding id reveals nothing), active (revoked → 403) and of the tool's
 *    connector; the target host must be in allowedHosts and, unless allowPrivateNetworks, public;
 * 3. the credential from the secret store (2 s, 2 retries; down/sealed → 503 VAULT_UNAVAILABLE and
 *    nothing executed; gone → 403, the binding was revoked);
 * 4. the HTTP call with the credential injected as the connector type says; read tools retried
 *    up to `readRetries` (default 3) times on 502/503/504 and connection errors (not after a
 *    timeout, which already used the call's budget); write
 *    tools never (an explicit `kind: write` makes a read tool a write); upstream 5xx after the
 *    attempts → 502, timeout → 504;
 * 5. (after 2, before 3) the instance's capabilities' onToolCall hooks (src/capabilities/hooks/run-hooks.ts) may
 *    refuse the call (403 POLICY_DENIED naming the capability), before the secret is read;
 * 6. one structured audit line per call and the `onToolCall` hook — never the secret. Any echo of
 *    the credential in the upstream's answer is redacted before it is returned.
 */
import type { ToolCallRecordLike } from '../audit';
import type { Entitlements } from '../../generated/control-plane/types';
import type { ToolInvokeRequest, ToolInvokeResult, ToolPolicy } from '../../generated/connector-gateway/types';
import { connectorType, type CredentialInjection } from '../connectors/catalog';
import { runToolCallHooks } from '../capabilities/hooks/run-hooks';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import { bindingSecretPath, SecretMissingError, vaultUnavailable, type SecretData, type SecretStore } from '../secrets';
import { checkTarget, executeHttp, policyDenied, UpstreamNetworkError, UpstreamTimeout, type HttpResult } from './http-connector';
import type { Resolver } from '../platform/net-guard';

/** One tool call as the audit log records it, plus the id of that audit event. */
export interface ToolCallRecord extends ToolCallRecordLike {
  auditEventId: string;
}

export interface ToolServiceOptions {
  entitlements(instanceId: string, requestId: string): Promise<Entitlements>;
  secrets: SecretStore;
  resolver: Resolver;
  /** Tests only: where a checked address is dialled. */
  dial?: (address: string) => string;
  log: Logger;
  /**
   * Called once per call with its audit record (the audit log subscribes here); may answer the
   * id of the audit event it wrote, which the caller then gets as `auditEventId`.
   */
  onToolCall?: (record: ToolCallRecord) => void | string | Promise<void | string>;
  sleep?: (ms: number) => Promise<void>;
  /** Delay before retry n (1-based); default 100 ms × 2^(n-1). */
  backoffMs?: (n: number) => number;
}

type Cfg = Record<string, any>;
const RETRY_STATUS = new Set([502, 503, 504]);
const DROP_HEADERS = new Set(['authorization', 'proxy-authorization', 'host', 'cookie', 'content-length', 'connection', 'transfer-encoding', 'x-vault-token']);

/** The tool policy the connector gateway enforces, derived from entitlements. */
export function policyOf(ent: Entitlements, now = new Date()): ToolPolicy {
  const tools: Cfg = (ent.config as Record<string, Cfg>).tool_connectors ?? {};
  const mcp: Cfg = (ent.config as Record<string, Cfg>).mcp_tools ?? {};
  return {
    instanceId: ent.instanceId,
    allowedTools: ent.allowedTools,
    allowedHosts: ent.allowedHosts,
    allowPrivateNetworks: tools.allowPrivateNetworks === true,
    toolTimeoutMs: typeof tools.toolTimeoutMs === 'number' ? tools.toolTimeoutMs : 15_000,
    mcpServers: (mcp.servers ?? []).map((s: Cfg) => ({ name: s.name, url: s.url, transport: s.transport ?? 'streamable_http', allowedTools: s.allowedTools ?? [], ...(s.bindingId ? { bindingId: s.bindingId } : {}) })),
    bindings: ent.bindings,
    computedAt: now.toISOString(),
  };
}

/** The credential headers for a request, as the binding's connector type says. */
export function inject(rule: CredentialInjection, secret: SecretData): Record<string, string> {
  const need = (field: string) => {
    const v = secret[field];
    if (typeof v !== 'string' || !v) throw new AppError('POLICY_DENIED', 'The binding credential is incomplete', { reason: 'credential_incomplete' });
    return v;
  };
  if (rule.kind === 'bearer') return { authorization: `Bearer ${need(rule.field)}` };
  if (rule.kind === 'header') return { [rule.header.toLowerCase()]: need(rule.field) };
  return { authorization: `Basic ${Buffer.from(`${need(rule.userField)}:${need(rule.passwordField)}`).toString('base64')}` };
}

/** The strings an answer must not carry: the secret's values and their injected forms. */
export function secretStrings(secret: SecretData, credentialHeaders: Record<string, string>): string[] {
  const headers = Object.values(credentialHeaders);
  return [...Object.values(secret).filter((v): v is string => typeof v === 'string'), ...headers, ...headers.map((h) => h.replace(/^(Bearer|Basic) /, ''))];
}

/** Replaces every occurrence of the secret values (and their injected forms) in the output. */
export function redact<T>(value: T, secrets: string[]): T {
  const needles = secrets.filter((s) => s.length >= 4);
  if (!needles.length) return value;
  let text = JSON.stringify(value);
  for (const n of needles) {
    const j = JSON.stringify(n).slice(1, -1);
    text = text.split(j).join('[REDACTED]');
  }
  return JSON.parse(text) as T;
}

/** The audit outcome of a failed call, from its error code. */
export function outcomeOf(code: string): ToolCallRecord['outcome'] {
  return code === 'POLICY_DENIED' || code === 'NOT_FOUND' || code === 'NOT_ENTITLED' ? 'denied'
    : code === 'VAULT_UNAVAILABLE' ? 'vault_unavailable'
    : code === 'DEPENDENCY_TIMEOUT' ? 'timeout'
    : code === 'DEPENDENCY_UNAVAILABLE' ? 'upstream_error' : 'error';
}

/**
 * One structured audit line per call (HTTP or MCP tool), then the `onToolCall` hook (its failure
 * is logged, never the call's). The record carries references only, never the secret.
 */
export async function auditCall(o: Pick<ToolServiceOptions, 'onToolCall' | 'log'>, record: ToolCallRecord, started: number): Promise<void> {
  record.durationMs = Date.now() - started;
  try {
    const id = await o.onToolCall?.(record);
    if (typeof id === 'string') record.auditEventId = id;
  } catch (hookErr) {
    o.log.error({ err: hookErr, auditEventId: record.auditEventId }, 'onToolCall hook failed');
  }
  o.log.info({ audit: 'tool_call', ...record }, 'tool call');
}

export class ToolService {
  constructor(private readonly o: ToolServiceOptions) {}

  async policy(instanceId: string, requestId: string, entitlements?: Entitlements): Promise<ToolPolicy> {
    return policyOf(entitlements ?? (await this.o.entitlements(instanceId, requestId)));
  }

  async invoke(req: ToolInvokeRequest, ctx: { requestId: string; idempotencyKey?: string; signal?: AbortSignal }): Promise<ToolInvokeResult> {
    const started = Date.now();
    const ent = await this.o.entitlements(req.instanceId, ctx.requestId);
    const policy = policyOf(ent);
    const record: ToolCallRecord = {
      auditEventId: newId('evt'),
      requestId: ctx.requestId,
      orgId: ent.orgId,
      projectId: ent.projectId,
      instanceId: ent.instanceId,
      runId: req.runId,
      tool: req.tool,
      bindingId: req.bindingId,
      kind: req.kind ?? 'read',
      outcome: 'error',
      attempts: 0,
      durationMs: 0,
    };
    let result: Omit<ToolInvokeResult, 'auditEventId'>;
    try {
      result = await this.run(req, ctx, ent, policy, record);
      record.outcome = 'ok';
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('INTERNAL', 'Unexpected error', undefined, { cause: err });
      record.errorCode = e.code;
      record.outcome = outcomeOf(e.code);
      await auditCall(this.o, record, started);
      throw e;
    }
    await auditCall(this.o, record, started);
    return { ...result, auditEventId: record.auditEventId };
  }

  private async run(req: ToolInvokeRequest, ctx: { requestId: string; idempotencyKey?: string; signal?: AbortSignal }, ent: Entitlements, policy: ToolPolicy, record: ToolCallRecord): Promise<Omit<ToolInvokeResult, 'auditEventId'>> {
    if (ent.state !== 'active') throw new AppError('NOT_ENTITLED', `The instance is ${ent.state}; tool calls need an active instance`, { state: ent.state });
    const tool = policy.allowedTools.find((t) => t.name === req.tool);
    if (!tool) throw policyDenied(`Tool ${req.tool} is not allowed for this instance`, { tool: req.tool, reason: 'tool_not_allowed' });
    const kind: 'read' | 'write' = tool.kind === 'write' || req.kind === 'write' ? 'write' : 'read';
    record.kind = kind;
    const binding = policy.bindings.find((b) => b.bindingId === req.bindingId);
    if (!binding) throw new AppError('NOT_FOUND', 'Connector binding not found');
    record.connectorId = binding.connectorId;
    if (binding.status !== 'active') throw policyDenied('The connector binding is revoked', { bindingId: req.bindingId, reason: 'binding_revoked' });
    if (binding.connectorId !== tool.connector) throw policyDenied(`Tool ${req.tool} needs a ${tool.connector} binding`, { bindingId: req.bindingId, reason: 'connector_mismatch' });
    const type = connectorType(binding.connectorId);
    if (!type) throw policyDenied(`Connector ${binding.connectorId} cannot be executed here`, { reason: 'connector_unsupported' });

    const input = req.input as Cfg;
    if (typeof input.url !== 'string') throw new AppError('VALIDATION_FAILED', 'input.url is required', { issues: [{ path: '/input/url', message: 'is required' }] });
    const method = typeof input.method === 'string' ? input.method.toUpperCase() : req.tool.endsWith('.get') || kind === 'read' ? 'GET' : 'POST';
    if (!/^(GET|HEAD|POST|PUT|PATCH|DELETE)$/.test(method)) throw new AppError('VALIDATION_FAILED', 'input.method is not supported', { issues: [{ path: '/input/method', message: 'must be GET, HEAD, POST, PUT, PATCH or DELETE' }] });
    if (kind === 'read' && !['GET', 'HEAD'].includes(method)) throw policyDenied('A read tool may only GET or HEAD', { tool: req.tool, reason: 'method_not_allowed' });
    let host: string;
    try {
      host = new URL(input.url).hostname;
    } catch {
      throw new AppError('VALIDATION_FAILED', 'input.url must be an absolute URL', { issues: [{ path: '/input/url', message: 'must be an absolute URL' }] });
    }
    record.method = method;
    record.host = host;
    // Host allow-list before the secret is ever read (executeHttp checks it again per hop).
    checkTarget(input.url, policy.allowedHosts);
    // The instance's capabilities may refuse the call (onToolCall hooks, e.g. guardrails), also before the secret.
    await runToolCallHooks(ent, { tool: req.tool, bindingId: req.bindingId, input }, req.runId);

    let secret: SecretData;
    try {
      secret = (await this.o.secrets.get(bindingSecretPath(ent.orgId, ent.projectId, req.bindingId))).data;
    } catch (err) {
      if (err instanceof SecretMissingError) throw policyDenied('The connector binding has no usable credential (revoked)', { bindingId: req.bindingId, reason: 'binding_revoked' });
      throw vaultUnavailable({ bindingId: req.bindingId }, err);
    }
    const credentialHeaders = inject(type.injection, secret);
    const headers: Record<string, string> = {};
    if (input.headers && typeof input.headers === 'object') {
      for (const [k, v] of Object.entries(input.headers as Record<string, unknown>)) {
        if (typeof v === 'string' && !DROP_HEADERS.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
      }
    }
    if (ctx.idempotencyKey) headers['idempotency-key'] = ctx.idempotencyKey;
    headers['x-request-id'] = ctx.requestId;
    const timeoutMs = Math.min(req.timeoutMs ?? policy.toolTimeoutMs, policy.toolTimeoutMs, 60_000);
    const cfg: Cfg = (ent.config as Record<string, Cfg>).tool_connectors ?? {};
    const readRetries = typeof cfg.readRetries === 'number' ? Math.min(Math.max(cfg.readRetries, 0), 3) : 3;
    const attempts = kind === 'write' ? 1 : 1 + readRetries;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const backoff = this.o.backoffMs ?? ((n: number) => 100 * 2 ** (n - 1));
    const started = Date.now();
    let last: HttpResult | undefined;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(backoff(attempt - 1));
      record.attempts = attempt;
      try {
        last = await executeHttp({
          method,
          url: input.url,
          headers,
          credentialHeaders,
          body: method === 'GET' || method === 'HEAD' ? undefined : input.body,
          timeoutMs,
          allowedHosts: policy.allowedHosts,
          allowPrivateNetworks: policy.allowPrivateNetworks,
          resolver: this.o.resolver,
          dial: this.o.dial,
          signal: ctx.signal,
        });
        lastErr = undefined;
        record.status = last.status;
        if (!RETRY_STATUS.has(last.status)) break;
      } catch (err) {
        if (err instanceof AppError) throw err;
        lastErr = err;
        last = undefined;
        // A timeout already spent the call's budget: answer 504 rather than wait 4× as long.
        if (err instanceof UpstreamTimeout) break;
      }
    }
    if (lastErr instanceof UpstreamTimeout) throw new AppError('DEPENDENCY_TIMEOUT', `The tool did not answer within ${timeoutMs} ms`, { tool: req.tool, attempts: record.attempts });
    if (lastErr || !last) {
      const reason = lastErr instanceof UpstreamNetworkError ? lastErr.message : 'unreachable';
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'The tool could not be reached', { tool: req.tool, attempts: record.attempts, reason }, { status: 502 });
    }
    if (last.status >= 500) throw new AppError('DEPENDENCY_UNAVAILABLE', `The tool answered ${last.status}`, { tool: req.tool, attempts: record.attempts, upstreamStatus: last.status }, { status: 502 });
    return {
      tool: req.tool,
      bindingId: req.bindingId,
      kind,
      output: redact({ status: last.status, headers: last.headers, body: last.body }, secretStrings(secret, credentialHeaders)) as Record<string, unknown>,
      attempts: record.attempts,
      durationMs: Date.now() - started,
    };
  }
}
