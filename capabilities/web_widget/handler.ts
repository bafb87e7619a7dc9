import { webWidgetMeta as meta, type WebWidgetHandler } from '../../generated/capabilities/web-widget';
import { httpsUrlProblem, isBlank, originProblem, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { instanceObject, resourceName } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * Web widget. Semantic rules:
 * - allowedOrigins follow the origin rule of `originProblem` (src/capabilities/checks.ts): exactly
 *   scheme://host[:port] as browsers send it (lower-case, no default port, no path), https except
 *   http://localhost / 127.0.0.1 / [::1], and the only wildcard is a whole leftmost label,
 *   `https://*.example.com` (subdomains only, at least two labels after it); no repeats;
 * - branding.logoUrl is https to a public host; branding.title is not blank.
 * Desired state: a WidgetConfig (origins, branding, session) and the GatewayPolicy attached to it
 * (rate limit, allowed origins, input size).
 */
export const webWidget: WebWidgetHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const origins = config.allowedOrigins ?? [];
    origins.forEach((o, i) => {
      const problem = originProblem(o);
      if (problem) issues.push({ path: pointer('allowedOrigins', i), message: problem });
    });
    for (const i of repeatedIndexes(origins, (o) => o.toLowerCase())) issues.push({ path: pointer('allowedOrigins', i), message: `repeats ${origins[i]}` });
    if (config.branding?.logoUrl) {
      const problem = httpsUrlProblem(config.branding.logoUrl);
      if (problem) issues.push({ path: pointer('branding', 'logoUrl'), message: problem });
    }
    if (isBlank(config.branding?.title)) issues.push({ path: pointer('branding', 'title'), message: 'must not be blank' });
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const b = c.branding!;
    const origins = c.allowedOrigins!;
    return [
      instanceObject(ctx, meta.id, 'WidgetConfig', {
        spec: {
          instanceId: ctx.instanceId,
          allowedOrigins: origins,
          branding: { title: b.title!, primaryColor: b.primaryColor!, greeting: b.greeting!, ...(b.logoUrl ? { logoUrl: b.logoUrl } : {}) },
          position: c.position!,
          sessionTtlSeconds: c.sessionTtlSeconds!,
          maxInputChars: c.maxInputChars!,
        },
      }),
      instanceObject(ctx, meta.id, 'GatewayPolicy', {
        spec: {
          instanceId: ctx.instanceId,
          scope: 'widget',
          targetRef: { group: 'platform.agentstore.dev', kind: 'WidgetConfig', name: resourceName(ctx.instanceId, meta.id) },
          rateLimit: { requestsPerMinute: c.rateLimitPerMinute! },
          cors: { allowedOrigins: origins },
          input: { maxInputChars: c.maxInputChars! },
        },
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
