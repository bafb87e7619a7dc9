import { chatUiMeta as meta, type ChatUiHandler } from '../../generated/capabilities/chat-ui';
import { isBlank, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { configMap, instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/** The Gateway's run timeout and input ceiling (RunInput maxLength), used by the chat surface. */
const CHAT_TIMEOUT_MS = 60000;
const CHAT_MAX_INPUT_CHARS = 100000;

/**
 * Chat UI. Semantic rules: suggested prompts are not blank and unique (case-insensitively); the
 * welcome message is not blank.
 * Desired state: a GatewayRoute (surface `chat`, user tokens only, its rate limit and session
 * settings) and a ConfigMap with what the chat page shows.
 */
export const chatUi: ChatUiHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const prompts = config.suggestedPrompts ?? [];
    prompts.forEach((p, i) => {
      if (isBlank(p)) issues.push({ path: pointer('suggestedPrompts', i), message: 'must not be blank' });
    });
    for (const i of repeatedIndexes(prompts, (p) => p.trim().toLowerCase())) issues.push({ path: pointer('suggestedPrompts', i), message: 'repeats an earlier prompt' });
    if (isBlank(config.welcomeMessage)) issues.push({ path: pointer('welcomeMessage'), message: 'must not be blank' });
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      instanceObject(ctx, meta.id, 'GatewayRoute', {
        spec: {
          instanceId: ctx.instanceId,
          surface: 'chat',
          path: '/v1/runs',
          methods: ['POST'],
          auth: { oidc: true, apiKeys: false },
          upstream: { service: 'runner', timeoutMs: CHAT_TIMEOUT_MS },
          maxInputChars: CHAT_MAX_INPUT_CHARS,
          rateLimit: { requestsPerMinute: c.rateLimitPerMinute! },
          session: { historyTurns: c.sessionHistoryTurns!, retentionDays: c.sessionRetentionDays! },
        },
      }),
      configMap(ctx, meta.id, { welcomeMessage: c.welcomeMessage, suggestedPrompts: c.suggestedPrompts, showCredits: c.showCredits }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
