import { observabilityMeta as meta, type ObservabilityHandler } from '../../generated/capabilities/observability';
import { httpsUrlProblem } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * Observability. Semantic rules: traceSampleRate is in [0, 1]; otlpEndpoint is https to a public
 * host with no credentials in the URL (telemetry can carry payloads when logPayloads is on) and no
 * query. Desired state: an ObservabilityProfile. Not metered.
 */
export const observability: ObservabilityHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const rate = config.traceSampleRate;
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0 && rate <= 1)) issues.push({ path: pointer('traceSampleRate'), message: 'must be between 0 and 1' });
    if (config.otlpEndpoint) {
      const problem = httpsUrlProblem(config.otlpEndpoint, { allowQuery: false });
      if (problem) issues.push({ path: pointer('otlpEndpoint'), message: problem });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      instanceObject(ctx, meta.id, 'ObservabilityProfile', {
        spec: {
          instanceId: ctx.instanceId,
          logLevel: c.logLevel!,
          logPayloads: c.logPayloads!,
          metrics: { enabled: c.metricsEnabled! },
          tracing: { sampleRate: c.traceSampleRate! },
          ...(c.otlpEndpoint ? { otlp: { endpoint: c.otlpEndpoint } } : {}),
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
