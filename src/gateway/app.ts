import { loadDefinition } from '../../generated/gateway/api';
import { handlers } from '../../generated/gateway/handler-registry';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import { gatewayApiKeyResolver, gatewayBearerResolver } from './auth';
import type { GatewayDeps } from './deps';
import { overheadMiddleware } from './overhead';

/**
 * The public gateway: the spec's operations (handlers/gateway/*), its three kinds of callers
 * (auth.ts), `GET /metrics` (Prometheus; keep it off the public ingress) and the overhead header
 * on every answer.
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
      bearerAuth: gatewayBearerResolver(deps.identity.verifier, deps.widgets),
      apiKeyAuth: gatewayApiKeyResolver(),
    },
    extraRoutes: async (k) => {
      if (k.method !== 'GET' || k.path !== '/metrics') return false;
      k.type = metrics.registry.contentType;
      k.body = await metrics.registry.metrics();
      return true;
    },
    onResponse: ({ operationId, status }) => metrics.requests.inc({ operation: operationId, status: String(status) }),
  });
  // Outermost, so the overhead covers routing, validation and authentication too.
  app.koa.middleware.unshift(overheadMiddleware(metrics));
  return app;
}
