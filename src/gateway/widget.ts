/**
 * `POST /v1/widget/session:init`: the embeddable widget asks for a session from the customer's
 * page. Public (the browser has no credentials), so the gateway reads the instance's
 * entitlements with its own service token and checks, in this order: the `Origin` header is
 * on `allowedOrigins` (exactly, or under a `https://*.` entry: origins.ts) (else 403 ORIGIN_NOT_ALLOWED, whatever the instance's state),
 * the instance is active and has `web_widget` (else 403 NOT_ENTITLED), and the per-origin and
 * visitor rate (web_widget.rateLimitPerMinute). The answer is a session token bound to the
 * instance and origin (widget-session.ts), the branding and the limits.
 */
import { assertOfferingAlive } from './offering-eol';
import type { WidgetSession, WidgetSessionInitRequest } from '../../generated/gateway/types';
import { AppError } from '../platform/errors';
import type { GatewayDeps } from './deps';
import { originAllowed } from './origins';
import { maxInputCharsFor } from './runs';

const DEFAULT_BRANDING = { title: 'Assistant', primaryColor: '#2563eb', greeting: 'Hi! How can I help?' };

export async function initWidgetSession(deps: GatewayDeps, body: WidgetSessionInitRequest, origin: string, c: { requestId: string; signal: AbortSignal; annotate(f: Record<string, unknown>): void }): Promise<WidgetSession> {
  const ent = await deps.entitlements.get(body.instanceId, { kind: 'service' }, { requestId: c.requestId, signal: c.signal });
  c.annotate({ orgId: ent.orgId, projectId: ent.projectId, instanceId: ent.instanceId });
  if (!originAllowed(origin, ent.allowedOrigins)) {
    throw new AppError('ORIGIN_NOT_ALLOWED', 'This origin may not embed the widget of this instance', { origin });
  }
  assertOfferingAlive(ent);
  if (ent.state !== 'active') throw new AppError('NOT_ENTITLED', `The instance is ${ent.state}`, { instanceId: ent.instanceId, state: ent.state });
  if (!ent.capabilities.includes('web_widget')) throw new AppError('NOT_ENTITLED', 'This instance has no web widget', { instanceId: ent.instanceId });

  const cfg = (ent.config.web_widget ?? {}) as { rateLimitPerMinute?: number; sessionTtlSeconds?: number; branding?: Record<string, unknown> };
  const perMinute = cfg.rateLimitPerMinute ?? ent.rateLimits.perMinute;
  const decision = await deps.rateLimiter.take([{ key: `${ent.instanceId}:widget-init:${origin}:${body.visitorId ?? 'anonymous'}`, perMinute, burst: Math.min(10, perMinute) }]);
  if (!decision.allowed) {
    deps.metrics.rateLimited.inc({ scope: 'widget_init' });
    throw new AppError('RATE_LIMITED', 'Too many widget sessions from this origin and visitor', { retryAfterSeconds: decision.retryAfterSeconds }, { headers: { 'Retry-After': String(decision.retryAfterSeconds) } });
  }

  const ttlSeconds = cfg.sessionTtlSeconds ?? 1800;
  const { token, claims } = await deps.widgets.issue(
    { instanceId: ent.instanceId, origin, orgId: ent.orgId, projectId: ent.projectId, ...(body.visitorId ? { visitorId: body.visitorId } : {}) },
    ttlSeconds,
  );
  const b = cfg.branding ?? {};
  return {
    sessionToken: token,
    tokenType: 'Bearer',
    expiresAt: claims.expiresAt.toISOString(),
    instanceId: ent.instanceId,
    sessionId: claims.sessionId,
    branding: {
      title: typeof b.title === 'string' ? b.title : DEFAULT_BRANDING.title,
      primaryColor: typeof b.primaryColor === 'string' ? b.primaryColor : DEFAULT_BRANDING.primaryColor,
      logoUrl: typeof b.logoUrl === 'string' ? b.logoUrl : null,
      greeting: typeof b.greeting === 'string' ? b.greeting : DEFAULT_BRANDING.greeting,
    },
    limits: { maxInputChars: maxInputCharsFor('widget', ent), rateLimitPerMinute: perMinute },
  };
}
