import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { AppError } from '../platform/errors';
import { createOrgAuto, createProject, getOrg, getProject, listOrgsForUser, listProjects, slugify } from './orgs';
import { servicePrincipal, userPrincipal } from './testing';
import { decide } from '../platform/policy/engine';

/** What policy/ decides for a member of the org with `role` (the service asks it before the domain runs). */
const policyAllows = (role: string, operationId: string, kind: 'org' | 'project' = 'org') =>
  decide({ kind: 'user', subject: 'u', roles: new Set(), scheme: 'bearerAuth' }, operationId, { kind, id: 'x', orgId: 'org_x', projectId: kind === 'project' ? 'prj_x' : undefined, role }).allow;

let t: TestDb;
before(async () => {
  t = await openTestDb();
});
after(() => t.close());

const isCode = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

describe('createOrgAuto', () => {
  test('first call creates personal org, default project, owner membership and a wallet with starter credits', async () => {
    const alice = userPrincipal('Alice');
    const ws = await createOrgAuto(t.db, alice, { starterCredits: 500 });
    assert.equal(ws.created, true);
    assert.match(ws.org.id, /^org_/);
    assert.equal(ws.org.name, "Alice's workspace");
    assert.equal(ws.org.slug, 'alice-s-workspace');
    assert.equal(ws.org.personal, true);
    assert.equal(ws.org.ownerUserId, alice.subject);
    assert.equal(ws.org.myRole, 'owner');
    assert.equal(ws.org.defaultProjectId, ws.project.id);
    assert.equal(ws.org.walletId, ws.wallet.id);
    assert.equal(ws.project.isDefault, true);
    assert.equal(ws.project.orgId, ws.org.id);
    assert.equal(ws.wallet.balance, 500);
    assert.equal(ws.wallet.grantedBalance, 500);
    assert.equal(ws.wallet.paidBalance, 0);
    const grants = await t.db('ledger_entries').where({ wallet_id: ws.wallet.id });
    assert.equal(grants.length, 1);
    assert.equal(grants[0].kind, 'grant');
    assert.equal(grants[0].credit_type, 'granted');
    const user = await t.db('users').where({ id: alice.subject }).first();
    assert.equal(user.email, alice.email);
  });

  test('second call returns the same workspace with created=false and grants nothing more', async () => {
    const bob = userPrincipal('Bob');
    const first = await createOrgAuto(t.db, bob);
    const again = await createOrgAuto(t.db, bob, { name: 'Another name' });
    assert.equal(again.created, false);
    assert.equal(again.org.id, first.org.id);
    assert.equal(again.project.id, first.project.id);
    assert.equal(again.wallet.id, first.wallet.id);
    assert.equal(again.wallet.balance, first.wallet.balance);
    assert.equal((await t.db('orgs').where({ owner_user_id: bob.subject })).length, 1);
  });

  test('concurrent calls for the same user → exactly one org, one project, one wallet, one grant', async () => {
    const carol = userPrincipal('Carol');
    const results = await Promise.all(Array.from({ length: 8 }, () => createOrgAuto(t.db, carol)));
    assert.equal(new Set(results.map((r) => r.org.id)).size, 1);
    assert.equal(results.filter((r) => r.created).length, 1);
    const orgId = results[0]!.org.id;
    assert.equal((await t.db('orgs').where({ owner_user_id: carol.subject })).length, 1);
    assert.equal((await t.db('projects').where({ org_id: orgId })).length, 1);
    const wallets = await t.db('wallets').where({ org_id: orgId });
    assert.equal(wallets.length, 1);
    assert.equal((await t.db('ledger_entries').where({ wallet_id: wallets[0].id })).length, 1);
    assert.equal((await t.db('memberships').where({ org_id: orgId })).length, 1);
  });

  test('a custom name is used on creation', async () => {
    const ws = await createOrgAuto(t.db, userPrincipal('Dan'), { name: '  Dan Labs  ' });
    assert.equal(ws.org.name, 'Dan Labs');
  });

  test('service principal → FORBIDDEN', async () => {
    await assert.rejects(createOrgAuto(t.db, servicePrincipal()), isCode('FORBIDDEN'));
  });

  test('joins the caller transaction: a rollback leaves nothing behind', async () => {
    const eve = userPrincipal('Eve');
    await assert.rejects(
      t.db.transaction(async (trx) => {
        await createOrgAuto(trx, eve);
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal((await t.db('orgs').where({ owner_user_id: eve.subject })).length, 0);
    assert.equal((await t.db('users').where({ id: eve.subject })).length, 0);
  });
});

describe('orgs and projects', () => {
  test('listOrgsForUser lists only the caller orgs, with their role, paginated', async () => {
    const u = userPrincipal('Lister');
    const other = userPrincipal('Other');
    const mine = await createOrgAuto(t.db, u);
    await createOrgAuto(t.db, other);
    const page = await listOrgsForUser(t.db, u);
    assert.deepEqual(page.items.map((o) => o.id), [mine.org.id]);
    assert.equal(page.items[0]!.myRole, 'owner');
    assert.equal(page.nextCursor, null);
    assert.deepEqual(await listOrgsForUser(t.db, servicePrincipal()), { items: [], nextCursor: null });
  });

  test("another tenant's org id → NOT_FOUND, same as a missing one", async () => {
    const a = userPrincipal('A');
    const b = userPrincipal('B');
    const wb = await createOrgAuto(t.db, b);
    await createOrgAuto(t.db, a);
    const missing = await getOrg(t.db, a, 'org_00000000000000000000000000').catch((e) => e);
    const foreign = await getOrg(t.db, a, wb.org.id).catch((e) => e);
    assert.ok(isCode('NOT_FOUND')(missing) && isCode('NOT_FOUND')(foreign));
    assert.equal(foreign.message, missing.message);
    await assert.rejects(getProject(t.db, a, wb.project.id), isCode('NOT_FOUND'));
    await assert.rejects(listProjects(t.db, a, wb.org.id), isCode('NOT_FOUND'));
    await assert.rejects(createProject(t.db, a, { orgId: wb.org.id, name: 'Sneaky' }), isCode('NOT_FOUND'));
  });

  test('createProject by the owner → listed; duplicate name → ALREADY_EXISTS', async () => {
    const u = userPrincipal('Projector');
    const ws = await createOrgAuto(t.db, u);
    const p = await createProject(t.db, u, { orgId: ws.org.id, name: 'Support bots', description: 'Customer support' });
    assert.match(p.id, /^prj_/);
    assert.equal(p.slug, 'support-bots');
    assert.equal(p.isDefault, false);
    assert.equal(p.description, 'Customer support');
    await assert.rejects(createProject(t.db, u, { orgId: ws.org.id, name: 'support BOTS' }), isCode('ALREADY_EXISTS'));
    const list = await listProjects(t.db, u, ws.org.id, { limit: 1 });
    assert.equal(list.items.length, 1);
    assert.ok(list.nextCursor);
    const rest = await listProjects(t.db, u, ws.org.id, { limit: 1, cursor: list.nextCursor });
    assert.equal(rest.items.length, 1);
    assert.equal(rest.nextCursor, null);
    assert.deepEqual(new Set([...list.items, ...rest.items].map((x) => x.id)), new Set([ws.project.id, p.id]));
    assert.deepEqual(await getProject(t.db, u, p.id), p);
  });

  test('a member (not admin) may not create a project (policy/), and reads the org\'s projects', async () => {
    const owner = userPrincipal('Owner');
    const member = userPrincipal('Member');
    const ws = await createOrgAuto(t.db, owner);
    await t.db('users').insert({ id: member.subject, email: member.email });
    await t.db('memberships').insert({ org_id: ws.org.id, user_id: member.subject, role: 'member' });
    assert.equal(policyAllows('member', 'createProject'), false);
    assert.equal(policyAllows('admin', 'createProject'), true);
    assert.equal((await listProjects(t.db, member, ws.org.id)).items.length, 1);
  });

  test('slugify', () => {
    assert.equal(slugify("Ada's workspace"), 'ada-s-workspace');
    assert.equal(slugify('  Ünïcödé  Café '), 'unicode-cafe');
    assert.equal(slugify('!!!'), 'org');
  });
});
