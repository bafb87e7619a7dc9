/**
 * When to call a model provider again. Retried: 429, every 5xx, and network errors before any
 * answer. Never retried: other 4xx (the request itself is wrong, or the key is refused), a
 * timed-out call (it already used its budget), and a stream that broke after output was sent.
 *
 * The wait honours the provider: `retry-after-ms` (OpenAI's millisecond form, which the `openai`
 * SDK reads first), then `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3); otherwise
 * exponential backoff from `baseMs` (0.5 s, 1 s, 2 s … at most 8 s, as the SDK does), with ±25 %
 * jitter so replicas do not retry in step.
 */

export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  }
  const raw = headers.get('retry-after');
  if (raw === null || raw.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(raw)) return Math.ceil(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export function backoffMs(attempt: number, baseMs = 500, random: () => number = Math.random): number {
  const plain = Math.min(8_000, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(plain * (0.75 + random() * 0.5));
}

export const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;
