import { loadDefinition } from '../../generated/gateway/api';
import { handlers } from '../../generated/gateway/handler-registry';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import { cachingVerifier, gatewayApiKeyResolver, gatewayBearerResolver } from './auth';
import type { GatewayDeps } from './deps';
import { gatewayCorsDecider } from './origins';
import { overheadMiddleware } from './overhead';
import { webPages } from './web-pages';

/**
 * The public gateway: the spec's operations (handlers/gateway/*), its three kinds of callers
 * (auth.ts), the gateway's metrics beside the platform's at `GET /metrics` (Prometheus; keep it
 * off the public ingress) and the overhead headers on every answer.
 */
export interface GatewayAppOptions {
  validateResponses?: boolean;
  /** The gateway's public URL (its origin serves the hosted chat); default API_BASE. */
  publicUrl?: () => string;
  /** Where browsers reach the Control Plane (hosted chat); default CP_BASE. */
  controlPlaneUrl?: () => string;
}

export async function createGatewayApp(deps: GatewayDeps, opts: GatewayAppOptions = {}): Promise<ServiceApp> {
  const { metrics } = deps;
  const publicUrl = opts.publicUrl ?? (() => deps.config.urls.gateway);
  // widget.js and the hosted chat page (web/dist, built by `npm run build:widget`).
  const pages = webPages({ config: deps.config, controlPlaneUrl: opts.controlPlaneUrl ?? (() => deps.config.urls.controlPlane) });
  const app = await createServiceApp({
    name: 'gateway',
    definition: loadDefinition(),
    handlers,
    deps,
    log: deps.log,
    validateResponses: opts.validateResponses,
    security: {
      bearerAuth: gatewayBearerResolver(cachingVerifier(deps.identity.verifier), deps.widgets),
      apiKeyAuth: gatewayApiKeyResolver(),
    },
    // GET /metrics (platform): the request metrics plus the gateway's own (metrics.ts).
    registry: metrics.registry,
    extraRoutes: pages,
    // Browser-facing operations (x-cors in the spec): widget pages, the hosted chat, consoles.
    cors: {
      decider: gatewayCorsDecider(deps, { publicOrigin: () => new URL(publicUrl()).origin }),
      alwaysExpose: ['X-Gateway-Overhead-Ms', 'Server-Timing'],
    },
  });
  // Outermost, so the overhead covers routing, validation and authentication too.
  app.koa.middleware.unshift(overheadMiddleware(metrics));
  return app;
}
