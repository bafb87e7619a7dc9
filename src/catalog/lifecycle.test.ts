import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OfferingLifecycle } from '../../generated/control-plane/types';
import { listing, minimalFlow, offeringIn, testCatalog, validCapabilities, validPlans, type TestCatalog } from '../../test/support/catalog';
import { openTestDb, type TestDb } from '../../test/support/db';
import { AppError } from '../platform/errors';
import { getOffering, transitionOffering, createOffering } from './offerings';
import { certifyVersion, createVersion } from './versions';

let tdb: TestDb;
let cat: TestCatalog;
before(async () => {
  tdb = await openTestDb();
  cat = testCatalog();
});
after(async () => {
  await tdb?.close();
  cat?.close();
});

const STATES: OfferingLifecycle[] = ['draft', 'published', 'paused', 'eos', 'eol'];
/** The table the API promises (spec: transitionOffering), written out independently of the code. */
const LEGAL = new Set(['draft>published', 'published>paused', 'published>eos', 'paused>published', 'paused>eos', 'paused>draft', 'eos>eol']);

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

describe('offering lifecycle', () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const legal = LEGAL.has(`${from}>${to}`);
      test(`${from} → ${to} ${legal ? 'is allowed' : 'answers 409 ILLEGAL_TRANSITION with from, to and allowed'}`, async () => {
        const { offering } = await offeringIn(cat.env, tdb.db, from);
        if (legal) {
          const moved = await transitionOffering(cat.env, tdb.db, offering.id, { to, reason: 'test' }, 'tester');
          assert.equal(moved.lifecycle, to);
          assert.equal((await getOffering(tdb.db, offering.id, true)).lifecycle, to);
        } else {
          await assert.rejects(transitionOffering(cat.env, tdb.db, offering.id, { to }, 'tester'), (e: unknown) => {
            assert.ok(e instanceof AppError);
            assert.equal(e.code, 'ILLEGAL_TRANSITION');
            assert.equal(e.status, 409);
            assert.equal(e.details?.from, from);
            assert.equal(e.details?.to, to);
            assert.ok(Array.isArray(e.details?.allowed));
            return true;
          });
          assert.equal((await getOffering(tdb.db, offering.id, true)).lifecycle, from, 'state unchanged');
        }
      });
    }
  }

  test('publishing without a certified version answers 422 UNPROCESSABLE', async () => {
    const o = await createOffering(cat.env, tdb.db, listing(), 'tester');
    await assert.rejects(transitionOffering(cat.env, tdb.db, o.id, { to: 'published' }, 'tester'), code('UNPROCESSABLE'));
    const v = await createVersion(cat.env, tdb.db, o.id, { version: '1.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans, source: 'api' }, 'tester');
    await assert.rejects(transitionOffering(cat.env, tdb.db, o.id, { to: 'published', versionId: v.id }, 'tester'), code('UNPROCESSABLE'));
    await certifyVersion(cat.env, tdb.db, o.id, v.id);
    const live = await transitionOffering(cat.env, tdb.db, o.id, { to: 'published' }, 'tester');
    assert.equal(live.publishedVersionId, v.id);
    assert.deepEqual(live.capabilities, validCapabilities.map((c) => c.id));
    assert.deepEqual(live.plans.map((p) => p.id), ['starter', 'pro']);
  });

  test('a version of another offering cannot be published here (422)', async () => {
    const a = await offeringIn(cat.env, tdb.db, 'draft');
    const b = await offeringIn(cat.env, tdb.db, 'draft');
    await assert.rejects(transitionOffering(cat.env, tdb.db, a.offering.id, { to: 'published', versionId: b.versionId }, 'tester'), code('UNPROCESSABLE'));
  });

  test('published → published switches the live version only when another certified version is named', async () => {
    const { offering, versionId } = await offeringIn(cat.env, tdb.db, 'published');
    await assert.rejects(transitionOffering(cat.env, tdb.db, offering.id, { to: 'published', versionId }, 'tester'), code('ILLEGAL_TRANSITION'));
    const v2 = await createVersion(cat.env, tdb.db, offering.id, { version: '2.0.0', flow: minimalFlow({ name: 'v2' }), capabilities: [{ id: 'chat_ui', v: 1 }, { id: 'credits_wallet', v: 1 }], plans: validPlans, source: 'api' }, 'tester');
    await certifyVersion(cat.env, tdb.db, offering.id, v2.id);
    const switched = await transitionOffering(cat.env, tdb.db, offering.id, { to: 'published', versionId: v2.id }, 'tester');
    assert.equal(switched.publishedVersionId, v2.id);
    assert.deepEqual(switched.capabilities, ['chat_ui', 'credits_wallet']);
  });

  test('resuming a paused offering keeps the version that was live, even when a newer one is certified', async () => {
    const { offering, versionId } = await offeringIn(cat.env, tdb.db, 'paused');
    const v2 = await createVersion(cat.env, tdb.db, offering.id, { version: '1.1.0', flow: minimalFlow({ name: 'v1.1' }), capabilities: validCapabilities, plans: validPlans, source: 'api' }, 'tester');
    await certifyVersion(cat.env, tdb.db, offering.id, v2.id);
    const resumed = await transitionOffering(cat.env, tdb.db, offering.id, { to: 'published' }, 'tester');
    assert.equal(resumed.publishedVersionId, versionId);
    assert.equal(resumed.latestVersionId, v2.id);
  });

  test('versionId with a transition other than to published is a 400', async () => {
    const { offering, versionId } = await offeringIn(cat.env, tdb.db, 'published');
    await assert.rejects(transitionOffering(cat.env, tdb.db, offering.id, { to: 'paused', versionId }, 'tester'), code('VALIDATION_FAILED'));
  });

  test('every transition is recorded with its actor and reason', async () => {
    const { offering } = await offeringIn(cat.env, tdb.db, 'paused');
    await transitionOffering(cat.env, tdb.db, offering.id, { to: 'eos', reason: 'replaced by v2' }, 'alice');
    const history = await tdb.db('offering_transitions').where({ offering_id: offering.id }).orderBy('id').select('from_state', 'to_state', 'reason', 'actor');
    assert.deepEqual(history.map((h) => `${h.from_state}>${h.to_state}`), ['draft>published', 'published>paused', 'paused>eos']);
    assert.deepEqual(history.at(-1), { from_state: 'paused', to_state: 'eos', reason: 'replaced by v2', actor: 'alice' });
  });

  test('an offering at end of life takes no listing changes and no new versions (409)', async () => {
    const { offering } = await offeringIn(cat.env, tdb.db, 'eol');
    const { updateOffering } = await import('./offerings');
    await assert.rejects(updateOffering(cat.env, tdb.db, offering.id, { summary: 'x' }, 'tester'), code('CONFLICT'));
    await assert.rejects(
      createVersion(cat.env, tdb.db, offering.id, { version: '9.0.0', flow: minimalFlow(), capabilities: validCapabilities, plans: validPlans, source: 'api' }, 'tester'),
      code('CONFLICT'),
    );
  });
});
