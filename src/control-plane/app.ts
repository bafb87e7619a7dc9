import { loadDefinition } from '../../generated/control-plane/api';
import { handlers } from '../../generated/control-plane/handler-registry';
import { apiKeyResolver } from '../auth/api-key';
import { bearerResolver } from '../auth/bearer';
import { sharedTokenResolver } from '../auth/shared-token';
import { createDevIssuerHandler, createDevLoginHandler } from '../identity';
import { loopbackAliases } from '../platform/http/cors';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import { readRawBody } from '../platform/http/request-body';
import { LocalObjectStore, localObjectRoute } from '../storage';
import { createUserSync, withUserSync } from '../tenancy/user-sync';
import type { ControlPlaneDeps } from './deps';
import { controlPlaneScopes } from './scope-resolver';
import { controlPlaneRegistry } from './metrics';

export interface ControlPlaneAppOptions {
  validateResponses?: boolean;
  /** The gateway's public URL: the hosted chat's origin (CORS) and redirect URIs (dev issuer). */
  gatewayUrl?: () => string;
}

export async function createControlPlaneApp(deps: ControlPlaneDeps, opts: ControlPlaneAppOptions = {}): Promise<ServiceApp> {
  const gatewayUrl = opts.gatewayUrl ?? (() => deps.config.urls.gateway);
  const configured = new Set(deps.config.cors.allowedOrigins);
  const devOidc = deps.identity.devIssuer ? createDevIssuerHandler(deps.identity.devIssuer) : undefined;
  // Browser sign-in at Keycloak's endpoints (development only), for the hosted chat's public client.
  const devLogin = deps.identity.devIssuer
    ? createDevLoginHandler(deps.identity.devIssuer, {
        audience: deps.config.oidc.audience,
        appEnv: deps.config.env,
        clients: () => {
          // The gateway's origin (and, for a local stack, its other loopback names: localhost / 127.0.0.1).
          const origins = loopbackAliases(new URL(gatewayUrl()).origin);
          return [{ clientId: deps.config.chat.clientId, redirectUris: origins.map((o) => `${o}/chat/*`), webOrigins: origins }];
        },
      })
    : undefined;
  // Presigned URLs of the embedded object store are served here (S3/MinIO serves its own).
  const objects = deps.objectStore instanceof LocalObjectStore ? localObjectRoute(deps.objectStore, deps.log) : undefined;
  return createServiceApp({
    name: 'control-plane',
    definition: loadDefinition(),
    handlers,
    deps,
    log: deps.log.child({ service: 'control-plane' }),
    validateResponses: opts.validateResponses,
    registry: controlPlaneRegistry(deps),
    // Anonymous catalog reads (public) and what the hosted chat reads (configured origins: the
    // gateway's own, where /chat/{instanceId} is served, and CORS_ALLOWED_ORIGINS).
    cors: { decider: { configured: (origin) => configured.has(origin) || loopbackAliases(new URL(gatewayUrl()).origin).includes(origin) } },
    scopes: controlPlaneScopes(deps.db),
    security: {
      // A user's first verified token also claims a workspace bought before they signed in.
      bearerAuth: withUserSync(bearerResolver(deps.identity.verifier), createUserSync(deps.db, { log: deps.log })),
      apiKeyAuth: apiKeyResolver(deps.db),
      argocdWebhookAuth: sharedTokenResolver({
        header: 'X-Argocd-Webhook-Token',
        token: deps.config.argocdWebhookToken,
        subject: 'argocd-notifications',
        roles: ['svc:argocd'],
        scheme: 'argocdWebhookAuth',
      }),
    },
    ready: async () => {
      await deps.db.raw('select 1');
    },
    extraRoutes: async (k) => {
      if (objects && (await objects(k))) return true;
      let answer = k.method === 'GET' ? devOidc?.(k.path) : undefined;
      if (!answer && devLogin && k.path.startsWith('/dev-oidc/')) {
        const form = k.method === 'POST' && k.is('application/x-www-form-urlencoded') ? new URLSearchParams((await readRawBody(k.req, 64 * 1024)).toString('utf8')) : undefined;
        answer = await devLogin({ method: k.method, path: k.path, query: new URLSearchParams(k.querystring), form, origin: k.get('Origin') || undefined });
      }
      if (!answer) return false;
      k.status = answer.status;
      k.set(answer.headers);
      k.body = answer.body;
      return true;
    },
  });
}
