import { guardrailsPolicyMeta as meta, type GuardrailsPolicyHandler } from '../../generated/capabilities/guardrails-policy';
import { isBlank, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * A blocked topic is a phrase, or — written `/pattern/flags` — a regular expression with flags from
 * `imsu` (`g` and `y` make RegExp stateful and are refused).
 */
export type BlockedTopic = { match: 'phrase'; value: string } | { match: 'regex'; value: string; flags: string };

const REGEX_TOPIC = /^\/(.+)\/([a-z]*)$/s;
/** A quantified group that is itself quantified, e.g. `(a+)+`: catastrophic backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,\d*\})/;

export function parseTopic(topic: string): BlockedTopic {
  const m = REGEX_TOPIC.exec(topic);
  return m ? { match: 'regex', value: m[1]!, flags: m[2]! } : { match: 'phrase', value: topic.trim() };
}

function topicProblem(topic: string): string | undefined {
  if (isBlank(topic)) return 'must not be blank';
  const t = parseTopic(topic);
  if (t.match === 'phrase') return undefined;
  if (!/^[imsu]*$/.test(t.flags) || new Set(t.flags).size !== t.flags.length) return `has flags "${t.flags}"; only i, m, s and u are allowed, once each`;
  try {
    new RegExp(t.value, t.flags);
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
  if (NESTED_QUANTIFIER.test(t.value)) return 'has a nested quantifier (like (a+)+), which can backtrack catastrophically';
  return undefined;
}

/**
 * Guardrails. Semantic rules: blocked topics are not blank, unique (case-insensitively), and a
 * `/pattern/flags` topic compiles as a RegExp with flags from `imsu` and no nested quantifier;
 * the refusal message is not blank.
 * Desired state: a GuardrailPolicy with the topics parsed into phrases and regexes. Not metered.
 */
export const guardrailsPolicy: GuardrailsPolicyHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const topics = config.blockedTopics ?? [];
    topics.forEach((t, i) => {
      const problem = topicProblem(t);
      if (problem) issues.push({ path: pointer('blockedTopics', i), message: problem });
    });
    for (const i of repeatedIndexes(topics, (t) => t.trim().toLowerCase())) issues.push({ path: pointer('blockedTopics', i), message: `repeats ${topics[i]}` });
    if (isBlank(config.refusalMessage)) issues.push({ path: pointer('refusalMessage'), message: 'must not be blank' });
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      instanceObject(ctx, meta.id, 'GuardrailPolicy', {
        spec: {
          instanceId: ctx.instanceId,
          moderationLevel: c.moderationLevel!,
          blockedTopics: c.blockedTopics!.map(parseTopic),
          piiRedaction: c.piiRedaction!,
          promptInjectionDetection: c.promptInjectionDetection!,
          profanityFilter: c.profanityFilter!,
          maxOutputChars: c.maxOutputChars!,
          refusalMessage: c.refusalMessage!,
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
