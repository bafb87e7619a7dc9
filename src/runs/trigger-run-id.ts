import { createHash } from 'node:crypto';

/**
 * The run id of a trigger's run: derived from the trigger and the slot's or delivery's
 * Idempotency-Key, so the Control Plane knows it before the gateway answers (the webhook's 202
 * names it) and a slot started twice is one run on every replica.
 */
export function triggerRunId(trigger: { kind: 'schedule' | 'webhook'; id: string }, idempotencyKey: string): string {
  return `run_${createHash('sha256').update(`trigger:${trigger.kind}:${trigger.id}\n${idempotencyKey}`).digest('hex').slice(0, 32)}`;
}
