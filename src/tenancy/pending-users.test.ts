/**
 * Buyers known only by email: a pending user holds what they bought until their first sign-in
 * with the same *verified* email claims it — never an unverified one; an order and a sign-in
 * racing for one email always end with the workspace owned by the real user.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Knex } from 'knex';
import { openTestDb, type TestDb } from '../../test/support/db';
import type { Principal } from '../identity/principal';
import { createOrgAuto, listOrgsForUser } from './orgs';
import { userPrincipal } from './testing';
import { createUserSync } from './user-sync';
import { ensurePendingUser, ensureUser, findVerifiedUserByEmail, lockEmail, principalOfUser } from './users';

let t: TestDb;
before(async () => {
  t = await openTestDb();
});
after(() => t.close());

const signIn = (email: string, verified: boolean, subject: string = randomUUID()): Principal => ({ ...userPrincipal('Buyer', subject), email, emailVerified: verified });

/** What the commerce service does for a buyer known by email, in one transaction. */
async function buyFor(db: Knex, email: string) {
  return db.transaction(async (trx) => {
    await lockEmail(trx, email);
    const user = (await findVerifiedUserByEmail(trx, email)) ?? (await ensurePendingUser(trx, email)).user;
    return createOrgAuto(trx, principalOfUser(user));
  });
}

const pendingCount = async (email: string) => Number((await t.db.raw('select count(*) as n from users where pending and lower(email) = lower(?)', [email])).rows[0].n);

describe('pending users', () => {
  test('a verified sign-in claims the workspace (email matched case-insensitively); the placeholder is gone', async () => {
    const email = `Claim-${randomUUID().slice(0, 6)}@Example.com`;
    const bought = await buyFor(t.db, email);
    assert.equal(bought.created, true);
    assert.equal(await pendingCount(email), 1);
    assert.equal((await buyFor(t.db, email.toLowerCase())).org.id, bought.org.id, 'one pending user per email');

    const me = signIn(email.toLowerCase(), true);
    await ensureUser(t.db, me);
    const orgs = await listOrgsForUser(t.db, me);
    assert.deepEqual(orgs.items.map((o) => [o.id, o.myRole, o.personal, o.ownerUserId]), [[bought.org.id, 'owner', true, me.subject]]);
    assert.equal(await pendingCount(email), 0);
    assert.equal((await createOrgAuto(t.db, me)).org.id, bought.org.id, '/orgs/auto answers the claimed workspace');
    assert.equal((await buyFor(t.db, email)).org.id, bought.org.id, 'later orders go to the real account');
  });

  test('an unverified email claims nothing, and orders keep going to the pending user', async () => {
    const email = `unverified-${randomUUID().slice(0, 6)}@example.com`;
    const bought = await buyFor(t.db, email);
    const squatter = signIn(email, false);
    await ensureUser(t.db, squatter);
    assert.deepEqual((await listOrgsForUser(t.db, squatter)).items, []);
    assert.equal(await pendingCount(email), 1);
    assert.equal((await buyFor(t.db, email)).org.id, bought.org.id, 'an unverified account does not receive orders either');

    // The same account later verifies its email: now it claims.
    await ensureUser(t.db, { ...squatter, emailVerified: true });
    assert.deepEqual((await listOrgsForUser(t.db, squatter)).items.map((o) => o.id), [bought.org.id]);
  });

  test('a user who already has a personal workspace gets the bought one as a regular org they own', async () => {
    const email = `has-one-${randomUUID().slice(0, 6)}@example.com`;
    const bought = await buyFor(t.db, email);
    const me = signIn(email, false);
    const own = await createOrgAuto(t.db, me); // signed up with the email not yet verified
    await ensureUser(t.db, { ...me, emailVerified: true });
    const orgs = (await listOrgsForUser(t.db, me)).items;
    assert.equal(orgs.length, 2);
    const claimed = orgs.find((o) => o.id === bought.org.id)!;
    assert.equal(claimed.myRole, 'owner');
    assert.equal(claimed.personal, false);
    assert.equal(orgs.find((o) => o.id === own.org.id)!.personal, true);
  });

  test('email verification follows the identity provider; a new address is unverified until it says so', async () => {
    const subject = randomUUID();
    await ensureUser(t.db, signIn('first@example.com', true, subject));
    const row = async () => t.db('users').where({ id: subject }).first();
    assert.equal((await row()).email_verified, true);
    await ensureUser(t.db, { ...userPrincipal('Buyer', subject), email: 'second@example.com', emailVerified: undefined }); // verification unknown
    assert.deepEqual([(await row()).email, (await row()).email_verified], ['second@example.com', false]);
    await ensureUser(t.db, signIn('second@example.com', true, subject));
    assert.equal((await row()).email_verified, true);
  });

  test('an order and a first sign-in racing for one email: the real user always ends up owning the workspace', async () => {
    for (let i = 0; i < 12; i++) {
      const email = `race-${i}-${randomUUID().slice(0, 6)}@example.com`;
      const me = signIn(email, true);
      const order = buyFor(t.db, email);
      const login = ensureUser(t.db, me);
      const [ws] = i % 2 ? await Promise.all([order, login]) : (await Promise.all([login, order])).reverse() as [Awaited<typeof order>];
      await ensureUser(t.db, me); // the next request of the same user (a no-op when already claimed)
      assert.deepEqual((await listOrgsForUser(t.db, me)).items.map((o) => o.id), [ws.org.id], `race ${i}`);
      assert.equal(await pendingCount(email), 0, `race ${i}`);
    }
  });

  test('the sign-in hook syncs a principal once, then remembers it; pending subjects are refused', async () => {
    const email = `hook-${randomUUID().slice(0, 6)}@example.com`;
    const bought = await buyFor(t.db, email);
    let clock = 0;
    const sync = createUserSync(t.db, { ttlMs: 1000, now: () => clock });
    const me = signIn(email, true);
    await Promise.all([sync(me), sync(me), sync(me)]);
    assert.deepEqual((await listOrgsForUser(t.db, me)).items.map((o) => o.id), [bought.org.id]);
    await t.db('users').where({ id: me.subject }).update({ name: 'changed elsewhere' });
    await sync(me);
    assert.equal((await t.db('users').where({ id: me.subject }).first()).name, 'changed elsewhere', 'remembered: no write');
    clock = 2000;
    await sync(me);
    assert.equal((await t.db('users').where({ id: me.subject }).first()).name, 'Buyer', 'after the TTL it syncs again');
    await assert.rejects(sync({ ...me, subject: 'pending_01J9ZK4A7Q8R2M5N6P3T9V0W1X' }), /reserved/);
  });
});
