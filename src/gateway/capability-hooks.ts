/**
 * Where the gateway calls the capabilities' run-time hooks (src/capabilities/hooks/run-hooks.ts):
 * - beforeRun: after the rate limit and the concurrency lease, before the hold — a refused input
 *   takes no hold and is never charged; a masked input is what the Control Plane records (and
 *   later serves as history) and what the runtime gets;
 * - outputStream: on every delta of a stream, before it is forwarded;
 * - afterRun: on the complete output, before settling — the settled (stored) output is the
 *   filtered one.
 * Failures: a hook that throws → 502 CAPABILITY_ERROR (voided, not charged); a refused output →
 * 422 GUARDRAIL_BLOCKED, charged for the model work done (the Runner's usage).
 */
import type { Entitlements } from '../../generated/control-plane/types';
import type { RunRequest } from '../../generated/gateway/types';
import { runAfterHooks, runBeforeHooks, type BeforeRunOutcome, type RunFacts } from '../capabilities/hooks/run-hooks';
import type { HookServices } from '../capabilities/hook-types';

export type { RunFacts };

/** The run's input text as the runtime reads it. */
export const inputText = (input: RunRequest['input']): string => input.text ?? input.message?.content ?? '';

/** The same input with its text replaced (the shape the caller used is kept). */
export function withInputText(input: RunRequest['input'], text: string): RunRequest['input'] {
  if (input.text !== undefined || !input.message) return { ...input, text };
  return { ...input, message: { ...input.message, content: text } };
}

export interface HookedInput extends Omit<BeforeRunOutcome, 'text'> {
  input: RunRequest['input'];
}

export async function beforeRun(ent: Entitlements, input: RunRequest['input'], facts: RunFacts): Promise<HookedInput> {
  const text = inputText(input);
  const r = await runBeforeHooks(ent, text, facts);
  return { input: r.text === text ? input : withInputText(input, r.text), instructions: r.instructions, ...(r.answer ? { answer: r.answer } : {}) };
}

export async function afterRun<O extends { text: string }>(ent: Entitlements, output: O, facts: RunFacts): Promise<O> {
  const text = await runAfterHooks(ent, output.text, facts);
  return text === output.text ? output : { ...output, text };
}

export function factsOf(ent: Entitlements, runId: string, sessionId: string | null, channel: RunFacts['channel'], services?: HookServices, history?: RunFacts['history']): RunFacts {
  return { instanceId: ent.instanceId, orgId: ent.orgId, projectId: ent.projectId, runId, sessionId, channel, ...(services ? { services } : {}), ...(history ? { history } : {}) };
}
