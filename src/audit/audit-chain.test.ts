/**
 * The audit chain in the database: append-only, one linear chain per org even under concurrent
 * appends, tampering found at the first broken link, exports in both formats, no secrets.
 * Runs on PGlite, and on PostgreSQL (real concurrency) when TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import type { ToolServiceOptions } from '../connector-gateway/tools';
import { newId } from '../platform/ids';
import { auditConnectorBindingChange, csvField, exportAuditEvents, listAuditEvents, recordAudit, recordAudits, redact, toolCallAuditor, verifyChain, type AuditInput } from './index';

const event = (orgId: string, n: number, extra: Partial<AuditInput> = {}): AuditInput => ({
  orgId,
  projectId: null,
  action: 'instance.paused',
  resourceType: 'instance',
  resourceId: `inst_TEST${String(n).padStart(8, '0')}`,
  actor: { type: 'user', id: 'user-1' },
  data: { instanceId: `inst_TEST${String(n).padStart(8, '0')}`, n },
  ...extra,
});

/** Edits rows as a superuser could: with the append-only trigger switched off for a moment. */
async function tamper(t: TestDb, sql: string, bindings: unknown[]): Promise<void> {
  await t.db.transaction(async (trx) => {
    await trx.raw('alter table audit_events disable trigger audit_events_append_only');
    await trx.raw(sql, bindings as never[]);
    await trx.raw('alter table audit_events enable trigger audit_events_append_only');
  });
}

describe('audit chain', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('links each org’s events in one chain: seq 1, 2, 3…, prevHash = the previous hash; a clean chain verifies', async () => {
    const orgId = newId('org');
    const other = newId('org');
    const a = await recordAudit(t.db, event(orgId, 1));
    await recordAudit(t.db, event(other, 1));
    const b = await recordAudit(t.db, event(orgId, 2));
    assert.equal(a.seq, 1);
    assert.equal(a.prevHash, '0'.repeat(64));
    assert.equal(b.seq, 2);
    assert.equal(b.prevHash, a.hash);
    const report = await verifyChain(t.db, orgId);
    assert.deepEqual({ ok: report.ok, checkedCount: report.checkedCount, firstSeq: report.firstSeq, lastSeq: report.lastSeq, broken: report.firstBrokenLink }, { ok: true, checkedCount: 2, firstSeq: 1, lastSeq: 2, broken: null });
    assert.equal((await verifyChain(t.db, other)).checkedCount, 1);
  });

  it('appends many orgs\' events in one call, interleaved, each org\'s chain in order; concurrent calls over the same orgs never fork', async () => {
    const orgs = [newId('org'), newId('org'), newId('org')];
    const first = await recordAudits(t.db, [event(orgs[2]!, 1), event(orgs[0]!, 1), event(orgs[2]!, 2), event(orgs[1]!, 1), event(orgs[0]!, 2)]);
    assert.deepEqual(first.map((e) => [orgs.indexOf(e.orgId), e.seq]), [[2, 1], [0, 1], [2, 2], [1, 1], [0, 2]]);
    assert.equal(first[2]!.prevHash, first[0]!.hash);
    // Concurrent appends over overlapping orgs (given in different orders): one chain per org, no gap, no fork.
    await Promise.all(Array.from({ length: 12 }, (_, i) => recordAudits(t.db, (i % 2 ? [...orgs].reverse() : orgs).map((o, k) => event(o, 10 + i * 3 + k)))));
    for (const o of orgs) {
      const report = await verifyChain(t.db, o);
      assert.equal(report.ok, true, JSON.stringify(report.firstBrokenLink));
      assert.equal(report.lastSeq, report.checkedCount);
    }
    assert.deepEqual((await Promise.all(orgs.map((o) => verifyChain(t.db, o)))).map((r) => r.checkedCount), [14, 13, 14]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of audit events in the database', async () => {
    const orgId = newId('org');
    await recordAudit(t.db, event(orgId, 1));
    await assert.rejects(t.db.raw(`update audit_events set action = 'x' where org_id = ?`, [orgId]), /append-only: UPDATE refused/);
    await assert.rejects(t.db.raw(`delete from audit_events where org_id = ?`, [orgId]), /append-only: DELETE refused/);
    await assert.rejects(t.db.raw(`delete from audit_events where false`), /append-only: DELETE refused/);
    await assert.rejects(t.db.raw(`truncate audit_events`), /append-only: TRUNCATE refused/);
    assert.equal((await verifyChain(t.db, orgId)).ok, true);
  });

  it('reports an edited event as the first broken link (hash_mismatch), with expected vs actual hash', async () => {
    const orgId = newId('org');
    const evs = [];
    for (let i = 1; i <= 5; i++) evs.push(await recordAudit(t.db, event(orgId, i)));
    await tamper(t, `update audit_events set data = jsonb_set(data, '{n}', '999') where id = ?`, [evs[2].id]);
    const report = await verifyChain(t.db, orgId);
    assert.equal(report.ok, false);
    assert.equal(report.firstBrokenLink?.reason, 'hash_mismatch');
    assert.equal(report.firstBrokenLink?.seq, 3);
    assert.equal(report.firstBrokenLink?.eventId, evs[2].id);
    assert.equal(report.firstBrokenLink?.actualHash, evs[2].hash);
    assert.notEqual(report.firstBrokenLink?.expectedHash, evs[2].hash);
    assert.equal(report.checkedCount, 3);
  });

  it('an edit that also rewrites the event’s own hash breaks the next link (prev_hash_mismatch)', async () => {
    const orgId = newId('org');
    const evs = [];
    for (let i = 1; i <= 4; i++) evs.push(await recordAudit(t.db, event(orgId, i)));
    await tamper(t, `update audit_events set actor_id = 'someone-else', hash = ? where id = ?`, ['f'.repeat(64), evs[1].id]);
    // seq 2 itself no longer hashes to 'fff…' either: the first broken link is seq 2.
    assert.equal((await verifyChain(t.db, orgId)).firstBrokenLink?.seq, 2);
    // A forger who recomputes seq 2's hash correctly still breaks seq 3's back-link.
    const { hashEvent } = await import('./event');
    const [row] = (await t.db.raw(`select * from audit_events where id = ?`, [evs[1].id])).rows;
    const recomputed = hashEvent(row.prev_hash, { ...evs[1], actor: { type: 'user', id: 'someone-else' } });
    await tamper(t, `update audit_events set hash = ? where id = ?`, [recomputed, evs[1].id]);
    const report = await verifyChain(t.db, orgId);
    assert.equal(report.firstBrokenLink?.reason, 'prev_hash_mismatch');
    assert.equal(report.firstBrokenLink?.seq, 3);
    assert.equal(report.firstBrokenLink?.expectedHash, recomputed);
    assert.equal(report.firstBrokenLink?.actualHash, evs[1].hash);
  });

  it('a removed event is a sequence gap; a removed tail is caught by the chain head', async () => {
    const orgId = newId('org');
    const evs = [];
    for (let i = 1; i <= 4; i++) evs.push(await recordAudit(t.db, event(orgId, i)));
    await tamper(t, `delete from audit_events where id = ?`, [evs[3].id]);
    const tail = await verifyChain(t.db, orgId);
    assert.equal(tail.ok, false);
    assert.equal(tail.firstBrokenLink?.reason, 'sequence_gap');
    assert.equal(tail.firstBrokenLink?.seq, 4);
    await tamper(t, `delete from audit_events where id = ?`, [evs[1].id]);
    const gap = await verifyChain(t.db, orgId);
    assert.deepEqual([gap.firstBrokenLink?.reason, gap.firstBrokenLink?.seq, gap.firstBrokenLink?.eventId], ['sequence_gap', 3, evs[2].id]);
  });

  it('verifies a time window, linking its first event to the one before', async () => {
    const orgId = newId('org');
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 1; i <= 6; i++) await recordAudit(t.db, event(orgId, i, { at: new Date(t0 + i * 60_000) }));
    const w = await verifyChain(t.db, orgId, { from: new Date(t0 + 3 * 60_000), to: new Date(t0 + 5 * 60_000) });
    assert.deepEqual([w.ok, w.checkedCount, w.firstSeq, w.lastSeq], [true, 2, 3, 4]);
  });

  it('concurrent appends of one org keep one linear chain (no two events share a seq or a prevHash)', async () => {
    const orgId = newId('org');
    const n = 40;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        t.db.transaction(async (trx) => {
          await trx.raw('select pg_sleep(?)', [(i % 5) / 1000]);
          await recordAudit(trx, event(orgId, i));
        }),
      ),
    );
    const rows = (await t.db.raw(`select seq, prev_hash, hash from audit_events where org_id = ? order by seq`, [orgId])).rows;
    assert.deepEqual(rows.map((r: { seq: number }) => r.seq), Array.from({ length: n }, (_, i) => i + 1));
    assert.equal(new Set(rows.map((r: { prev_hash: string }) => r.prev_hash)).size, n);
    const report = await verifyChain(t.db, orgId, {}, { pageSize: 7 });
    assert.equal(report.ok, true, JSON.stringify(report.firstBrokenLink));
    assert.equal(report.checkedCount, n);
    console.log(`# ${n} concurrent appends on ${t.engine}: one chain of ${rows.length}`);
  });

  it('an append rolled back with its transaction leaves no event and no gap', async () => {
    const orgId = newId('org');
    await recordAudit(t.db, event(orgId, 1));
    await assert.rejects(
      t.db.transaction(async (trx) => {
        await recordAudit(trx, event(orgId, 2));
        throw new Error('the audited effect failed');
      }),
      /effect failed/,
    );
    const next = await recordAudit(t.db, event(orgId, 3));
    assert.equal(next.seq, 2);
    assert.equal((await verifyChain(t.db, orgId)).ok, true);
  });

  it('lists newest first with filters and a cursor; exports CSV (RFC 4180) and NDJSON oldest first', async () => {
    const orgId = newId('org');
    await recordAudit(t.db, event(orgId, 1, { action: 'instance.created' }));
    await recordAudit(t.db, event(orgId, 2, { action: 'wallet.topup', resourceType: 'wallet', resourceId: 'wal_TEST00000001', data: { walletId: 'wal_TEST00000001', note: 'a "quoted", multi\nline note' } }));
    await recordAudit(t.db, event(orgId, 3, { action: 'instance.paused' }));
    const p1 = await listAuditEvents(t.db, { orgId, limit: 2 });
    assert.deepEqual(p1.items.map((e) => e.seq), [3, 2]);
    const p2 = await listAuditEvents(t.db, { orgId, limit: 2, cursor: p1.nextCursor! });
    assert.deepEqual(p2.items.map((e) => e.seq), [1]);
    assert.equal(p2.nextCursor, null);
    assert.deepEqual((await listAuditEvents(t.db, { orgId, action: 'instance.' })).items.map((e) => e.seq), [3, 1]);
    assert.deepEqual((await listAuditEvents(t.db, { orgId, resourceId: 'wal_TEST00000001' })).items.map((e) => e.seq), [2]);
    assert.deepEqual((await listAuditEvents(t.db, { orgId, resourceId: 'inst_TEST00000003' })).items.map((e) => e.seq), [3]);

    const nd = await exportAuditEvents(t.db, { orgId }, 'ndjson');
    const lines = nd.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => e.seq), [1, 2, 3]);
    assert.equal(lines[1].data.note, 'a "quoted", multi\nline note');

    const csv = await exportAuditEvents(t.db, { orgId }, 'csv');
    const [header] = csv.split('\r\n');
    assert.equal(header, 'id,seq,createdAt,orgId,projectId,action,resourceType,resourceId,actorType,actorId,requestId,data,prevHash,hash');
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\r\nlines'), '"two\r\nlines"');
    assert.equal(csvField(null), '');
    assert.equal(parseCsv(csv).length, 4, 'header + 3 records, whatever the quoting');
    assert.equal(parseCsv(csv)[2][11], JSON.stringify(lines[1].data));
  });

  it('hooks: a connector binding change and a tool call land in the chain, found by their instance', async () => {
    const orgId = newId('org');
    await auditConnectorBindingChange(t.db, { orgId, projectId: null, bindingId: 'cbd_TEST00000001', change: 'created', connectorId: 'zendesk', instanceId: 'inst_TEST00000009', actor: { type: 'user', id: 'u1' }, data: { allowedTools: ['zendesk.search'], credentials: { apiToken: 'never' } } });
    const onToolCall: ToolServiceOptions['onToolCall'] = toolCallAuditor(t.db); // plugs into the Connector Gateway as is
    assert.ok(onToolCall);
    const id = await toolCallAuditor(t.db)({ requestId: 'req-1', orgId, projectId: 'prj_TEST00000001', instanceId: 'inst_TEST00000009', tool: 'zendesk.search', bindingId: 'cbd_TEST00000001', connectorId: 'zendesk', kind: 'read', method: 'GET', host: 'example.zendesk.com', outcome: 'ok', status: 200, attempts: 1, durationMs: 12 });
    const page = await listAuditEvents(t.db, { orgId, resourceId: 'inst_TEST00000009' });
    assert.deepEqual(page.items.map((e) => e.action), ['tool.invoked', 'connector.binding_created']);
    assert.equal(page.items[0].id, id);
    assert.deepEqual([page.items[0].actor.id, page.items[0].data.outcome, page.items[0].data.host], ['service:connector-gateway', 'succeeded', 'example.zendesk.com']);
    assert.ok(!JSON.stringify(page.items).includes('never'), 'credentials are never recorded');
  });

  it('drops secret-named fields from data, at any depth', async () => {
    const clean = redact({ apiKeyId: 'key_1', secret: 's', token: 't', nested: { clientSecret: 'c', password: 'p', tokens_in: 5, access_token: 'x' }, list: [{ apiKey: 'k', name: 'ok' }] });
    assert.deepEqual(clean, { apiKeyId: 'key_1', nested: { tokens_in: 5 }, list: [{ name: 'ok' }] });
  });
});

/** A small RFC 4180 reader, to prove the export parses back. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let rec: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') rec.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      rec.push(field), records.push(rec), (rec = []), (field = ''), i++;
    } else field += c;
  }
  return records;
}
