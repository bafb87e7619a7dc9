import type { Knex } from 'knex';
import { verifyApiKey } from '../tenancy/project-api-keys';
import type { SecurityResolver } from '../platform/http/create-service-app';

/** `X-Api-Key: ask_…` — a project API key, scoped to its project (and optionally instances). */
export function apiKeyResolver(db: Knex, scheme = 'apiKeyAuth'): SecurityResolver {
  return async ({ headers }) => {
    const presented = headers['x-api-key'];
    if (!presented) return undefined;
    const key = await verifyApiKey(db, presented);
    return {
      kind: 'api_key',
      subject: key.keyId,
      keyId: key.keyId,
      orgId: key.orgId,
      projectId: key.projectId,
      instanceIds: key.instanceIds,
      roles: new Set<string>(),
      scheme,
    };
  };
}
