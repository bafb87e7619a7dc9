/**
 * A run in a conversation handed over to a person (`human_handover`, src/runs/handovers.ts in the
 * Control Plane). The Control Plane's authorize tells the gateway about the session's hand-over:
 *
 * - an open (or pending) hand-over of an earlier run: the session is with a person — the run is
 *   answered with the capability's hand-over message, without the model, and charged nothing
 *   (usage counts no run; the `handovers` dimension was metered once, by the run that handed over);
 * - the hand-over this run asked for (its beforeRun answer): it is already recorded `pending`, so
 *   it is delivered now (a Zendesk ticket through the connector gateway, keyed by the hand-over's
 *   id so a retry never makes a second ticket) and the settle opens it.
 *
 * Failure rule: a delivery that fails (the helpdesk down or refusing after the connector
 * gateway's retries, rate limited, the credential refused) answers 502 `CAPABILITY_ERROR`
 * (`details.capability: human_handover`, `details.reason`), the run is voided — not charged —
 * and the Control Plane records the hand-over `failed` with a `session_handover_failed` event. The
 * user is never told a person was reached when nobody was; asking again tries again.
 */
import type { SessionHandover } from '../../generated/control-plane/types';
import type { RunnerRunResult } from '../../generated/runner/types';
import { withDefaults } from '../capabilities/config-defaults';
import type { HookServices } from '../capabilities/hook-types';
import { AppError } from '../platform/errors';
import { inputText } from './capability-hooks';
import type { GatewayDeps } from './deps';
import type { Admitted, RunContext } from './runs';

export interface AdmittedHandover {
  record: SessionHandover;
  /** The session's turns before this run, for the ticket (this run's hand-over only). */
  transcript: { role: 'user' | 'assistant'; content: string }[];
}

const CAPABILITY = 'human_handover';

/** The hand-over message the instance's capability config answers with (schema default filled in). */
export function handoverMessageOf(config: Record<string, unknown>): string {
  const c = withDefaults(CAPABILITY, (config[CAPABILITY] ?? {}) as Record<string, unknown>) as { handoverMessage?: string };
  return c.handoverMessage ?? '';
}

/** The services a hand-over's delivery may use, scoped to this run's instance. */
export function handoverServices(deps: GatewayDeps, a: Admitted, c: RunContext): HookServices {
  return {
    async createTicket(req) {
      const { idempotencyKey, ...ticket } = req;
      const created = await deps.tickets.create({ instanceId: a.ent.instanceId, runId: a.runId, ...ticket }, { requestId: c.requestId, idempotencyKey, signal: c.signal });
      return { ticketRef: created.ticketRef };
    },
  };
}

/** Why a delivery failed, as `details` (codes and statuses only: never the helpdesk's text). */
function failure(err: unknown, provider: string): AppError {
  const e = err instanceof AppError ? err : undefined;
  const d = e?.details ?? {};
  const reason = e?.code === 'RATE_LIMITED' ? 'helpdesk_rate_limited' : d.reason === 'credential_rejected' ? 'credential_rejected' : e?.code === 'POLICY_DENIED' ? 'policy_denied' : 'helpdesk_unavailable';
  return new AppError('CAPABILITY_ERROR', 'The conversation could not be handed over to a person; nothing was charged', {
    capability: CAPABILITY, hook: 'beforeRun', provider, reason, ...(e ? { cause: e.code } : {}),
    ...(typeof d.upstreamStatus === 'number' ? { upstreamStatus: d.upstreamStatus } : {}),
    ...(typeof d.retryAfterSeconds === 'number' ? { retryAfterSeconds: d.retryAfterSeconds } : {}),
  }, { status: 502, cause: err });
}

const outputOf = (text: string, h: SessionHandover, ticketRef: string | null) => ({
  text, answeredBy: CAPABILITY, handover: { handoverId: h.handoverId, provider: h.provider, ticketRef },
});

/** The answer of a run in a handed-over session (undefined when the session is not, or no hand-over was asked for). */
export async function handoverAnswer(deps: GatewayDeps, a: Admitted, c: RunContext): Promise<Pick<RunnerRunResult, 'output' | 'usage'> | undefined> {
  const h = a.handover;
  if (!h) return undefined;
  if (h.record.runId !== a.runId) {
    // The session is with a person: the hand-over message, no model, nothing charged.
    return { output: outputOf(handoverMessageOf(a.ent.config), h.record, h.record.ticketRef), usage: { dimensions: { runs: 0 } } };
  }
  const ans = a.hooked.answer;
  if (!ans?.handover) return undefined;
  let delivered: { ticketRef?: string };
  try {
    delivered = await ans.handover.deliver({
      handoverId: h.record.handoverId, instanceId: a.ent.instanceId, runId: a.runId, sessionId: a.sessionId,
      transcript: h.transcript, input: inputText(a.hooked.input), services: handoverServices(deps, a, c),
    });
  } catch (err) {
    c.log.warn({ err, handoverId: h.record.handoverId, provider: h.record.provider }, 'hand-over not delivered; the run is voided');
    throw failure(err, h.record.provider);
  }
  a.handoverOutcome = { handoverId: h.record.handoverId, ...(delivered.ticketRef ? { ticketRef: delivered.ticketRef } : {}) };
  return { output: outputOf(ans.text, h.record, delivered.ticketRef ?? null), usage: { dimensions: { ...ans.usage, runs: 1 } } };
}
