import { loadDefinition } from '../../generated/gateway/api';
import { handlers } from '../../generated/gateway/handler-registry';
import { bearerResolver } from '../auth/bearer';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import type { GatewayDeps } from './deps';

export async function createGatewayApp(deps: GatewayDeps, opts: { validateResponses?: boolean } = {}): Promise<ServiceApp> {
  return createServiceApp({
    name: 'gateway',
    definition: loadDefinition(),
    handlers,
    deps,
    log: deps.log.child({ service: 'gateway' }),
    validateResponses: opts.validateResponses,
    security: {
      bearerAuth: bearerResolver(deps.identity.verifier),
    },
  });
}
