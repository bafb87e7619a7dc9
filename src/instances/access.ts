import type { Knex } from 'knex';
import { AppError } from '../platform/errors';
import type { InstanceRow } from './rows';
import { InstanceModel } from './models';

export const instanceNotFound = () => new AppError('NOT_FOUND', 'Instance not found');

/**
 * The instance row. Who may reach it was decided before the handler ran (policy/, through the
 * operation's `x-scope`); this only reads it.
 */
export async function loadInstance(db: Knex | Knex.Transaction, instanceId: string): Promise<InstanceRow> {
  const row: InstanceRow | undefined = await InstanceModel.query(db).where({ id: instanceId }).first();
  if (!row) throw instanceNotFound();
  return row;
}
