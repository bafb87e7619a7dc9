/**
 * `credits_wallet.depletionPolicy: suspend`: an instance whose wallet has run dry is suspended
 * (state `paused`, `suspended_for_credits`), and the next credit into that wallet — a top-up, a
 * credit pack, a plan's included credits — resumes it. Under `block` the instance stays active
 * and only its runs are refused; `suspend` also takes it off the gateway (widget sessions, runs)
 * until the wallet is funded, and tells the buyer why in its events and audit log.
 *
 * Both sides run under the wallet's row lock (authorize holds it when it finds the wallet at
 * zero; a top-up's UPDATE takes it), so a suspension and a resumption never cross: a top-up that
 * commits first is seen by the authorize (balance > 0, no suspension), one that commits after
 * resumes what the authorize suspended. Lock order is wallet, then instance, as everywhere.
 * The desired state follows through the provisioner's sweep (`generation` is bumped).
 */
import type { Knex } from 'knex';
import { recordAudit } from '../audit';
import { rows, type Db } from '../db/tx';
import { newId } from '../platform/ids';
import { notifyOrg } from '../notifications/outbox';

interface SuspendedRow {
  id: string;
  org_id: string;
  project_id: string;
  generation: number;
}

async function event(db: Db, instanceId: string, type: 'paused' | 'resumed', from: string, to: string, message: string, at: Date): Promise<void> {
  await (db as Knex).raw(
    `insert into instance_events (id, instance_id, seq, type, from_state, to_state, message, actor, created_at)
     select ?, ?, coalesce(max(seq), 0) + 1, ?, ?, ?, ?, 'control-plane', ? from instance_events where instance_id = ?`,
    [newId('iev', at.getTime()), instanceId, type, from, to, message, at, instanceId],
  );
}

/**
 * Suspends the instance (active → paused) because its wallet is empty. The caller holds the
 * wallet's row lock. Returns whether it changed anything.
 */
export async function suspendForCredits(trx: Db, instanceId: string, walletId: string, now: Date): Promise<boolean> {
  const changed = await rows<SuspendedRow>(
    trx,
    `update instances set state = 'paused', suspended_for_credits = true, generation = generation + 1, updated_at = ?
      where id = ? and wallet_id = ? and state = 'active' returning id, org_id, project_id, generation`,
    [now, instanceId, walletId],
  );
  for (const r of changed) {
    await event(trx, r.id, 'paused', 'active', 'paused', 'credits depleted (depletionPolicy: suspend); a top-up resumes it', now);
    await recordAudit(trx, {
      orgId: r.org_id,
      projectId: r.project_id,
      action: 'instance.suspended',
      resourceType: 'instance',
      resourceId: r.id,
      actor: { type: 'system', id: 'control-plane' },
      data: { instanceId: r.id, walletId, reason: 'credits_depleted', from: 'active', to: 'paused' },
      at: now,
    });
    await notifyOrg(trx, {
      orgId: r.org_id,
      kind: 'instance.suspended_for_credits',
      dedupeKey: `instance.suspended_for_credits:${r.id}:${r.generation}`,
      at: now,
      data: { instanceId: r.id, orgId: r.org_id, projectId: r.project_id, walletId, reason: 'credits_depleted', state: 'paused' },
    });
  }
  return changed.length > 0;
}

/**
 * A charge (or a plan period's expiry) brought the wallet to zero: suspends its active instances
 * whose effective config says `credits_wallet.depletionPolicy: suspend` (others keep running into
 * refusals, or overage). The caller holds the wallet's row lock. Answers the instances suspended.
 */
export async function suspendDepletedWallet(trx: Db, walletId: string, now: Date): Promise<string[]> {
  const candidates = await rows<{ id: string }>(
    trx,
    `select id from instances where wallet_id = ? and state = 'active' and effective_config -> 'credits_wallet' ->> 'depletionPolicy' = 'suspend' order by id`,
    [walletId],
  );
  const out: string[] = [];
  for (const c of candidates) if (await suspendForCredits(trx, c.id, walletId, now)) out.push(c.id);
  return out;
}

/** Resumes every instance suspended for credits on the wallet (after a credit into it). */
export async function resumeSuspendedForCredits(db: Db, walletId: string, now: Date): Promise<string[]> {
  const changed = await rows<SuspendedRow>(
    db,
    `update instances set state = 'active', suspended_for_credits = false, generation = generation + 1, updated_at = ?
      where wallet_id = ? and suspended_for_credits and state = 'paused' returning id, org_id, project_id, generation`,
    [now, walletId],
  );
  for (const r of changed) {
    await event(db, r.id, 'resumed', 'paused', 'active', 'credits added to the wallet', now);
    await recordAudit(db, {
      orgId: r.org_id,
      projectId: r.project_id,
      action: 'instance.resumed',
      resourceType: 'instance',
      resourceId: r.id,
      actor: { type: 'system', id: 'control-plane' },
      data: { instanceId: r.id, walletId, reason: 'credits_added', from: 'paused', to: 'active' },
      at: now,
    });
  }
  return changed.map((r) => r.id);
}
