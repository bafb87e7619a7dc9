/**
 * What a run's hold can pay for, in the registry's own rates (the same `meterRun` the Control
 * Plane settles with):
 *
 * - `maxOutputTokens`: the most `tokens_out` the hold pays for on top of what the run costs
 *   anyway (its channel's run charge and the prompt's `tokens_in`, estimated with the runtime's
 *   token count). The Runner caps the model with it, so the run is cut off rather than costing
 *   more than the hold; a settle never charges beyond the hold either way.
 * - `estimateUsage`: the usage of a run that ended without the Runner's own count (the client went
 *   away, or the stream broke): the prompt's tokens and the tokens of the text already forwarded.
 */
import { LruCache } from '../platform/lru-cache';
import { meterRun } from '../capabilities/metering';
import { countTokens } from '../runtime/tokens';

export const MAX_OUTPUT_TOKENS = 1_000_000;

export interface PromptParts {
  systemPrompt?: string;
  history: { content: string }[];
  input: string;
}

export function promptTokens(p: PromptParts): number {
  return countTokens(p.systemPrompt ?? '') + p.history.reduce((n, m) => n + countTokens(m.content), 0) + countTokens(p.input);
}

/**
 * Answers already searched, by their exact arguments: the search meters the run some 22 times
 * (~40 µs), and metering is a pure function of the capabilities and the usage (the registry's
 * rates), so the same hold, capabilities and prompt always give the same cap. Bounded LRU.
 */
const MAX_SEARCHED = 1_000;
const searched = new LruCache<{ cap: number | undefined }>({ maxEntries: MAX_SEARCHED, maxSize: MAX_SEARCHED });

/**
 * The largest `tokens_out` whose run still costs at most `hold`; 0 when even no output would
 * cost more; undefined when output tokens cost nothing here (no cap needed).
 */
export function maxOutputTokensFor(hold: number, capabilities: readonly string[], base: Record<string, number>): number | undefined {
  const key = JSON.stringify([hold, capabilities, base]);
  const known = searched.get(key);
  if (known) return known.cap;
  const cap = searchMaxOutputTokens(hold, capabilities, base);
  searched.set(key, { cap }, 1);
  return cap;
}

function searchMaxOutputTokens(hold: number, capabilities: readonly string[], base: Record<string, number>): number | undefined {
  const cost = (t: number) => {
    try {
      return meterRun(capabilities, { ...base, tokens_out: t }).total;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  };
  const none = cost(0);
  if (none > hold) return 0;
  const most = cost(MAX_OUTPUT_TOKENS);
  if (most <= hold) return most === none ? undefined : MAX_OUTPUT_TOKENS;
  let lo = 0;
  let hi = MAX_OUTPUT_TOKENS;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (cost(mid) <= hold) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Usage of a run cut short without the Runner's count: the prompt, and what was forwarded. */
export function estimateUsage(prompt: PromptParts, forwarded: string): Record<string, number> {
  return { tokens_in: promptTokens(prompt), tokens_out: countTokens(forwarded), runs: 1 };
}
