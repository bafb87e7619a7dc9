import type { Knex } from 'knex';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import type { RequiredRole } from '../tenancy/roles';
import { isService, requireAccess } from './access';

/**
 * Checks the caller may see or change a wallet: members of its org (with `minRole`), or one of
 * the platform `services` named. Unknown and out-of-scope wallets both answer 404.
 */
export async function authorizeWallet(
  db: Knex,
  caller: Caller | undefined,
  walletId: string,
  minRole: RequiredRole,
  services: string[] = [],
): Promise<{ orgId: string; projectId: string | null }> {
  const row = await db('wallets').select('org_id', 'project_id').where({ id: walletId }).first();
  if (!row) throw new AppError('NOT_FOUND', 'Wallet not found');
  if (services.some((s) => isService(caller, s))) return { orgId: row.org_id, projectId: row.project_id };
  await requireAccess(db, caller, row.project_id ? { orgId: row.org_id, projectId: row.project_id } : { orgId: row.org_id }, minRole);
  return { orgId: row.org_id, projectId: row.project_id };
}
