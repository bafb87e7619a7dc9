import { loadDefinition } from '../../generated/runner/api';
import { handlers } from '../../generated/runner/handler-registry';
import { bearerResolver } from '../auth/bearer';
import { createServiceApp, type ServiceApp } from '../platform/http/create-service-app';
import type { RunnerDeps } from './deps';

export async function createRunnerApp(deps: RunnerDeps, opts: { validateResponses?: boolean } = {}): Promise<ServiceApp> {
  return createServiceApp({
    name: 'runner',
    definition: loadDefinition(),
    handlers,
    deps,
    log: deps.log.child({ service: 'runner' }),
    validateResponses: opts.validateResponses,
    security: {
      bearerAuth: bearerResolver(deps.identity.verifier),
    },
  });
}
