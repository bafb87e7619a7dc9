import { loadDefinition } from '../../generated/gateway/api';
import { handlers } from '../../generated/gateway/handler-registry';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import { cachingVerifier, gatewayApiKeyResolver, gatewayBearerResolver } from './auth';
import type { GatewayDeps } from './deps';
import { overheadMiddleware } from './overhead';

/**
 * The public gateway: the spec's operations (handlers/gateway/*), its three kinds of callers
 * (auth.ts), the gateway's metrics beside the platform's at `GET /metrics` (Prometheus; keep it
 * off the public ingress) and the overhead headers on every answer.
 */
export async function createGatewayApp(deps: GatewayDeps, opts: { validateResponses?: boolean } = {}): Promise<ServiceApp> {
  const { metrics } = deps;
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
  });
  // Outermost, so the overhead covers routing, validation and authentication too.
  app.koa.middleware.unshift(overheadMiddleware(metrics));
  return app;
}
