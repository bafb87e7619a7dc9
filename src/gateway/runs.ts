/**
 * `POST /v1/runs`, step by step:
 *
 *   caller (user JWT / project API key / widget session)
 *   → entitlements for (credential, instance)  [cached ≤ 5 s; the CP decides tenant scope]
 *   → active? channel allowed (API keys: allowApiKeys; widgets: web_widget + Origin)?
 *   → input rules: maxInputChars (413 INPUT_TOO_LARGE), declared variables only (400)
 *   → rate limit: the instance's bucket (plan rateLimits) + the caller's (channel capability's rateLimitPerMinute)
 *   → concurrency: a lease on one of the plan's maxConcurrentRuns slots (429 CONCURRENCY_LIMIT_EXCEEDED)
 *   → authorize with the run (the Control Plane records the run with its hold: Idempotency-Key
 *     replays and conflicts, maxRunsPerDay, the hold from credits_wallet, the session's history)
 *   → Runner (≤ 60 s) with history and maxOutputTokens (what the hold pays for)
 *     — failure or timeout → void (never charge a failed run), answer the Runner's error
 *   → settle the Runner's usage (`runs` counted as the channel's dimension: api_runs / widget_runs / chat_runs)
 *     with the run's outcome (its record is finished in the same transaction)
 *   → output, usage, billing — as JSON, or as Server-Sent Events (run-stream.ts).
 *
 * Credit quotas (quotas.ts): a run without an Idempotency-Key, a session or a trigger, on an
 * instance without a daily run limit, takes its hold from this replica's quota instead — no
 * authorize call — and its settle is the quota charge (one call, committed before the answer;
 * a failure is recorded uncharged with the quota's void). A quota gone at charge time (expired,
 * released) sends the run the ordinary way: authorize with the run, then settle.
 *
 * The Control Plane's authorize is what guarantees that concurrent runs never overspend a wallet
 * (available = balance − open reservations, checked under the wallet's lock); the gateway only
 * ever spends what a reservation covers, and a settle never charges more than its hold.
 *
 * Reported uncharged: when settle fails through every retry, the gateway voids the reservation.
 * A settle never commits after the deadline it was sent with (src/money/bounds.ts), so once the
 * last attempt has timed out nothing can charge the run any more; the void just releases the
 * hold early (else it expires). A void that finds the reservation settled (an attempt committed
 * but its answer was lost) fetches the settlement again (idempotent) and answers the run. A void
 * that cannot be made either leaves the charge unknown — an attempt may have committed before
 * its answer was lost — and the error says `charged: "unknown"`, never `false`.
 */
import { assertOfferingAlive } from './offering-eol';
import { createHash } from 'node:crypto';
import type { Entitlements, Reservation, RunAdmission, SessionHandover, Settlement } from '../../generated/control-plane/types';
import type { RunRecord, RunRequest, RunResult } from '../../generated/gateway/types';
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import { AppError, type ErrorCode } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import { newId } from '../platform/ids';
import { triggerRunId } from '../runs/trigger-run-id';
import type { Logger } from '../platform/logger';
import { credentialOf, widgetSessionOf } from './auth';
import { afterRun, beforeRun, factsOf, inputText, type HookedInput, type RunFacts } from './capability-hooks';
import { handoverAnswer, type AdmittedHandover } from './handover';
import type { GatewayDeps } from './deps';
import { checkRunVariables, tweaksFor, type PreparedArtifact } from './flow-tweaks';
import type { RunOutcome } from './metrics';
import { originAllowed } from './origins';
import { waited, type Waits } from './overhead';
import type { BucketSpec } from './rate-limit';
import { estimateUsage, maxOutputTokensFor, promptTokens, type PromptParts } from './run-budget';
import { GATEWAY_RUNNER_TIMEOUT_MS } from './runner-client';
import type { QuotaHold } from './quotas';
import { resolveParts, speechOf, type RunMedia } from './run-media';

/** The media dimensions a run adds before the model runs (only those it has). */
const mediaUsage = (m: RunMedia | undefined): Record<string, number> =>
  Object.fromEntries(Object.entries(m?.usage ?? {}).filter(([, v]) => v > 0));

/** `trigger`: a schedule or webhook trigger's run, started by the Control Plane's scheduler (svc:scheduler). */
export type Channel = 'user' | 'api_key' | 'widget' | 'trigger';

/** The metering dimension a run is counted in, by the channel it came through. */
export const CHANNEL_DIMENSION: Record<Channel, string> = { user: 'chat_runs', api_key: 'api_runs', widget: 'widget_runs', trigger: 'scheduled_runs' };
/** The capability whose per-caller limits apply to a channel (and that a trigger's instance must have). */
const CHANNEL_CAPABILITY: Record<Channel, string> = { user: 'chat_ui', api_key: 'api_endpoint', widget: 'web_widget', trigger: 'scheduler_triggers' };

/** The service role of the scheduler, the only caller that may start a run for a trigger. */
export const SCHEDULER_ROLE = 'svc:scheduler';

/** Reservations outlive the longest run (60 s) with room for settle retries; so do concurrency leases. */
export const RESERVATION_TTL_SECONDS = 120;

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
  if (caller?.kind === 'service' && caller.roles.has(SCHEDULER_ROLE)) return 'trigger';
  throw new AppError('FORBIDDEN', 'Runs are started by users, project API keys, widget sessions or the scheduler');
}

/** The channel's input limit, as the Control Plane computed it (src/instances/input-limits.ts). */
export function maxInputCharsFor(channel: Channel, ent: Entitlements): number {
  return ent.limits.maxInputCharsByChannel[channel];
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

/** What makes "the same run request" for an Idempotency-Key (the stream flag is how it is answered, not what runs). */
const requestHashOf = (body: RunRequest) => {
  const { stream: _stream, ...what } = body;
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
};

export function withDetails(err: AppError, extra: Record<string, unknown>, headers?: Record<string, string>): AppError {
  return new AppError(err.code, err.message, { ...(err.details ?? {}), ...extra }, { status: err.status, cause: err.cause ?? err, headers: { ...(err.headers ?? {}), ...(headers ?? {}) } });
}

export const asAppError = (e: unknown, fallback: ErrorCode = 'INTERNAL') => (e instanceof AppError ? e : new AppError(fallback, 'Unexpected error', undefined, { cause: e }));

/** Output as the spec shapes it: the Runner's fields, with sources that name a document as citations. */
export function shapeOutput(output: RunnerRunResult['output']): RunResult['output'] {
  const { citations: _ignored, ...rest } = output as Record<string, unknown> & { text: string };
  const sources = Array.isArray(rest.sources) ? (rest.sources as { documentId?: unknown; title?: unknown; id?: unknown }[]) : [];
  const citations = sources
    .filter((s) => typeof s?.documentId === 'string')
    .map((s) => ({ documentId: s.documentId as string, ...(typeof s.title === 'string' ? { title: s.title } : {}), ...(typeof s.id === 'string' ? { chunkId: s.id } : {}) }));
  return { ...rest, text: String(rest.text ?? ''), ...(citations.length ? { citations } : {}) } as RunResult['output'];
}

export type VoidReason = 'run_failed' | 'run_timeout' | 'runner_unavailable' | 'cancelled' | 'rejected' | 'other';

export function voidReason(err: AppError): VoidReason {
  if (err.status === 499) return 'cancelled';
  if (err.code === 'DEPENDENCY_TIMEOUT') return 'run_timeout';
  if (err.code === 'RUNTIME_UNAVAILABLE' && err.status === 503) return 'runner_unavailable';
  return 'run_failed';
}

/** The run record's status for a run that ended with `err`. */
export function failedStatus(err: AppError): 'failed' | 'timed_out' | 'cancelled' {
  if (err.status === 499) return 'cancelled';
  return err.code === 'DEPENDENCY_TIMEOUT' ? 'timed_out' : 'failed';
}

/** Where a run was when it ended: before the Runner, at the Runner, or settling after it. */
export type Phase = 'admission' | 'runner' | 'settle';

export function outcomeOf(err: AppError, phase: Phase): RunOutcome {
  if (err.status === 499) return 'cancelled';
  if (phase === 'runner') return err.code === 'DEPENDENCY_TIMEOUT' ? 'runner_timeout' : 'runner_failed';
  switch (err.code) {
    case 'RATE_LIMITED':
    case 'CONCURRENCY_LIMIT_EXCEEDED':
    case 'DAILY_RUN_LIMIT_EXCEEDED':
      return 'rate_limited';
    case 'INSUFFICIENT_CREDITS': return 'insufficient_credits';
    case 'NOT_ENTITLED': return 'not_entitled';
    case 'CONTROL_PLANE_UNAVAILABLE': return 'control_plane_unavailable';
    default: return err.status >= 500 ? 'error' : 'rejected';
  }
}

/** A run's hold: its reservation at the Control Plane, or (`quota`) its share of this replica's quota. */
export interface Held {
  reservation: Reservation;
  quota?: QuotaHold;
  /** The run as the Control Plane records it (a quota run is recorded with its charge or void). */
  admission: RunAdmission;
  createdAt: Date;
}

/** A widget session's claims, after checking it acts on its own instance from its own origin. */
export function widgetCheck(channel: Channel, who: Caller, instanceId: string, c: Pick<RunContext, 'origin'>) {
  if (channel !== 'widget') return undefined;
  const widget = widgetSessionOf(who);
  if (!widget || instanceId !== widget.instanceId) throw new AppError('NOT_FOUND', 'Instance not found');
  if (!c.origin || c.origin !== widget.origin) throw new AppError('ORIGIN_NOT_ALLOWED', 'Widget sessions run only from the origin that started them', { origin: c.origin ?? null });
  return widget;
}

/** The instance runs for this caller: alive, active, and open to the caller's channel. */
export function assertCallerMayRun(channel: Channel, ent: Entitlements, c: Pick<RunContext, 'origin'>): void {
  assertOfferingAlive(ent);
  if (ent.state !== 'active') {
    throw new AppError('NOT_ENTITLED', `The instance is ${ent.state}; runs need an active instance`, { instanceId: ent.instanceId, state: ent.state });
  }
  if (channel === 'api_key' && !ent.allowApiKeys) {
    throw new AppError('NOT_ENTITLED', 'This instance does not accept project API keys (api_endpoint.allowApiKeys)', { instanceId: ent.instanceId });
  }
  if (channel === 'trigger' && !ent.capabilities.includes('scheduler_triggers')) {
    throw new AppError('NOT_ENTITLED', 'This instance has no schedules or triggers (scheduler_triggers)', { instanceId: ent.instanceId });
  }
  if (channel === 'widget') {
    if (!ent.capabilities.includes('web_widget')) throw new AppError('NOT_ENTITLED', 'This instance has no web widget', { instanceId: ent.instanceId });
    if (!originAllowed(c.origin, ent.allowedOrigins)) throw new AppError('ORIGIN_NOT_ALLOWED', 'This origin may no longer use the widget', { origin: c.origin });
  }
}

/** A run that passed admission: it has a hold, a record, and everything the Runner needs. */
export interface Admitted extends Held {
  kind: 'admitted';
  runId: string;
  channel: Channel;
  ent: Entitlements;
  sessionId: string | null;
  reservation: Reservation;
  runnerRequest: RunnerRunRequest;
  prompt: PromptParts;
  rateRemaining: number;
  createdAt: Date;
  started: number;
  idempotent: boolean;
  /** Set when the run is settled: the duration its record and answer give. */
  durationMs?: number;
  /** Gives the concurrency lease back (idempotent). */
  releaseLease(): Promise<void>;
  /** What the beforeRun hooks made of the input (and a capability's answer instead of the model's). */
  hooked: HookedInput;
  /** The run as the afterRun/outputStream hooks see it. */
  facts: RunFacts;
  /** The session's hand-over (the one this run requested, or the open one that answers it). */
  handover?: AdmittedHandover;
  /** Set once this run delivered its hand-over: sent with the settle (or the void) so the Control Plane opens it. */
  handoverOutcome?: { handoverId: string; ticketRef?: string };
}

/** A finished run's first answer, replayed (any replica, any time within its retention). */
export interface Replayed {
  kind: 'replay';
  runId: string;
  status: number;
  body: Record<string, unknown>;
}

/**
 * Everything before the Runner: checks, limits, the hold and the run record. Throws the refusal
 * (a JSON error answer); answers a replay for an Idempotency-Key that already finished.
 */
export async function admit(deps: GatewayDeps, caller: Caller | undefined, body: RunRequest, idempotencyKey: string | undefined, c: RunContext, timing: Waits): Promise<Admitted | Replayed> {
  const started = performance.now();
  const createdAt = new Date();
  const channel = channelOf(caller);
  const who = caller!;
  const runId = idempotencyKey ? (body.trigger ? triggerRunId(body.trigger, idempotencyKey) : idempotentRunId(who, idempotencyKey)) : newId('run');
  c.annotate({ runId });

  const widget = widgetCheck(channel, who, body.instanceId, c);
  if (widget && body.sessionId !== undefined && body.sessionId !== widget.sessionId) throw new AppError('FORBIDDEN', 'A widget session runs only its own conversation');
  const sessionId = body.sessionId ?? widget?.sessionId ?? null;
  // A trigger names the schedule or webhook that started the run: only the scheduler may say so.
  if ((channel === 'trigger') !== (body.trigger !== undefined)) {
    throw new AppError('FORBIDDEN', channel === 'trigger' ? 'The scheduler names the trigger of each run it starts' : 'Only the platform\'s scheduler starts runs for a trigger');
  }

  const ent = await waited(timing, 'controlPlaneMs', deps.entitlements.get(body.instanceId, credentialOf(who), { requestId: c.requestId, signal: c.signal }));
  c.annotate({ orgId: ent.orgId, projectId: ent.projectId, instanceId: ent.instanceId });
  assertCallerMayRun(channel, ent, c);
  const text = body.input.text ?? body.input.message?.content ?? '';
  const maxInputChars = maxInputCharsFor(channel, ent);
  if (text.length > maxInputChars) {
    throw new AppError('INPUT_TOO_LARGE', `The input is longer than this instance accepts (${maxInputChars} characters)`, { maxInputChars, inputChars: text.length });
  }
  checkRunVariables(ent.config, body.variables as Record<string, string> | undefined);

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

  // From here every path gives the lease back.
  const maxConcurrentRuns = ent.limits.maxConcurrentRuns;
  let leased = false;
  const releaseLease = async () => {
    if (!leased) return;
    leased = false;
    await deps.concurrency.release(ent.instanceId, runId).catch((err) => c.log.warn({ err }, 'concurrency lease not released; it lapses at its expiry'));
  };
  if (maxConcurrentRuns !== undefined) {
    const lease = await deps.concurrency.acquire(ent.instanceId, runId, maxConcurrentRuns, RESERVATION_TTL_SECONDS * 1000);
    if (!lease.acquired) {
      deps.metrics.rateLimited.inc({ scope: 'concurrency' });
      throw new AppError('CONCURRENCY_LIMIT_EXCEEDED', `This instance already runs its plan's ${maxConcurrentRuns} concurrent runs`, { instanceId: ent.instanceId, maxConcurrentRuns, active: lease.active, retryAfterSeconds: 1 }, { headers: { 'Retry-After': '1' } });
    }
    leased = true;
  }

  let quota: QuotaHold | undefined;
  try {
    // Attachments are checked (capability, type from the bytes, size, pages, duration) before any hold.
    const media = await resolveParts(deps.objectStore, ent, who, body.input.parts);
    // The capabilities' beforeRun hooks: a refusal takes no hold; the input they return is the one recorded and run.
    const facts = factsOf(ent, runId, sessionId, channel);
    const hooked = await beforeRun(ent, body.input, facts).catch((err) => {
      throw withDetails(asAppError(err), { runId, charged: false });
    });
    const admission: RunAdmission = {
      attemptId: newId('att'),
      callerKind: channel,
      // A trigger's runs belong to the trigger (its history and sessions), not to the scheduler's account.
      callerSubject: body.trigger ? `${body.trigger.kind}:${body.trigger.id}` : who.subject,
      ...(body.trigger ? { trigger: body.trigger } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(idempotencyKey ? { requestHash: requestHashOf(body) } : {}),
      input: hooked.input as Record<string, unknown>,
      ...(hooked.answer?.handover ? { handover: { provider: hooked.answer.handover.provider, trigger: hooked.answer.handover.trigger } } : {}),
    };
    // A run that needs nothing of its record before it runs (no replay key, session, trigger,
    // daily count or hand-over to record) takes its hold from this replica's quota.
    quota = !idempotencyKey && !sessionId && !body.trigger && !admission.handover && ent.limits.maxRunsPerDay === undefined ? deps.quotas?.take(ent.instanceId, ent.limits.maxCreditsPerRun) : undefined;
    // Authorize (the run is recorded with its hold) and read the flow (cached) side by side.
    const [authz, prep] = await waited(timing, 'controlPlaneMs', Promise.allSettled([
      quota
        ? Promise.resolve({ status: 201, body: quotaReservation(ent, runId, quota, createdAt) })
        : deps.cp.authorize({ instanceId: ent.instanceId, runId, ttlSeconds: RESERVATION_TTL_SECONDS, run: admission }, { requestId: c.requestId, signal: c.signal }),
      deps.flows.prepare(ent, { requestId: c.requestId }),
    ]));
    if (authz.status === 'rejected') {
      const err = asAppError(authz.reason);
      if (err.code === 'INSUFFICIENT_CREDITS') deps.metrics.insufficientCredits.inc();
      if (err.code === 'NOT_ENTITLED' || err.code === 'NOT_FOUND') deps.entitlements.invalidate(ent.instanceId);
      if (err.code === 'DAILY_RUN_LIMIT_EXCEEDED') deps.metrics.rateLimited.inc({ scope: 'daily' });
      const retryAfter = err.details?.retryAfterSeconds;
      throw withDetails(err, { runId }, typeof retryAfter === 'number' ? { 'Retry-After': String(retryAfter) } : undefined);
    }
    const answer = authz.value.body;
    if (authz.value.status === 200 && answer.run?.replay) {
      await releaseLease();
      return { kind: 'replay', runId, status: answer.run.replay.status, body: answer.run.replay.body };
    }
    const reservation = answer;
    c.annotate({ reservationId: reservation.reservationId });
    const history = answer.run?.history ?? [];
    const prompt: PromptParts = { systemPrompt: (ent.config.prompt_orchestrator as { systemPrompt?: string } | undefined)?.systemPrompt, history, input: inputText(hooked.input) };
    const held: Held = { reservation, quota, admission, createdAt };
    const fail = async (err: AppError): Promise<never> => {
      const voided = await voidRun(deps, c, timing, held, err);
      throw withDetails(err, { runId, reservationId: reservation.reservationId, charged: false, voided });
    };
    if (prep.status === 'rejected') {
      return await fail(prep.reason instanceof AppError ? prep.reason : new AppError('STORAGE_UNAVAILABLE', 'The flow artifact could not be prepared', undefined, { cause: prep.reason }));
    }
    const prepared: PreparedArtifact = prep.value;
    // What the hold pays for: the output is capped so the run never costs more than its hold.
    const maxOutputTokens = maxOutputTokensFor(reservation.amount, ent.capabilities, { tokens_in: promptTokens(prompt), [CHANNEL_DIMENSION[channel]]: 1, ...mediaUsage(media) });
    if (maxOutputTokens === 0) {
      return await fail(new AppError('RUN_CREDIT_LIMIT_EXCEEDED', `This run's input alone would cost more than its hold of ${reservation.amount} credits`, {
        maxCreditsPerRun: ent.limits.maxCreditsPerRun, hold: reservation.amount, promptTokens: promptTokens(prompt), ...mediaUsage(media),
      }));
    }
    const speech = media?.speech ?? speechOf(ent);
    const { parts: _parts, ...runnerInput } = hooked.input;
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
      input: runnerInput,
      ...(media ? { attachments: media.attachments } : {}),
      ...(speech ? { speech } : {}),
      ...(hooked.instructions.length ? { instructions: hooked.instructions } : {}),
      ...(history.length ? { history } : {}),
      // Namespaced by instance before it reaches any runtime: two tenants never share a session.
      ...(sessionId ? { sessionId: `${ent.instanceId}:${sessionId}` } : {}),
      timeoutMs: Math.min(ent.limits.runTimeoutMs, GATEWAY_RUNNER_TIMEOUT_MS),
      ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
    };
    const handover: SessionHandover | undefined = answer.run?.handover;
    return {
      kind: 'admitted', runId, channel, ent, sessionId, reservation, quota, admission, runnerRequest, prompt, rateRemaining: decision.remaining, createdAt, started,
      idempotent: idempotencyKey !== undefined, releaseLease, hooked, facts: { ...facts, history },
      ...(handover ? { handover: { record: handover, transcript: answer.run?.transcript ?? [] } } : {}),
    };
  } catch (err) {
    quota?.released();
    await releaseLease();
    throw err;
  }
}

/** A quota run's reservation as the gateway knows it before its charge (the id its charge settles). */
function quotaReservation(ent: Entitlements, runId: string, q: QuotaHold, createdAt: Date): Reservation {
  return {
    reservationId: newId('res'), walletId: ent.walletId, instanceId: ent.instanceId, runId, amount: q.hold, status: 'open',
    expiresAt: new Date(createdAt.getTime() + RESERVATION_TTL_SECONDS * 1000).toISOString(), createdAt: createdAt.toISOString(),
  };
}

const runError = (err: AppError, reservation: Reservation) => ({
  status: err.status === 499 ? 499 : err.status, code: err.code, message: err.message.slice(0, 1000),
  details: { ...(err.details ?? {}), runId: reservation.runId, reservationId: reservation.reservationId, charged: false },
});

/** Voids a run's hold and finishes its record (retried); true when voided, false when left to expire. */
export async function voidRun(deps: GatewayDeps, c: RunContext, timing: Waits, held: Held, err: AppError): Promise<boolean> {
  const { reservation, quota } = held;
  if (quota) {
    // A quota run was never charged: its hold comes back here, its record says how it ended.
    quota.released();
    try {
      await waited(timing, 'controlPlaneMs', deps.cp.quotas.voidRun(quota.quotaId, {
        holder: quota.holder, runId: reservation.runId, admission: held.admission, startedAt: held.createdAt.toISOString(),
        run: { status: failedStatus(err), error: runError(err, reservation) },
      }, { requestId: c.requestId }));
      return true;
    } catch (thrown) {
      c.log.error({ err: thrown, runId: reservation.runId }, 'the uncharged run was not recorded');
      return false;
    }
  }
  try {
    await waited(timing, 'controlPlaneMs', deps.cp.void({
      reservationId: reservation.reservationId,
      reason: voidReason(err),
      message: `${err.code}: ${err.message}`.slice(0, 500),
      run: { status: failedStatus(err), error: runError(err, reservation) },
    }, { requestId: c.requestId }));
    return true;
  } catch (thrown) {
    c.log.error({ err: thrown, reservationId: reservation.reservationId }, 'void failed; the reservation will expire and release its budget');
    return false;
  }
}

/**
 * What the answer of a run whose charge failed says about its charge. Uncharged is only said
 * when it is known: the void went through (nothing can charge the run afterwards), or the
 * Control Plane itself refused the charge (a 4xx answer: nothing was committed). When neither
 * the charge nor its void was answered (the Control Plane unreachable, an attempt cut off after
 * it was sent) an attempt may have committed: the answer says `"unknown"`, and the run's record
 * (GET /v1/runs/{runId}) tells once the hold resolves — at its expiry at the latest.
 */
export function chargedAfterFailure(err: AppError, voided: boolean | 'settled' | 'charged'): false | 'unknown' {
  return voided === true || (err.status < 500 && err.status !== 499) ? false : 'unknown';
}

/**
 * Settles a run (and finishes its record with `finish`). When settle fails through every retry
 * the hold is voided and the error says `charged: false`, or `"unknown"` when the void could not
 * be made either (chargedAfterFailure; see the module comment).
 */
export async function settleRun(deps: GatewayDeps, c: RunContext, timing: Waits, a: Admitted, usage: Record<string, number>, finish: { status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled'; output?: RunResult['output']; error?: AppError }): Promise<Settlement> {
  // The duration the record keeps is the one the answer gives (resultOf reads it back).
  a.durationMs = Math.round(performance.now() - a.started);
  const body = {
    reservationId: a.reservation.reservationId,
    runId: a.runId,
    usage,
    run: {
      status: finish.status,
      ...(finish.output ? { output: finish.output as Record<string, unknown> } : {}),
      durationMs: a.durationMs,
      ...(a.handoverOutcome ? { handover: a.handoverOutcome } : {}),
      ...(finish.error ? { error: { status: finish.error.status, code: finish.error.code, message: finish.error.message.slice(0, 1000), details: finish.error.details } } : {}),
    },
  };
  if (a.quota) {
    const charged = await chargeOnQuota(deps, c, timing, a, a.quota, body);
    if (charged) return charged;
  }
  try {
    return await waited(timing, 'controlPlaneMs', deps.cp.settle(body, { requestId: c.requestId }));
  } catch (thrown) {
    const err = asAppError(thrown);
    // A delivered hand-over (its ticket exists) is opened even when the run cannot be charged.
    const delivered = a.handoverOutcome?.ticketRef ? { run: { status: 'failed' as const, handover: a.handoverOutcome, error: { status: err.status, code: err.code, message: err.message.slice(0, 1000) } } } : {};
    const voided = await waited(timing, 'controlPlaneMs', deps.cp.void({ reservationId: a.reservation.reservationId, reason: 'other', message: `settle failed: ${err.code}`, ...delivered }, { requestId: c.requestId }))
      .then(() => true)
      .catch(async (voidErr: unknown) => {
        if (voidErr instanceof AppError && voidErr.code === 'RESERVATION_ALREADY_RESOLVED') return 'settled' as const;
        return false;
      });
    if (voided === 'settled') return waited(timing, 'controlPlaneMs', deps.cp.settle(body, { requestId: c.requestId }));
    const charged = chargedAfterFailure(err, voided);
    c.log.error({ err, reservationId: a.reservation.reservationId, voided, charged }, 'settle failed');
    throw withDetails(err, { runId: a.runId, reservationId: a.reservation.reservationId, settled: false, charged, voided });
  }
}

/**
 * A quota run's charge (its used units, reported before the answer). Undefined when the quota
 * is gone at the Control Plane (expired, released, or smaller than this replica thought): the
 * run was then authorized with its own hold (`a.reservation` replaced) and settles the ordinary way.
 */
async function chargeOnQuota(deps: GatewayDeps, c: RunContext, timing: Waits, a: Admitted, q: QuotaHold, body: { reservationId: string; runId: string; usage: Record<string, number>; run: NonNullable<Parameters<GatewayDeps['cp']['settle']>[0]['run']> }): Promise<Settlement | undefined> {
  const charge = { holder: q.holder, reservationId: body.reservationId, runId: body.runId, hold: q.hold, usage: body.usage, admission: a.admission, startedAt: a.createdAt.toISOString(), run: body.run };
  // Recorded in the usage journal when this replica has one (usage-journal.ts), else charged over HTTP.
  const chargeNow = () => deps.usageJournal ? deps.usageJournal.charge(q.quotaId, a.ent, charge) : deps.cp.quotas.charge(q.quotaId, charge, { requestId: c.requestId });
  try {
    const s = await waited(timing, 'controlPlaneMs', chargeNow());
    q.settled(s.creditsCharged);
    return s;
  } catch (thrown) {
    const err = asAppError(thrown);
    const quotaGone = err.code === 'RESERVATION_EXPIRED' || err.code === 'INSUFFICIENT_CREDITS' || err.code === 'NOT_FOUND'
      || (err.code === 'RESERVATION_ALREADY_RESOLVED' && err.details?.reservationId === q.quotaId);
    if (quotaGone) {
      q.lost();
      q.released();
      a.quota = undefined;
      const authz = await waited(timing, 'controlPlaneMs', deps.cp.authorize({ instanceId: a.ent.instanceId, runId: a.runId, ttlSeconds: RESERVATION_TTL_SECONDS, run: a.admission }, { requestId: c.requestId }))
        .catch((refused: unknown) => {
          throw withDetails(asAppError(refused), { runId: a.runId, charged: false });
        });
      if (authz.status !== 201) throw withDetails(new AppError('CONFLICT', 'The run was recorded elsewhere meanwhile'), { runId: a.runId, charged: false });
      a.reservation = authz.body;
      return undefined;
    }
    if (err.status < 500 && err.status !== 499) {
      q.released();
      throw withDetails(err, { runId: a.runId, reservationId: body.reservationId, charged: false });
    }
    // Unreachable through every retry (and never committed after its deadline): record it
    // uncharged — unless an attempt did commit, which the void answers with a conflict.
    const voided = await deps.cp.quotas.voidRun(q.quotaId, { holder: q.holder, runId: a.runId, admission: a.admission, startedAt: a.createdAt.toISOString(), run: { status: 'failed', error: runError(err, a.reservation) } }, { requestId: c.requestId })
      .then(() => true)
      .catch((voidErr: unknown) => (voidErr instanceof AppError && voidErr.code === 'RESERVATION_ALREADY_RESOLVED' ? 'charged' as const : false));
    if (voided === 'charged') {
      const s = await waited(timing, 'controlPlaneMs', chargeNow());
      q.settled(s.creditsCharged);
      return s;
    }
    const charged = chargedAfterFailure(err, voided);
    // Known uncharged: the hold comes back. Unknown: counted here as charged in full, so this
    // replica never admits runs on credits the charge may have spent.
    if (charged === false) q.released();
    else q.settled(q.hold);
    c.log.error({ err, runId: a.runId, voided, charged }, 'charge failed');
    throw withDetails(err, { runId: a.runId, reservationId: body.reservationId, settled: false, charged, voided });
  }
}

/**
 * The answer without the model, in the Runner's shape, or undefined when the model runs: the
 * session's open hand-over (not charged), or a beforeRun hook's answer — delivering the hand-over
 * it asked for first (handover.ts; a failed delivery throws 502 CAPABILITY_ERROR).
 */
export async function hookAnswered(deps: GatewayDeps, a: Admitted, c: RunContext): Promise<Pick<RunnerRunResult, 'output' | 'usage'> | undefined> {
  const handed = await handoverAnswer(deps, a, c);
  if (handed) return handed;
  const ans = a.hooked.answer;
  return ans ? { output: { text: ans.text, answeredBy: ans.capability }, usage: { dimensions: { ...ans.usage, runs: 1 } } } : undefined;
}

/**
 * The output after the afterRun hooks. A refusal settles the model work done (the run is
 * recorded failed, charged) and throws; a hook that throws voids the run (not charged) and throws.
 */
export async function filteredOutput(deps: GatewayDeps, c: RunContext, timing: Waits, a: Admitted, usage: Record<string, number>, output: RunResult['output']): Promise<RunResult['output']> {
  try {
    return await afterRun(a.ent, output, a.facts);
  } catch (thrown) {
    const err = asAppError(thrown);
    if (err.code === 'GUARDRAIL_BLOCKED') {
      const s = await settleRun(deps, c, timing, a, usage, { status: 'failed', error: err });
      deps.metrics.creditsCharged.inc({ channel: a.channel }, s.creditsCharged);
      throw withDetails(err, { runId: a.runId, reservationId: a.reservation.reservationId, charged: true, creditsCharged: s.creditsCharged });
    }
    const voided = await voidRun(deps, c, timing, a, err);
    throw withDetails(err, { runId: a.runId, reservationId: a.reservation.reservationId, charged: false, voided });
  }
}

export function billingOf(reservation: Reservation, s: Settlement): RunResult['billing'] {
  return {
    reservationId: reservation.reservationId,
    ledgerEntryId: s.ledgerEntryId,
    creditsCharged: s.creditsCharged,
    overage: s.overage,
    balance: s.balance,
    available: s.available,
    lowBalance: s.lowBalance,
  };
}

export function resultOf(a: Admitted, output: RunResult['output'], usage: Record<string, number>, s: Settlement): RunResult {
  return {
    runId: a.runId,
    instanceId: a.ent.instanceId,
    sessionId: a.sessionId,
    status: 'succeeded',
    output,
    usage: { dimensions: usage },
    billing: billingOf(a.reservation, s),
    durationMs: a.durationMs ?? Math.round(performance.now() - a.started),
    // The run record's start: the hold's creation (same instant in the Control Plane).
    createdAt: a.reservation.createdAt,
  };
}

/** A replayed answer as the gateway gives it (Idempotent-Replayed: true). */
export function replayAnswer(r: Replayed): RunAnswer {
  if (r.status === 200) return { body: r.body as unknown as RunResult, headers: { 'Idempotent-Replayed': 'true' } };
  const e = r.body as { code: ErrorCode; message: string; details?: Record<string, unknown> };
  throw new AppError(e.code, e.message, e.details, { status: r.status, headers: { 'Idempotent-Replayed': 'true' } });
}

/** The JSON answer: admit → Runner → settle. */
export async function createRun(deps: GatewayDeps, caller: Caller | undefined, body: RunRequest, idempotencyKey: string | undefined, c: RunContext, timing: Waits): Promise<RunAnswer> {
  const started = performance.now();
  const channel = channelOf(caller);
  let outcome: RunOutcome = 'error';
  let code = '';
  let phase: Phase = 'admission';
  try {
    const a = await admit(deps, caller, body, idempotencyKey, c, timing);
    if (a.kind === 'replay') {
      outcome = 'succeeded';
      return replayAnswer(a);
    }
    try {
      phase = 'runner';
      let result: Pick<RunnerRunResult, 'output' | 'usage'>;
      const t0 = performance.now();
      try {
        result = (await hookAnswered(deps, a, c)) ?? await deps.runner.execute(a.runnerRequest, { requestId: c.requestId, signal: c.signal, timeoutMs: GATEWAY_RUNNER_TIMEOUT_MS });
      } catch (thrown) {
        const err = asAppError(thrown, 'RUNTIME_ERROR');
        timing.runnerMs += performance.now() - t0;
        const voided = await voidRun(deps, c, timing, a, err);
        throw withDetails(err, { runId: a.runId, reservationId: a.reservation.reservationId, charged: false, voided });
      }
      timing.runnerMs += performance.now() - t0;
      phase = 'settle';
      const usage = channelUsage(result.usage.dimensions, a.channel);
      const output = await filteredOutput(deps, c, timing, a, usage, shapeOutput(result.output));
      const settlement = await settleRun(deps, c, timing, a, usage, { status: 'succeeded', output });
      deps.metrics.creditsCharged.inc({ channel }, settlement.creditsCharged);
      outcome = 'succeeded';
      const headers: Record<string, string> = { 'X-RateLimit-Remaining': String(a.rateRemaining) };
      if (a.idempotent) headers['Idempotent-Replayed'] = 'false';
      return { body: resultOf(a, output, usage, settlement), headers };
    } finally {
      await a.releaseLease();
    }
  } catch (thrown) {
    const err = asAppError(thrown);
    outcome = outcomeOf(err, phase);
    code = err.code;
    throw err;
  } finally {
    deps.metrics.runs.inc({ outcome, channel, code });
    deps.metrics.runDuration.observe({ outcome }, (performance.now() - started) / 1000);
  }
}

export { estimateUsage };

/** The durable record of a run, from the Control Plane (any replica answers). */
export async function readRun(deps: GatewayDeps, caller: Caller | undefined, runId: string, c: { requestId: string; signal: AbortSignal }): Promise<RunRecord> {
  if (!caller) throw new AppError('NOT_FOUND', 'Run not found');
  const { credential, owner } = historyCredential(caller);
  return (await deps.cp.history.getRun(runId, credential, owner, { requestId: c.requestId, signal: c.signal })) as RunRecord;
}

/** Whose credential reads history: the caller's own, or (a widget session) the gateway's with the session as owner. */
export function historyCredential(caller: Caller): { credential: ReturnType<typeof credentialOf>; owner?: string } {
  if (caller.kind === 'widget') return { credential: { kind: 'service' }, owner: `widget:${caller.subject}` };
  if (caller.kind !== 'user' && caller.kind !== 'api_key') throw new AppError('NOT_FOUND', 'Not found');
  return { credential: credentialOf(caller) };
}
