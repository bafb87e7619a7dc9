import type { Knex } from 'knex';
import type { InstanceEvent, InstanceState } from '../../generated/control-plane/types';
import { newId } from '../platform/ids';
import { InstanceEventModel, InstanceModel } from './models';

export interface NewEvent {
  type: InstanceEvent['type'];
  from?: InstanceState | null;
  to: InstanceState;
  commit?: string | null;
  message?: string | null;
  actor: string;
}

/** Appends to an instance's history. The caller holds the instance row lock (seq is per instance). */
export async function recordEvent(trx: Knex.Transaction, instanceId: string, e: NewEvent, now = new Date()): Promise<void> {
  const last = await InstanceEventModel.query(trx).where({ instance_id: instanceId }).max('seq as max').first().castTo<{ max: number | null } | undefined>();
  await InstanceEventModel.query(trx).insert({
    id: newId('iev'),
    instance_id: instanceId,
    seq: (last?.max ?? 0) + 1,
    type: e.type,
    from_state: e.from ?? null,
    to_state: e.to,
    commit: e.commit ?? null,
    message: e.message ?? null,
    actor: e.actor,
    created_at: now,
  });
}

export async function lockInstance<T = import('./rows').InstanceRow>(trx: Knex.Transaction, instanceId: string): Promise<T | undefined> {
  return InstanceModel.query(trx).findById(instanceId).forUpdate().castTo<T | undefined>();
}
