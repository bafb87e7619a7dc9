import { auditTrailMeta as meta, type AuditTrailHandler } from '../../generated/capabilities/audit-trail';
import { httpsUrlProblem } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * Audit trail. Semantic rules: sink `webhook` needs webhookUrl, https to a public host with no
 * credentials in the URL; webhookUrl with sink `platform` is an error (it would be ignored).
 * Desired state: an AuditSink (events are always hash-chained). Not metered.
 */
export const auditTrail: AuditTrailHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (config.sink === 'webhook' && !config.webhookUrl) issues.push({ path: pointer('webhookUrl'), message: 'is required when sink is webhook' });
    if (config.sink !== 'webhook' && config.webhookUrl) issues.push({ path: pointer('webhookUrl'), message: 'is only used when sink is webhook' });
    if (config.webhookUrl) {
      const problem = httpsUrlProblem(config.webhookUrl);
      if (problem) issues.push({ path: pointer('webhookUrl'), message: problem });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      instanceObject(ctx, meta.id, 'AuditSink', {
        spec: {
          instanceId: ctx.instanceId,
          sink: c.sink!,
          ...(c.sink === 'webhook' && c.webhookUrl ? { webhook: { url: c.webhookUrl } } : {}),
          retentionDays: c.retentionDays!,
          record: { inputs: c.recordInputs!, outputs: c.recordOutputs! },
          redactPii: c.redactPii!,
          hashChained: true,
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
