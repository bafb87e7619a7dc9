import { apiEndpointMeta as meta, type ApiEndpointHandler } from '../../generated/capabilities/api-endpoint';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject, resourceName } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/** The Gateway path runs are posted to (gateway.openapi.yaml `createRun`). */
export const RUNS_PATH = '/v1/runs';

/**
 * API endpoint. Semantic rule: the burst cannot exceed the per-minute limit (a token bucket larger
 * than a minute's budget would let a client spend more than its limit at once).
 * Desired state: a GatewayRoute (surface `api`, OIDC tokens and, when allowed, project API keys)
 * and the GatewayPolicy attached to it (rate limit, API keys, input size).
 */
export const apiEndpoint: ApiEndpointHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    if (config.burst !== undefined && config.rateLimitPerMinute !== undefined && config.burst > config.rateLimitPerMinute) {
      issues.push({ path: pointer('burst'), message: `must not exceed rateLimitPerMinute (${config.rateLimitPerMinute})` });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const routeName = resourceName(ctx.instanceId, meta.id);
    return [
      instanceObject(ctx, meta.id, 'GatewayRoute', {
        spec: {
          instanceId: ctx.instanceId,
          surface: 'api',
          path: RUNS_PATH,
          methods: ['POST'],
          auth: { oidc: true, apiKeys: c.allowApiKeys! },
          upstream: { service: 'runner', timeoutMs: c.timeoutMs! },
          maxInputChars: c.maxInputChars!,
        },
      }),
      instanceObject(ctx, meta.id, 'GatewayPolicy', {
        spec: {
          instanceId: ctx.instanceId,
          scope: 'api',
          targetRef: { group: 'platform.agentstore.dev', kind: 'GatewayRoute', name: routeName },
          rateLimit: { requestsPerMinute: c.rateLimitPerMinute!, burst: c.burst! },
          auth: { allowApiKeys: c.allowApiKeys! },
          input: { maxInputChars: c.maxInputChars! },
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
