import { humanHandoverMeta as meta, type HumanHandoverHandler } from '../../generated/capabilities/human-handover';
import { isBlank, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue, Manifest } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { connectorSecret, instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';
import { deliverHandover } from './ticket';
import { handoverTrigger } from './triggers';

/** Providers that authenticate with a connector binding's credential. */
const HELPDESKS = new Set(['zendesk']);

/**
 * Human handover. Semantic rules:
 * - `email` needs `email`; zendesk needs `bindingId`; `webhook` goes to the org's notification
 *   endpoint (signed, src/notifications) and needs neither; a destination the provider does not
 *   use is an error rather than silently ignored, and so is a binding for the email provider;
 * - some trigger must be able to fire (user request, keywords or low confidence);
 * - keywords are unique (case-insensitively) and not blank.
 * Desired state: a HandoverPolicy, plus an ExternalSecret for the binding if there is one.
 * Run time: beforeRun (gateway) answers the configured hand-over message instead of the model
 * when a trigger fires (triggers.ts), metered as one `handovers`, and hands the session over
 * (ticket.ts; the platform records it and keeps the session with the person until released).
 */
export const humanHandover: HumanHandoverHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const provider = config.provider ?? 'email';
    if (provider === 'email' && !config.email) issues.push({ path: pointer('email'), message: 'is required for the email provider' });
    if (provider !== 'email' && config.email) issues.push({ path: pointer('email'), message: `is only used by the email provider, not ${provider}` });
    if (HELPDESKS.has(provider) && !config.bindingId) issues.push({ path: pointer('bindingId'), message: `is required for ${provider} (the helpdesk credential)` });
    if (!HELPDESKS.has(provider) && config.bindingId) issues.push({ path: pointer('bindingId'), message: `is not used by the ${provider} provider` });
    const t = config.triggers ?? {};
    const keywords = t.keywords ?? [];
    if (t.onUserRequest === false && t.onLowConfidence === false && keywords.length === 0) {
      issues.push({ path: pointer('triggers'), message: 'no trigger can fire: enable onUserRequest or onLowConfidence, or list keywords' });
    }
    keywords.forEach((k, i) => {
      if (isBlank(k)) issues.push({ path: pointer('triggers', 'keywords', i), message: 'must not be blank' });
    });
    for (const i of repeatedIndexes(keywords, (k) => k.trim().toLowerCase())) issues.push({ path: pointer('triggers', 'keywords', i), message: `repeats ${keywords[i]}` });
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const secret = c.bindingId ? connectorSecret(ctx, meta.id, c.bindingId) : undefined;
    const t = c.triggers!;
    const destination = c.email ? { email: c.email } : {};
    const policy: Manifest = instanceObject(ctx, meta.id, 'HandoverPolicy', {
      spec: {
        instanceId: ctx.instanceId,
        provider: c.provider!,
        ...(Object.keys(destination).length ? { destination } : {}),
        ...(secret ? { secretRef: { name: secret.secretName } } : {}),
        triggers: {
          onUserRequest: t.onUserRequest!,
          keywords: t.keywords!,
          onLowConfidence: t.onLowConfidence!,
          confidenceThreshold: t.confidenceThreshold!,
        },
        message: c.handoverMessage!,
        transcript: { include: c.includeTranscript!, maxTurns: c.maxTranscriptTurns! },
      },
    });
    return secret ? [policy, secret.manifest] : [policy];
  },
  meter: meterBy(meta.dimensions),
  beforeRun(input, ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const trigger = handoverTrigger(c, input.text);
    if (!trigger) return undefined;
    // The configured message answers instead of the model; the hand-over is metered (handovers)
    // and delivered (ticket.ts) after the platform recorded it with the run's hold.
    return {
      answer: {
        text: c.handoverMessage!,
        usage: { handovers: 1 },
        handover: { provider: c.provider!, trigger, deliver: (d) => deliverHandover(c, trigger, d) },
      },
    };
  },
};
