/**
 * Signing of webhook notifications, following the Standard Webhooks specification
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
 * reference implementation libraries/javascript/src/index.ts of the same repository):
 *
 * - `webhook-id`: the message id — the outbox row's id, the same on every retry, so the
 *   receiver can deduplicate;
 * - `webhook-timestamp`: the attempt's time in integer seconds since the epoch;
 * - `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, where the key
 *   is the bytes of the secret after its `whsec_` prefix, base64-decoded. Several signatures
 *   (during a rotation) are separated by spaces.
 *
 * Secrets are `whsec_` + base64 of 32 random bytes (the spec asks for 24 to 64 bytes).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'whsec_';

export function newSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/** `v1,<base64>` for one message. */
export function signMessage(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three headers of a signed delivery. */
export function signedHeaders(secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signMessage(secret, id, timestampSeconds, body) };
}

/** True when one `v1` signature of the header matches (each compared in constant time). */
export function verifySignature(secret: string, headers: { id?: string; timestamp?: string; signature?: string }, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!headers.id || !headers.timestamp || !headers.signature || !/^\d{1,12}$/.test(headers.timestamp)) return false;
  if (Math.abs(nowSeconds - Number(headers.timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signMessage(secret, headers.id, Number(headers.timestamp), body).slice(3));
  let ok = false;
  for (const part of headers.signature.split(' ')) {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) continue;
    const got = Buffer.from(sig);
    if (got.length === expected.length && timingSafeEqual(got, expected)) ok = true;
  }
  return ok;
}
