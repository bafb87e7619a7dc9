/**
 * When a conversation is handed over to a person:
 * - `triggers.onUserRequest`: the user asks for a person ("I want to talk to a human", "can I
 *   speak to an agent", "real person", German "mit einem Menschen sprechen", "Mitarbeiter") —
 *   a request verb or "a/real/live" next to a person word, so "the agent said" alone is not one;
 * - `triggers.keywords`: any keyword as a whole word, case-insensitively.
 * `onLowConfidence` needs the model's confidence, which no runtime reports yet: it only shapes
 * the HandoverPolicy manifest.
 */
import type { HumanHandoverConfig } from '../../generated/capabilities/human-handover';

const PERSON = String.raw`(human|person|agent|representative|operator|someone|somebody|staff|support team|mensch(?:en)?|mitarbeiter(?:in)?|menschlichen?)`;
const USER_REQUEST = [
  new RegExp(String.raw`\b(talk|speak|chat|connect|transfer|escalate|put)\b[^.?!\n]{0,30}\b(to|with|me)\b[^.?!\n]{0,20}\b${PERSON}\b`, 'i'),
  new RegExp(String.raw`\b(real|live|actual)\s+(human|person|agent)\b`, 'i'),
  new RegExp(String.raw`\b(want|need|get)\s+(a|an|the)?\s*(human|person|representative|operator)\b`, 'i'),
  new RegExp(String.raw`\b(mit|einen?|einem)\s+(echten\s+)?${PERSON}\b[^.?!\n]{0,20}\b(sprechen|reden|verbinden)\b`, 'i'),
];

export type Trigger = 'user_request' | 'keyword';

export function handoverTrigger(config: HumanHandoverConfig, text: string): Trigger | undefined {
  const t = config.triggers ?? {};
  if (t.onUserRequest !== false && USER_REQUEST.some((re) => re.test(text))) return 'user_request';
  const words = (t.keywords ?? []).map((k) => k.trim()).filter(Boolean);
  if (words.some((k) => new RegExp(`(?<![\\p{L}\\p{N}])${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\p{L}\\p{N}])`, 'iu').test(text))) return 'keyword';
  return undefined;
}
