/**
 * Appending to an org's audit chain, inside the caller's transaction: the audited effect and its
 * event commit together or not at all.
 *
 * Appends of one org are serialized by a row lock on its chain head (`audit_chain_heads`), held
 * until the caller commits, so two concurrent appends can never take the same seq or prevHash
 * (a fork); the unique (org_id, seq) is the database's backstop. Record the event as the LAST
 * statement of the unit of work: the head lock is then always taken after the effect's own
 * locks (wallet, instance), which keeps the lock order fixed and the hold short.
 */
import { inTransaction, rows, type Db } from '../db/tx';
import { newId } from '../platform/ids';
import { GENESIS_HASH, hashEvent, redact, type AuditEvent, type AuditInput } from './event';

export async function recordAudit(db: Db, input: AuditInput): Promise<AuditEvent> {
  return (await recordAudits(db, [input]))[0]!;
}

/**
 * Appends many events in one unit of work: per org, one head lock, one multi-row insert and one
 * head update, the events chained in the order given. A batch of money operations records its
 * events this way, so the chain head is locked once per batch, not once per operation.
 */
export async function recordAudits(db: Db, inputs: readonly AuditInput[]): Promise<AuditEvent[]> {
  if (inputs.length === 0) return [];
  return inTransaction(db, async (trx) => {
    const out: AuditEvent[] = new Array(inputs.length);
    // Heads in org id order: two batches spanning the same orgs never deadlock. One statement
    // makes every head exist, locks them and reads them: an upsert that changes nothing still
    // takes the row lock (ON CONFLICT DO UPDATE) and returns the row as it is.
    const orgs = [...new Set(inputs.map((i) => i.orgId))].sort();
    const heads = await rows<{ org_id: string; last_seq: number; last_hash: string }>(
      trx,
      `insert into audit_chain_heads (org_id, last_seq, last_hash)
       select o, 0, ? from unnest(?::text[]) with ordinality as t(o, n) order by n
       on conflict (org_id) do update set last_seq = audit_chain_heads.last_seq
       returning org_id, last_seq, last_hash`,
      [GENESIS_HASH, orgs],
    );
    const chain = new Map(heads.map((h) => [h.org_id, { seq: h.last_seq, hash: h.last_hash, at: new Date() }]));
    const rowsToInsert: Record<string, unknown>[] = [];
    inputs.forEach((input, i) => {
      const head = chain.get(input.orgId)!;
      const at = input.at ?? new Date();
      const content = {
        id: newId('evt', at.getTime()),
        seq: ++head.seq,
        orgId: input.orgId,
        projectId: input.projectId ?? null,
        action: input.action,
        resourceType: input.resourceType,
        resourceId: input.resourceId,
        actor: { type: input.actor.type, id: input.actor.id },
        requestId: input.requestId ?? null,
        data: redact(input.data),
        createdAt: at.toISOString(),
      };
      const prevHash = head.hash;
      const hash = hashEvent(prevHash, content);
      rowsToInsert.push({
        id: content.id,
        org_id: content.orgId,
        project_id: content.projectId,
        seq: content.seq,
        action: content.action,
        resource_type: content.resourceType,
        resource_id: content.resourceId,
        actor_type: content.actor.type,
        actor_id: content.actor.id,
        request_id: content.requestId,
        data: JSON.stringify(content.data),
        created_at: at,
        prev_hash: prevHash,
        hash,
      });
      out[i] = { ...content, prevHash, hash };
      head.hash = hash;
      head.at = at;
    });
    // The events and every head's move in one statement.
    const insert = trx('audit_events').insert(rowsToInsert).toSQL();
    const moved = orgs.map((o) => chain.get(o)!);
    await trx.raw(
      `with appended as (${insert.sql} returning 1)
       update audit_chain_heads h set last_seq = v.seq, last_hash = v.hash, updated_at = v.at
         from unnest(?::text[], ?::bigint[], ?::text[], ?::timestamptz[]) as v(org_id, seq, hash, at)
        where h.org_id = v.org_id`,
      [...insert.bindings, orgs, moved.map((h) => h.seq), moved.map((h) => h.hash), moved.map((h) => h.at)],
    );
    return out;
  });
}
