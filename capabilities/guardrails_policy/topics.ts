/**
 * A blocked topic is a phrase, or — written `/pattern/flags` — a regular expression with flags from
 * `imsu` (`g` and `y` make RegExp stateful and are refused).
 */
export type BlockedTopic = { match: 'phrase'; value: string } | { match: 'regex'; value: string; flags: string };

const REGEX_TOPIC = /^\/(.+)\/([a-z]*)$/s;

export function parseTopic(topic: string): BlockedTopic {
  const m = REGEX_TOPIC.exec(topic);
  return m ? { match: 'regex', value: m[1]!, flags: m[2]! } : { match: 'phrase', value: topic.trim() };
}
