/**
 * `POST /v1/runs`, step by step:
 *
 *   caller (user JWT / project API key / widget session)
 *   → entitlements for (credential, instance)  [cached ≤ 5 s; the CP decides tenant scope]
 *   → active? channel allowed (API keys: allowApiKeys; widgets: web_widget + Origin)? input size?
 *   → rate limit: the instance's bucket (plan rateLimits) + the caller's (channel capability's rateLimitPerMinute)
 *   → authorize estimatedBudgetPerRun  [Idempotency-Key authz:<runId>; 403 INSUFFICIENT_CREDITS passes through]
 *   → Runner (≤ 60 s)  — failure or timeout → void (never charge a failed run), answer the Runner's error
 *   → settle the Runner's usage (`runs` counted as the channel's dimension: api_runs / widget_runs / chat_runs)
 *   → output, usage, billing.
 *
 * The Control Plane's authorize is what guarantees that concurrent runs never overspend a wallet
 * (available = balance − open reservations, checked under the wallet's lock); the gateway only
 * ever spends what a reservation covers.
 */
import { createHash } from 'node:crypto';
import type { Entitlements, Reservation, Settlement } from '../../generated/control-plane/types';
import type { RunRecord, RunRequest, RunResult } from '../../generated/gateway/types';
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import { AppError, type ErrorCode } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import { credentialOf, widgetSessionOf } from './auth';
import type { GatewayDeps } from './deps';
import type { PreparedArtifact } from './flow-tweaks';
import { tweaksFor } from './flow-tweaks';
import type { RunOutcome } from './metrics';
import { originAllowed } from './origins';
import { waited, type Waits } from './overhead';
import type { BucketSpec } from './rate-limit';
import { GATEWAY_RUNNER_TIMEOUT_MS } from './runner-client';
import type { StoredRun } from './run-store';

export type Channel = 'user' | 'api_key' | 'widget';

/** The metering dimension a run is counted in, by the channel it came through. */
export const CHANNEL_DIMENSION: Record<Channel, string> = { user: 'chat_runs', api_key: 'api_runs', widget: 'widget_runs' };
/** The experience capability whose per-caller limits apply to a channel. */
const CHANNEL_CAPABILITY: Record<Channel, string> = { user: 'chat_ui', api_key: 'api_endpoint', widget: 'web_widget' };

/** Reservations outlive the longest run (60 s) with room for settle retries. */
const RESERVATION_TTL_SECONDS = 120;

export interface RunContext {
  requestId: string;
  signal: AbortSignal;
  log: Logger;
  origin?: string;
  annotate(fields: Record<string, unknown>): void;
}


export interface RunAnswer {
  body: RunResult;
  headers: Record<string, string>;
}

export function channelOf(caller: Caller | undefined): Channel {
  if (caller?.kind === 'user' || caller?.kind === 'api_key' || caller?.kind === 'widget') return caller.kind;
  throw new AppError('FORBIDDEN', 'Runs are started by users, project API keys or widget sessions');
}

export function maxInputCharsFor(channel: Channel, ent: Entitlements): number {
  const own = (ent.config[CHANNEL_CAPABILITY[channel]] as { maxInputChars?: unknown } | undefined)?.maxInputChars;
  return typeof own === 'number' && channel !== 'user' ? Math.min(own, ent.limits.maxInputChars) : ent.limits.maxInputChars;
}

/** The instance's bucket, and the caller's when the channel's capability sets a per-caller limit. */
export function bucketsFor(channel: Channel, subject: string, ent: Entitlements): BucketSpec[] {
  const buckets: BucketSpec[] = [{ key: ent.instanceId, perMinute: ent.rateLimits.perMinute, burst: ent.rateLimits.burst }];
  const cfg = ent.config[CHANNEL_CAPABILITY[channel]] as { rateLimitPerMinute?: unknown; burst?: unknown } | undefined;
  if (ent.capabilities.includes(CHANNEL_CAPABILITY[channel]) && typeof cfg?.rateLimitPerMinute === 'number') {
    const perMinute = cfg.rateLimitPerMinute;
    const burst = typeof cfg.burst === 'number' ? cfg.burst : Math.min(ent.rateLimits.burst, perMinute);
    buckets.push({ key: `${ent.instanceId}:${channel}:${subject}`, perMinute, burst: Math.max(1, burst) });
  }
  return buckets;
}

/** The Runner's usage with `runs` counted in the channel's dimension (e.g. `api_runs`). */
export function channelUsage(dimensions: Record<string, number | undefined>, channel: Channel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(dimensions)) if (k !== 'runs' && typeof v === 'number') out[k] = v;
  out[CHANNEL_DIMENSION[channel]] = dimensions.runs ?? 1;
  return out;
}

/** The run id of an idempotent request: stable per caller and key, so every replica derives the same. */
export function idempotentRunId(caller: Caller, key: string): string {
  return `run_${createHash('sha256').update(`${caller.kind}:${caller.subject}\n${key}`).digest('hex').slice(0, 32)}`;
}

const requestHashOf = (body: RunRequest) => createHash('sha256').update(JSON.stringify(body)).digest('hex');

function withDetails(err: AppError, extra: Record<string, unknown>, headers?: Record<string, string>): AppError {
  return new AppError(err.code, err.message, { ...(err.details ?? {}), ...extra }, { status: err.status, cause: err.cause ?? err, headers: { ...(err.headers ?? {}), ...(headers ?? {}) } });
}

/** Output as the spec shapes it: the Runner's fields, with sources that name a document as citations. */
function shapeOutput(output: RunnerRunResult['output']): RunResult['output'] {
  const { citations: _ignored, ...rest } = output as Record<string, unknown> & { text: string };
  const sources = Array.isArray(rest.sources) ? (rest.sources as { documentId?: unknown; title?: unknown; id?: unknown }[]) : [];
  const citations = sources
    .filter((s) => typeof s?.documentId === 'string')
    .map((s) => ({ documentId: s.documentId as string, ...(typeof s.title === 'string' ? { title: s.title } : {}), ...(typeof s.id === 'string' ? { chunkId: s.id } : {}) }));
  return { ...rest, text: String(rest.text ?? ''), ...(citations.length ? { citations } : {}) } as RunResult['output'];
}

function voidReason(err: AppError): 'run_failed' | 'run_timeout' | 'runner_unavailable' | 'cancelled' {
  if (err.status === 499) return 'cancelled';
  if (err.code === 'DEPENDENCY_TIMEOUT') return 'run_timeout';
  if (err.code === 'RUNTIME_UNAVAILABLE' && err.status === 503) return 'runner_unavailable';
  return 'run_failed';
}

/** Where a run was when it ended: before the Runner, at the Runner, or settling after it. */
type Phase = 'admission' | 'runner' | 'settle';

function outcomeOf(err: AppError, phase: Phase): RunOutcome {
  if (err.status === 499) return 'cancelled';
  if (phase === 'runner') return err.code === 'DEPENDENCY_TIMEOUT' ? 'runner_timeout' : 'runner_failed';
  switch (err.code) {
    case 'RATE_LIMITED': return 'rate_limited';
    case 'INSUFFICIENT_CREDITS': return 'insufficient_credits';
    case 'NOT_ENTITLED': return 'not_entitled';
    case 'CONTROL_PLANE_UNAVAILABLE': return 'control_plane_unavailable';
    default: return err.status >= 500 ? 'error' : 'rejected';
  }
}

export async function createRun(deps: GatewayDeps, caller: Caller | undefined, body: RunRequest, idempotencyKey: string | undefined, c: RunContext, timing: Waits): Promise<RunAnswer> {
  const started = performance.now();
  const createdAt = new Date();
  const channel = channelOf(caller);
  const who = caller!;
  const runId = idempotencyKey ? idempotentRunId(who, idempotencyKey) : newId('run');
  const requestHash = idempotencyKey ? requestHashOf(body) : undefined;

  if (idempotencyKey) {
    const prior = deps.runs.get(runId);
    if (prior?.answer && prior.idempotency) {
      if (prior.idempotency.requestHash !== requestHash) {
        throw new AppError('IDEMPOTENCY_PAYLOAD_MISMATCH', 'This Idempotency-Key was used with a different request', { idempotencyKey, runId });
      }
      return replay(prior);
    }
    if (!deps.runs.begin(runId)) throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'A run with this Idempotency-Key is in progress', { idempotencyKey, runId });
  }
  let outcome: RunOutcome = 'error';
  let code = '';
  let phase: Phase = 'admission';
  try {
    const answer = await run();
    outcome = 'succeeded';
    return answer;
  } catch (thrown) {
    const err = thrown instanceof AppError ? thrown : new AppError('INTERNAL', 'Unexpected error', undefined, { cause: thrown });
    outcome = outcomeOf(err, phase);
    code = err.code;
    throw err;
  } finally {
    if (idempotencyKey) deps.runs.end(runId);
    deps.metrics.runs.inc({ outcome, channel, code });
    deps.metrics.runDuration.observe({ outcome }, (performance.now() - started) / 1000);
  }

  async function run(): Promise<RunAnswer> {
    const widget = channel === 'widget' ? widgetSessionOf(who) : undefined;
    if (channel === 'widget') {
      if (!widget || body.instanceId !== widget.instanceId) throw new AppError('NOT_FOUND', 'Instance not found');
      if (!c.origin || c.origin !== widget.origin) throw new AppError('ORIGIN_NOT_ALLOWED', 'Widget sessions run only from the origin that started them', { origin: c.origin ?? null });
      if (body.sessionId !== undefined && body.sessionId !== widget.sessionId) throw new AppError('FORBIDDEN', 'A widget session runs only its own conversation');
    }
    const sessionId = body.sessionId ?? widget?.sessionId;

    const ent = await waited(timing, 'controlPlaneMs', deps.entitlements.get(body.instanceId, credentialOf(who), { requestId: c.requestId, signal: c.signal }));
    c.annotate({ orgId: ent.orgId, projectId: ent.projectId, instanceId: ent.instanceId, runId });
    if (ent.state !== 'active') {
      throw new AppError('NOT_ENTITLED', `The instance is ${ent.state}; runs need an active instance`, { instanceId: ent.instanceId, state: ent.state });
    }
    if (channel === 'api_key' && !ent.allowApiKeys) {
      throw new AppError('NOT_ENTITLED', 'This instance does not accept project API keys (api_endpoint.allowApiKeys)', { instanceId: ent.instanceId });
    }
    if (channel === 'widget') {
      if (!ent.capabilities.includes('web_widget')) throw new AppError('NOT_ENTITLED', 'This instance has no web widget', { instanceId: ent.instanceId });
      if (!originAllowed(c.origin, ent.allowedOrigins)) throw new AppError('ORIGIN_NOT_ALLOWED', 'This origin may no longer use the widget', { origin: c.origin });
    }
    const text = body.input.text ?? body.input.message?.content ?? '';
    const maxInputChars = maxInputCharsFor(channel, ent);
    if (text.length > maxInputChars) {
      throw new AppError('UNPROCESSABLE', `The input is longer than this instance accepts (${maxInputChars} characters)`, { maxInputChars, inputChars: text.length });
    }
    const decision = await deps.rateLimiter.take(bucketsFor(channel, who.subject, ent));
    if (!decision.allowed) {
      const scope = decision.key === ent.instanceId ? 'instance' : 'caller';
      deps.metrics.rateLimited.inc({ scope });
      throw new AppError(
        'RATE_LIMITED',
        scope === 'instance' ? `Rate limit of ${ent.rateLimits.perMinute} runs per minute exceeded for this instance` : 'Rate limit exceeded for this caller',
        { retryAfterSeconds: decision.retryAfterSeconds, scope },
        { headers: { 'Retry-After': String(decision.retryAfterSeconds) } },
      );
    }

    // From here the run exists: it has a record, and once a budget is reserved it has effects.
    const record: RunRecord = { runId, instanceId: ent.instanceId, sessionId: sessionId ?? null, status: 'running', startedAt: createdAt.toISOString(), finishedAt: null, durationMs: null };
    const stored: StoredRun = { record, owner: { kind: channel, subject: who.subject, instanceId: ent.instanceId }, ...(requestHash ? { idempotency: { requestHash } } : {}) };
    deps.runs.put(stored);
    const finish = (status: RunRecord['status'], extra: Partial<RunRecord>) => {
      Object.assign(record, { status, finishedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started), ...extra });
    };
    const fail = (err: AppError, status: RunRecord['status'], keepAnswer: boolean, extra: Record<string, unknown> = {}): AppError => {
      finish(status, { error: { code: err.code, message: err.message } });
      const out = withDetails(err, { runId, ...extra });
      if (keepAnswer && requestHash) stored.answer = { status: out.status, body: { code: out.code, message: out.message, details: out.details }, headers: out.headers ?? {} };
      if (!keepAnswer) delete stored.idempotency; // nothing happened yet: a retry with the same key runs afresh
      return out;
    };

    // Authorize and read the flow (cached) side by side; a reservation is voided whenever the run does not happen.
    const [authz, prep] = await waited(timing, 'controlPlaneMs', Promise.allSettled([
      deps.cp.authorize({ instanceId: ent.instanceId, estimatedBudget: ent.limits.estimatedBudgetPerRun, runId, ttlSeconds: RESERVATION_TTL_SECONDS }, { requestId: c.requestId, signal: c.signal }),
      deps.flows.prepare(ent, { requestId: c.requestId }),
    ]));
    if (authz.status === 'rejected') {
      const err = authz.reason instanceof AppError ? authz.reason : new AppError('INTERNAL', 'Unexpected error', undefined, { cause: authz.reason });
      if (err.code === 'INSUFFICIENT_CREDITS') deps.metrics.insufficientCredits.inc();
      if (err.code === 'NOT_ENTITLED' || err.code === 'NOT_FOUND') deps.entitlements.invalidate(ent.instanceId);
      throw fail(err, 'rejected', false);
    }
    const reservation: Reservation = authz.value;
    c.annotate({ reservationId: reservation.reservationId });
    if (prep.status === 'rejected') {
      const err = prep.reason instanceof AppError ? prep.reason : new AppError('STORAGE_UNAVAILABLE', 'The flow artifact could not be prepared', undefined, { cause: prep.reason });
      await release(reservation, 'other', `${err.code}: ${err.message}`);
      throw fail(err, 'failed', true, { reservationId: reservation.reservationId, charged: false });
    }
    const prepared: PreparedArtifact = prep.value;

    const runnerRequest: RunnerRunRequest = {
      runId,
      instanceId: ent.instanceId,
      orgId: ent.orgId,
      projectId: ent.projectId,
      versionId: ent.versionId,
      artifact: { uri: prepared.url, sha256: ent.artifact.sha256 },
      flowId: ent.flowId,
      tweaks: prepared.nodes ? tweaksFor(prepared.nodes, ent.config, body.variables as Record<string, string> | undefined) : {},
      bindings: ent.bindings.filter((b) => b.status === 'active').map((b) => ({ bindingId: b.bindingId, connectorId: b.connectorId, name: b.name })),
      input: body.input,
      // Namespaced by instance before it reaches any runtime: two tenants never share a session.
      ...(sessionId ? { sessionId: `${ent.instanceId}:${sessionId}` } : {}),
      timeoutMs: Math.min(ent.limits.runTimeoutMs, GATEWAY_RUNNER_TIMEOUT_MS),
    };
    let result: RunnerRunResult;
    const t0 = performance.now();
    phase = 'runner';
    try {
      result = await deps.runner.execute(runnerRequest, { requestId: c.requestId, signal: c.signal, timeoutMs: GATEWAY_RUNNER_TIMEOUT_MS });
    } catch (thrown) {
      const err = thrown instanceof AppError ? thrown : new AppError('RUNTIME_ERROR', 'The run failed', undefined, { cause: thrown });
      timing.runnerMs += performance.now() - t0;
      const voided = await release(reservation, voidReason(err), `${err.code}: ${err.message}`);
      throw fail(err, err.code === 'DEPENDENCY_TIMEOUT' ? 'timed_out' : 'failed', true, { reservationId: reservation.reservationId, charged: false, voided });
    }
    timing.runnerMs += performance.now() - t0;

    phase = 'settle';
    const usage = channelUsage(result.usage.dimensions, channel);
    let settlement: Settlement;
    try {
      settlement = await waited(timing, 'controlPlaneMs', deps.cp.settle({ reservationId: reservation.reservationId, runId, usage }, { requestId: c.requestId }));
    } catch (thrown) {
      // Not settled (the Control Plane stayed unreachable through every retry): the reservation
      // expires and releases its budget, so nothing is charged, and the output is withheld.
      const err = thrown instanceof AppError ? thrown : new AppError('INTERNAL', 'Unexpected error', undefined, { cause: thrown });
      c.log.error({ err, reservationId: reservation.reservationId }, 'settle failed; the reservation will expire uncharged');
      throw fail(err, 'failed', true, { reservationId: reservation.reservationId, settled: false });
    }

    deps.metrics.creditsCharged.inc({ channel }, settlement.creditsCharged);
    const output = shapeOutput(result.output);
    const billing = {
      reservationId: reservation.reservationId,
      ledgerEntryId: settlement.ledgerEntryId,
      creditsCharged: settlement.creditsCharged,
      overage: settlement.overage,
      balance: settlement.balance,
      available: settlement.available,
      lowBalance: settlement.lowBalance,
    };
    const durationMs = Math.round(performance.now() - started);
    finish('succeeded', { output, usage: { dimensions: usage }, billing, durationMs });
    const resultBody: RunResult = {
      runId,
      instanceId: ent.instanceId,
      sessionId: sessionId ?? null,
      status: 'succeeded',
      output,
      usage: { dimensions: usage },
      billing,
      durationMs,
      createdAt: createdAt.toISOString(),
    };
    const headers = { 'X-RateLimit-Remaining': String(decision.remaining) };
    if (requestHash) stored.answer = { status: 200, body: resultBody, headers };
    return { body: resultBody, headers: requestHash ? { ...headers, 'Idempotent-Replayed': 'false' } : headers };
  }

  /** Voids the reservation (retried); true when voided, false when left to expire. */
  async function release(reservation: Reservation, reason: 'run_failed' | 'run_timeout' | 'runner_unavailable' | 'cancelled' | 'other', message: string): Promise<boolean> {
    try {
      await waited(timing, 'controlPlaneMs', deps.cp.void({ reservationId: reservation.reservationId, reason, message: message.slice(0, 500) }, { requestId: c.requestId }));
      return true;
    } catch (err) {
      c.log.error({ err, reservationId: reservation.reservationId, reason }, 'void failed; the reservation will expire and release its budget');
      return false;
    }
  }
}

function replay(prior: StoredRun): RunAnswer {
  const a = prior.answer!;
  if (a.status === 200) return { body: a.body as RunResult, headers: { ...a.headers, 'Idempotent-Replayed': 'true' } };
  const e = a.body as { code: ErrorCode; message: string; details?: Record<string, unknown> };
  throw new AppError(e.code, e.message, e.details, { status: a.status, headers: { ...a.headers, 'Idempotent-Replayed': 'true' } });
}

/**
 * `GET /v1/runs/{runId}` from this replica's recent runs: the widget session that started it, or
 * a caller the Control Plane lets read the instance (a project member, an API key of the
 * project); anyone else, and runs this replica does not hold, get 404.
 */
export async function readRun(deps: GatewayDeps, caller: Caller | undefined, runId: string, c: { requestId: string; signal: AbortSignal }): Promise<RunRecord> {
  const notFound = () => new AppError('NOT_FOUND', 'Run not found');
  const stored = deps.runs.get(runId);
  if (!stored || !caller) throw notFound();
  if (caller.kind === 'widget') {
    if (stored.owner.kind !== 'widget' || stored.owner.subject !== caller.subject) throw notFound();
    return stored.record;
  }
  if (caller.kind !== 'user' && caller.kind !== 'api_key') throw notFound();
  try {
    await deps.cp.getInstance(stored.record.instanceId, credentialOf(caller), { requestId: c.requestId, signal: c.signal });
  } catch (err) {
    if (err instanceof AppError && (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN')) throw notFound();
    throw err;
  }
  return stored.record;
}
