import type { Knex } from 'knex';
import { isService, requireAccess } from '../control-plane/access';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import type { RequiredRole } from '../tenancy/roles';
import type { InstanceRow } from './rows';

export const instanceNotFound = () => new AppError('NOT_FOUND', 'Instance not found');

/**
 * Loads an instance the caller may see: a member of its project's org with `minRole`, an API key
 * of its project (limited to its instances when the key names some), or one of `services`.
 * Anything else — including another tenant's id — is 404.
 */
export async function loadInstance(
  db: Knex | Knex.Transaction,
  caller: Caller | undefined,
  instanceId: string,
  minRole: RequiredRole,
  services: string[] = [],
): Promise<InstanceRow> {
  const row: InstanceRow | undefined = await db('instances').where({ id: instanceId }).first();
  if (!row) throw instanceNotFound();
  if (services.some((s) => isService(caller, s))) return row;
  if (caller?.kind === 'api_key' && caller.instanceIds?.length && !caller.instanceIds.includes(row.id)) throw instanceNotFound();
  try {
    await requireAccess(db as Knex, caller, { orgId: row.org_id, projectId: row.project_id }, minRole);
  } catch (err) {
    if (err instanceof AppError && err.code === 'NOT_FOUND') throw instanceNotFound();
    throw err;
  }
  return row;
}
