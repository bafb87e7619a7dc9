/**
 * Where a run's files live in object storage — one place for the gateway (uploads), the Runner
 * (spoken answers) and the Control Plane (their erasure with the run's bodies):
 *   runs/<instanceId>/u<caller digest>/<uploadId>   an attachment uploaded for a run
 *   runs/<instanceId>/answers/<runId>.<format>       a spoken answer
 * The caller's folder is a digest of the caller's kind and subject, so no subject appears in a
 * key or a URL, and an upload id resolves only for the caller and instance it was made for.
 */
import { createHash } from 'node:crypto';

export function uploadKey(instanceId: string, caller: { kind: string; subject: string }, uploadId: string): string {
  const who = createHash('sha256').update(`${caller.kind}:${caller.subject}`).digest('hex').slice(0, 24);
  return `runs/${instanceId}/u${who}/${uploadId}`;
}

export function spokenAnswerKey(instanceId: string, runId: string, format: string): string {
  return `runs/${instanceId}/answers/${runId}.${format}`;
}
