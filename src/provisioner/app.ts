import { loadDefinition } from '../../generated/provisioner/api';
import { handlers } from '../../generated/provisioner/handler-registry';
import { bearerResolver } from '../auth/bearer';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import type { ProvisionerDeps } from './deps';

/**
 * The Provisioner: Saleor webhooks in (authenticated by their signature inside the handler, on
 * the exact request bytes — `security: []` in the spec), Control Plane calls out, and the
 * operator endpoints over its dead-letter store (Keycloak bearer tokens).
 */
export async function createProvisionerApp(deps: ProvisionerDeps, opts: { validateResponses?: boolean } = {}): Promise<ServiceApp> {
  return createServiceApp({
    name: 'provisioner',
    definition: loadDefinition(),
    handlers,
    deps,
    log: deps.log.child({ service: 'provisioner' }),
    validateResponses: opts.validateResponses,
    // A large order (500 lines, legacy form) stays well within; a 413 would lose it for good.
    bodyLimitBytes: 4 * 1024 * 1024,
    security: {
      bearerAuth: bearerResolver(deps.identity.verifier),
    },
    ready: async () => {
      await deps.db.raw('select 1');
    },
  });
}
