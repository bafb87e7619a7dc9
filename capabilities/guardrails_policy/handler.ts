import { guardrailsPolicyMeta as meta, type GuardrailsPolicyHandler } from '../../generated/capabilities/guardrails-policy';
import { isBlank, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';
import { checkInput, checkOutput, checkToolCall, streamFilter } from './policy';
import { parseTopic, type BlockedTopic } from './topics';

export { parseTopic, type BlockedTopic };

/** A quantified group that is itself quantified, e.g. `(a+)+`: catastrophic backtracking. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,\d*\})/;

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
 * Run time (policy.ts): beforeRun refuses or masks the input before the hold (so the model and
 * the stored history only ever see the masked text); afterRun refuses, masks and cuts the
 * output; outputStream does the same to a stream, holding back a window so nothing blocked is sent;
 * onToolCall (connector gateway) refuses a tool call whose input has a blocked topic, or personal
 * data under `block`.
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
  beforeRun(input, ctx) {
    return checkInput(withDefaults(meta.id, ctx.config), input.text);
  },
  afterRun(output, ctx) {
    return checkOutput(withDefaults(meta.id, ctx.config), output.text);
  },
  outputStream(ctx) {
    return streamFilter(withDefaults(meta.id, ctx.config));
  },
  onToolCall(call, ctx) {
    return checkToolCall(withDefaults(meta.id, ctx.config), call.input);
  },
};
