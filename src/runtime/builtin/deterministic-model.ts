/**
 * The built-in runtime's offline model, used only when no model provider is configured: no
 * network, no weights, and the same prompt always gives the same answer. The answer quotes the
 * user's question (and the previous question of the session, when there is one), cites the
 * titles of the knowledge retrieved for it (with the opening sentence of the best chunk), names
 * the tools consulted, says plainly that no language model wrote it, and ends with a short
 * reference derived from the sha256 of the full prompt, so two different prompts (another system
 * message, other context, another history) are told apart even when the question is the same.
 */
import { createHash } from 'node:crypto';
import { countTokens } from '../tokens';
import type { KnowledgeChunk } from '../types';

/** Every offline answer opens with it (so even a short token cap keeps it): nobody should mistake it for a language model's. */
export const OFFLINE_NOTICE = '[Offline model: no model provider is configured, so no language model wrote this answer.]';

const OPENERS = ['Regarding your question', 'About your question', 'On your question', 'In answer to your question'];

export interface ModelInput {
  /** Everything the model is sent (system message, history, prompt). */
  prompt: string;
  /** The session's previous user message, quoted back so a follow-up visibly continues it. */
  previousQuestion?: string;
  /** The user's question as typed (quoted back); the prompt's last line when unknown. */
  question?: string;
  sources?: KnowledgeChunk[];
  tools?: string[];
  /** The node's `seed` setting: part of the hash, so reseeding changes the reference and opener. */
  seed?: string | number;
  /** The node's `max_tokens`: the reply is cut to fit (counted with countTokens). */
  maxTokens?: number;
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function firstSentence(s: string, max: number): string {
  const t = oneLine(s, 10_000);
  const m = /^(.+?[.!?])(\s|$)/.exec(t);
  return oneLine(m ? m[1] : t, max);
}

function list(items: string[]): string {
  const q = items.map((i) => `"${i}"`);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} and ${q[q.length - 1]}`;
}

export function deterministicReply(input: ModelInput): string {
  const seed = createHash('sha256').update(input.seed === undefined ? input.prompt : `seed:${input.seed}\n${input.prompt}`, 'utf8').digest('hex');
  const opener = OPENERS[parseInt(seed.slice(0, 8), 16) % OPENERS.length];
  const question = oneLine(input.question?.trim() || input.prompt.trim().split('\n').filter(Boolean).pop() || '', 200);
  const parts = [input.previousQuestion ? `${opener} "${question}" (following up on "${oneLine(input.previousQuestion, 120)}") —` : `${opener} "${question}" —`];
  const sources = (input.sources ?? []).filter((s) => s.title || s.content);
  if (sources.length) {
    const titles = [...new Set(sources.map((s) => oneLine(s.title || 'untitled', 80)))].slice(0, 3);
    const best = firstSentence(sources[0].content ?? '', 240);
    parts.push(`based on ${list(titles)}${best ? `: ${best}` : '.'}`);
  } else {
    parts.push('no knowledge-base context was provided.');
  }
  if (input.tools?.length) parts.push(`Checked with ${list([...new Set(input.tools)])}.`);
  parts.unshift(OFFLINE_NOTICE);
  parts.push(`[builtin-model ref ${seed.slice(0, 8)}]`);
  const reply = parts.join(' ');
  return input.maxTokens && input.maxTokens > 0 ? cutToTokens(reply, input.maxTokens) : reply;
}

/** The longest prefix of whole words within `max` tokens. */
function cutToTokens(text: string, max: number): string {
  if (countTokens(text) <= max) return text;
  const words = text.split(' ');
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (countTokens(words.slice(0, mid).join(' ')) <= max) lo = mid;
    else hi = mid - 1;
  }
  return words.slice(0, lo).join(' ');
}
