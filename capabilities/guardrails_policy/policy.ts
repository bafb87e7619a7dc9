/**
 * The guardrails as the run sees them (the handler's hooks call these):
 * - input: a prompt-injection phrase (when `promptInjectionDetection`) or a blocked topic refuses
 *   it; personal data is masked (`piiRedaction: mask`, before the model sees it and before it is
 *   stored) or refuses it (`block`);
 * - output: a blocked topic refuses it; personal data is masked or refuses it; profanity is masked
 *   (`profanityFilter`); the text is cut at `maxOutputChars`.
 * A refusal names its rule (`blockedTopics[2]`, `pii:ssn`, `promptInjection`, …) and carries the
 * configured `refusalMessage` — never the text that matched.
 */
import type { GuardrailsPolicyConfig } from '../../generated/capabilities/guardrails-policy';
import type { OutputStreamFilter, Refusal } from '../../src/capabilities/hook-types';
import { findPii, maskPii, PII_MAX_SPAN } from './pii';
import { parseTopic } from './topics';

type Config = GuardrailsPolicyConfig;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A blocked phrase matches case-insensitively on word boundaries; a regex topic as written. */
export function topicMatchers(config: Config): { rule: string; re: RegExp }[] {
  return (config.blockedTopics ?? []).map((t, i) => {
    const p = parseTopic(t);
    const re = p.match === 'phrase' ? new RegExp(`(?<![\\p{L}\\p{N}])${escape(p.value).replace(/\s+/g, '\\s+')}(?![\\p{L}\\p{N}])`, 'iu') : new RegExp(p.value, p.flags);
    return { rule: `blockedTopics[${i}]`, re };
  });
}

/** Phrases that try to override the system prompt (a heuristic; the model's own safety still applies). */
const INJECTION = [
  /\b(ignore|disregard|forget)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all)\b[^.\n]{0,20}\b(instructions|prompts?|rules|messages)\b/i,
  /\b(reveal|print|show|repeat)\b[^.\n]{0,30}\b(system prompt|hidden instructions|initial instructions)\b/i,
  /\byou are now\b[^.\n]{0,30}\b(DAN|jailbroken|unrestricted|developer mode)\b/i,
];

const PROFANITY = /\b(fuck\w*|shit\w*|bitch\w*|bastard\w*|asshole\w*|cunt\w*|dickhead\w*|motherfuck\w*)\b/gi;

export function refusal(config: Config, rule: string, stage: 'input' | 'output' | 'tool_call', details: Record<string, unknown> = {}): Refusal {
  return { refuse: { rule, message: config.refusalMessage ?? "I can't help with that request.", details: { stage, ...details } } };
}

function checkTopics(config: Config, text: string, stage: 'input' | 'output' | 'tool_call'): Refusal | undefined {
  const hit = topicMatchers(config).find((m) => m.re.test(text));
  return hit ? refusal(config, hit.rule, stage) : undefined;
}

function handlePii(config: Config, text: string, stage: 'input' | 'output'): Refusal | string {
  if (config.piiRedaction === 'off') return text;
  const found = findPii(text);
  if (!found.length) return text;
  if (config.piiRedaction === 'block') return refusal(config, `pii:${found[0]!.kind}`, stage, { kinds: [...new Set(found.map((f) => f.kind))] });
  return maskPii(text, found);
}

const maskProfanity = (config: Config, text: string) => (config.profanityFilter ? text.replace(PROFANITY, (w) => '*'.repeat(w.length)) : text);

export function checkInput(config: Config, text: string): Refusal | { text: string } {
  if (config.promptInjectionDetection && INJECTION.some((re) => re.test(text))) return refusal(config, 'promptInjection', 'input');
  const topic = checkTopics(config, text, 'input');
  if (topic) return topic;
  const pii = handlePii(config, text, 'input');
  return typeof pii === 'string' ? { text: pii } : pii;
}

export function checkOutput(config: Config, text: string): Refusal | { text: string } {
  const topic = checkTopics(config, text, 'output');
  if (topic) return topic;
  const pii = handlePii(config, text, 'output');
  if (typeof pii !== 'string') return pii;
  return { text: maskProfanity(config, pii).slice(0, config.maxOutputChars ?? Infinity) };
}

/**
 * How much streamed text is held back: enough for the longest phrase topic, any PII match and any
 * filtered word — only for the rules that are on (a policy with none streams every delta as it comes).
 */
export function holdBack(config: Config): number {
  const topics = (config.blockedTopics ?? []).map((t) => parseTopic(t));
  const spans = [
    ...topics.map((t) => (t.match === 'phrase' ? t.value.length : PII_MAX_SPAN)),
    config.piiRedaction !== 'off' ? PII_MAX_SPAN : 0,
    config.profanityFilter ? 24 : 0,
  ];
  const span = Math.max(0, ...spans);
  return span ? span + 1 : 0;
}

/**
 * The output filter for a stream. All text seen so far is checked for blocked topics on every
 * chunk, and the last `holdBack` characters are kept until more text (or the end) shows they
 * cannot be part of a blocked phrase or a PII match — so a blocked term never reaches the client.
 * What is released is masked and cut at `maxOutputChars`, as the final output is.
 */
export function streamFilter(config: Config): OutputStreamFilter {
  const window = holdBack(config);
  const max = config.maxOutputChars ?? Infinity;
  let seen = '';
  let released = 0; // characters of `seen` already released (before masking)
  let sent = 0; // characters sent after masking
  const emit = (upto: number): string | Refusal => {
    const raw = seen.slice(released, upto);
    released = upto;
    const pii = handlePii(config, raw, 'output');
    if (typeof pii !== 'string') return pii;
    const out = maskProfanity(config, pii).slice(0, Math.max(0, max - sent));
    sent += out.length;
    return out;
  };
  return {
    push(chunk) {
      seen += chunk;
      const topic = checkTopics(config, seen, 'output');
      if (topic) return topic;
      let cut = seen.length - window;
      if (cut <= released) return '';
      if (!window) return emit(cut);
      // Never release part of a PII match or a word: cut before any match that reaches past the cut.
      for (const m of config.piiRedaction === 'off' ? [] : findPii(seen.slice(released))) {
        const s = released + m.start;
        const e = released + m.end;
        if (s < cut && e >= cut) cut = s;
      }
      while (window && cut > released && /[\p{L}\p{N}]/u.test(seen[cut - 1]!) && /[\p{L}\p{N}]/u.test(seen[cut] ?? '')) cut--;
      return cut > released ? emit(cut) : '';
    },
    end() {
      const topic = checkTopics(config, seen, 'output');
      if (topic) return topic;
      return emit(seen.length);
    },
  };
}

/**
 * A tool call's input (as JSON) under the same rules as the model's input: a blocked topic
 * refuses it, and so does personal data under `piiRedaction: block` (a tool's arguments cannot be
 * masked without changing what it does, so `mask` lets them through).
 */
export function checkToolCall(config: Config, input: Record<string, unknown>): Refusal | undefined {
  const text = JSON.stringify(input);
  const topic = checkTopics(config, text, 'tool_call');
  if (topic) return topic;
  if (config.piiRedaction === 'block') {
    const found = findPii(text);
    if (found.length) return refusal(config, `pii:${found[0]!.kind}`, 'tool_call', { kinds: [...new Set(found.map((f) => f.kind))] });
  }
  return undefined;
}
