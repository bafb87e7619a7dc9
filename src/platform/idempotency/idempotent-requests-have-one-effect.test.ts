/**
 * One Idempotency-Key, one effect: replays answer the first response, a different payload is
 * refused, concurrent duplicates never produce two effects, a failed effect frees the key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb, type TestDb } from '../../../test/support/db';
import { codeOf, walletWith } from '../../../test/support/money';
import { getWallet, history, topUp } from '../../money/wallets';
import { canonicalJson, hashRequest, purgeExpiredIdempotencyKeys, runIdempotent } from './index';

describe('idempotent requests have one effect', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  const topUpOnce = (walletId: string, key: string, amount: number, opts: { waitMs?: number } = {}) =>
    runIdempotent(
      t.db,
      { scope: `org_1:topup`, key, requestHash: hashRequest({ walletId, amount }), ...opts },
      async (trx) => {
        const r = await topUp(trx, { walletId, amount, creditType: 'paid', reference: `idem:${key}` });
        return { status: 201, body: { ledgerEntryId: r.ledgerEntryId, balance: r.wallet.balance }, headers: { location: `/x/${r.ledgerEntryId}` } };
      },
    );

  it('hashes canonical JSON: key order does not matter, values do', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
    assert.equal(hashRequest({ a: 1, b: 2 }), hashRequest({ b: 2, a: 1 }));
    assert.notEqual(hashRequest({ a: 1 }), hashRequest({ a: 2 }));
    assert.match(hashRequest(null), /^[0-9a-f]{64}$/);
  });

  it('replays the first response (with replayed: true) for the same key and payload', async () => {
    const w = await walletWith(t.db, { starterCredits: 0 });
    const first = await topUpOnce(w.id, 'k-replay', 30);
    const second = await topUpOnce(w.id, 'k-replay', 30);
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(second.status, 201);
    assert.deepEqual(second.body, first.body);
    assert.deepEqual(second.headers, first.headers);
    assert.equal((await getWallet(t.db, w.id)).balance, 30);
  });

  it('answers IDEMPOTENCY_PAYLOAD_MISMATCH (409) for the same key with another payload', async () => {
    const w = await walletWith(t.db, { starterCredits: 0 });
    await topUpOnce(w.id, 'k-mismatch', 30);
    const err = await topUpOnce(w.id, 'k-mismatch', 31).then(() => ({ code: 'none', status: 0 }), (e: unknown) => e as { code: string; status: number });
    assert.equal(err.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
    assert.equal(err.status, 409);
    assert.equal((await getWallet(t.db, w.id)).balance, 30);
  });

  it('turns 20 concurrent duplicates into one effect and 19 replays', async () => {
    const w = await walletWith(t.db, { starterCredits: 0 });
    const results = await Promise.all(Array.from({ length: 20 }, () => topUpOnce(w.id, 'k-concurrent', 7)));
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    assert.equal(new Set(results.map((r) => canonicalJson(r.body))).size, 1);
    assert.equal((await getWallet(t.db, w.id)).balance, 7);
    const credits = (await history(t.db, { walletId: w.id })).items.filter((e) => e.kind === 'topup');
    assert.equal(credits.length, 1);
  });

  it('rolls the key back with a failed effect, so a retry succeeds', async () => {
    const w = await walletWith(t.db, { starterCredits: 0 });
    let attempts = 0;
    const flaky = () =>
      runIdempotent(t.db, { scope: 'org_1:topup', key: 'k-flaky', requestHash: hashRequest({ w: w.id }) }, async (trx) => {
        attempts++;
        await topUp(trx, { walletId: w.id, amount: 9, creditType: 'paid' });
        if (attempts === 1) throw new Error('runtime crashed after the write');
        return { status: 200, body: { ok: true } };
      });
    await assert.rejects(flaky(), /runtime crashed/);
    assert.equal((await getWallet(t.db, w.id)).balance, 0);
    const retry = await flaky();
    assert.equal(retry.replayed, false);
    assert.equal((await getWallet(t.db, w.id)).balance, 9);
    assert.equal((await flaky()).replayed, true);
  });

  it('inside a caller transaction, a failed effect rolls back to its savepoint only', async () => {
    const w = await walletWith(t.db, { starterCredits: 0 });
    await t.db.transaction(async (trx) => {
      await topUp(trx, { walletId: w.id, amount: 1, creditType: 'paid' });
      await assert.rejects(
        runIdempotent(trx, { scope: 's', key: 'k-nested', requestHash: 'h' }, async (inner) => {
          await topUp(inner, { walletId: w.id, amount: 100, creditType: 'paid' });
          throw new Error('nope');
        }),
        /nope/,
      );
      const ok = await runIdempotent(trx, { scope: 's', key: 'k-nested', requestHash: 'h' }, async () => ({ status: 204, body: null }));
      assert.equal(ok.replayed, false);
    });
    assert.equal((await getWallet(t.db, w.id)).balance, 1);
  });

  it('makes a concurrent duplicate wait for the first (PGlite) or answer IDEMPOTENCY_IN_PROGRESS past its wait (PostgreSQL)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    let effects = 0;
    const slow = runIdempotent(t.db, { scope: 's', key: 'k-slow', requestHash: 'h' }, async () => {
      effects++;
      started();
      await gate;
      return { status: 200, body: { n: 1 } };
    });
    await isStarted;
    const dup = runIdempotent(t.db, { scope: 's', key: 'k-slow', requestHash: 'h', waitMs: 200 }, async () => {
      effects++;
      return { status: 200, body: { n: 2 } };
    });
    if (t.engine === 'postgres') {
      assert.equal(await codeOf(() => dup), 'IDEMPOTENCY_IN_PROGRESS');
      release();
      assert.equal((await slow).replayed, false);
    } else {
      setTimeout(release, 300); // one connection: the duplicate queues behind the first
      const [a, b] = await Promise.all([slow, dup]);
      assert.equal(a.replayed, false);
      assert.equal(b.replayed, true);
      assert.deepEqual(b.body, { n: 1 });
    }
    assert.equal(effects, 1);
    const later = await runIdempotent(t.db, { scope: 's', key: 'k-slow', requestHash: 'h' }, async () => ({ status: 500, body: null }));
    assert.equal(later.replayed, true);
  });

  it('forgets keys after their TTL, and the sweeper purges them', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const day = 24 * 3600 * 1000;
    let runs = 0;
    const call = (now: Date) =>
      runIdempotent(t.db, { scope: 'ttl', key: 'k-ttl', requestHash: 'h', now }, async () => ({ status: 200, body: { run: ++runs } }));
    assert.equal((await call(t0)).replayed, false);
    assert.equal((await call(new Date(t0.getTime() + 6 * day))).replayed, true);
    const afterWeek = await call(new Date(t0.getTime() + 7 * day + 1));
    assert.equal(afterWeek.replayed, false);
    assert.deepEqual(afterWeek.body, { run: 2 });
    await runIdempotent(t.db, { scope: 'ttl', key: 'k-short', requestHash: 'h', now: t0, ttlSeconds: 60 }, async () => ({ status: 200, body: null }));
    const purged = await purgeExpiredIdempotencyKeys(t.db, { now: new Date(t0.getTime() + 61_000) });
    assert.ok(purged >= 1);
    const [{ n }] = (await t.db.raw(`select count(*) as n from idempotency_keys where key = 'k-short'`)).rows;
    assert.equal(n, 0);
  });

  it('refuses an empty or oversized key', async () => {
    assert.equal(await codeOf(() => runIdempotent(t.db, { scope: 's', key: '', requestHash: 'h' }, async () => ({ status: 200, body: null }))), 'VALIDATION_FAILED');
    assert.equal(await codeOf(() => runIdempotent(t.db, { scope: 's', key: 'x'.repeat(256), requestHash: 'h' }, async () => ({ status: 200, body: null }))), 'VALIDATION_FAILED');
  });
});
