import { loadDefinition } from '../../generated/connector-gateway/api';
import { handlers } from '../../generated/connector-gateway/handler-registry';
import { bearerResolver } from '../auth/bearer';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import type { ConnectorGatewayDeps } from './deps';

export async function createConnectorGatewayApp(deps: ConnectorGatewayDeps, opts: { validateResponses?: boolean } = {}): Promise<ServiceApp> {
  return createServiceApp({
    name: 'connector-gateway',
    definition: loadDefinition(),
    handlers,
    deps,
    log: deps.log.child({ service: 'connector-gateway' }),
    validateResponses: opts.validateResponses,
    security: {
      bearerAuth: bearerResolver(deps.identity.verifier),
    },
  });
}
