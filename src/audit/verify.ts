/**
 * Re-verifies an org's audit chain: every event's hash is recomputed from its content and its
 * predecessor's hash, seqs must run 1, 2, 3… without gaps, and (over the whole chain) the last
 * event must be the chain head the appends recorded — so an edited, removed or truncated event
 * is reported at the first link that breaks.
 */
import type { Knex } from 'knex';
import type { AuditVerifyReport } from '../../generated/control-plane/types';
import { one } from '../db/tx';
import { AUDIT_COLUMNS, GENESIS_HASH, hashEvent, toAuditEvent, type AuditRow } from './event';

export async function verifyChain(
  db: Knex,
  orgId: string,
  window: { from?: string | Date; to?: string | Date } = {},
  opts: { pageSize?: number; now?: () => Date } = {},
): Promise<AuditVerifyReport> {
  const pageSize = opts.pageSize ?? 1000;
  const windowed = window.from !== undefined || window.to !== undefined;
  let checkedCount = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let expectedPrev: string | null = null;
  let expectedSeq: number | null = null;
  let lastHash = GENESIS_HASH;
  let broken: AuditVerifyReport['firstBrokenLink'] = null;
  let after = 0;

  outer: for (;;) {
    const q = db('audit_events').select(db.raw(AUDIT_COLUMNS)).where('org_id', orgId).where('seq', '>', after);
    if (window.from) q.where('created_at', '>=', new Date(window.from));
    if (window.to) q.where('created_at', '<', new Date(window.to));
    const rows = (await q.orderBy('seq', 'asc').limit(pageSize)) as AuditRow[];
    for (const r of rows) {
      if (expectedSeq === null) {
        // The window's first event links to its predecessor (or to the genesis hash).
        firstSeq = r.seq;
        expectedSeq = windowed ? r.seq : 1;
        if (r.seq === 1) expectedPrev = GENESIS_HASH;
        else if (windowed) {
          const prev = await one<{ hash: string }>(db, `select hash from audit_events where org_id = ? and seq = ?`, [orgId, r.seq - 1]);
          expectedPrev = prev?.hash ?? null;
          if (!prev) {
            broken = { eventId: r.id, seq: r.seq, reason: 'sequence_gap' };
            break outer;
          }
        }
      }
      checkedCount++;
      lastSeq = r.seq;
      if (r.seq !== expectedSeq) {
        broken = { eventId: r.id, seq: r.seq, reason: 'sequence_gap' };
        break outer;
      }
      if (r.prev_hash !== expectedPrev) {
        broken = { eventId: r.id, seq: r.seq, reason: 'prev_hash_mismatch', expectedHash: expectedPrev ?? GENESIS_HASH, actualHash: r.prev_hash };
        break outer;
      }
      const { prevHash: _p, hash: _h, ...content } = toAuditEvent(r);
      const recomputed = hashEvent(r.prev_hash, content);
      if (recomputed !== r.hash) {
        broken = { eventId: r.id, seq: r.seq, reason: 'hash_mismatch', expectedHash: recomputed, actualHash: r.hash };
        break outer;
      }
      expectedPrev = r.hash;
      expectedSeq = r.seq + 1;
      lastHash = r.hash;
    }
    if (rows.length < pageSize) break;
    after = rows[rows.length - 1].seq;
  }

  if (!broken && !windowed) {
    // Removed tail events leave a chain that verifies on its own; the head remembers the end.
    const head = await one<{ last_seq: number; last_hash: string }>(db, `select last_seq, last_hash from audit_chain_heads where org_id = ?`, [orgId]);
    if (head && (head.last_seq !== (lastSeq ?? 0) || head.last_hash !== lastHash)) {
      broken = { eventId: 'missing', seq: (lastSeq ?? 0) + 1, reason: 'sequence_gap', expectedHash: head.last_hash, actualHash: lastHash };
    }
  }

  return {
    orgId,
    ok: broken === null,
    checkedCount,
    firstSeq,
    lastSeq,
    firstBrokenLink: broken,
    verifiedAt: (opts.now?.() ?? new Date()).toISOString(),
  };
}
