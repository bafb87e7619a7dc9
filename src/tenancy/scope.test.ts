import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { createOrgAuto, type Workspace } from './orgs';
import type { OrgRole } from './roles';
import { loadScoped, orgIdsOf, resolveAccess } from './scope';
import { servicePrincipal, userPrincipal } from './testing';

let t: TestDb;
let alice: Principal;
let bob: Principal;
let wsA: Workspace;
let wsB: Workspace;

async function memberOf(ws: Workspace, role: OrgRole): Promise<Principal> {
  const p = userPrincipal(role);
  await t.db('users').insert({ id: p.subject, email: p.email });
  await t.db('memberships').insert({ org_id: ws.org.id, user_id: p.subject, role });
  return p;
}

before(async () => {
  t = await openTestDb();
  alice = userPrincipal('Alice');
  bob = userPrincipal('Bob');
  wsA = await createOrgAuto(t.db, alice);
  wsB = await createOrgAuto(t.db, bob);
});
after(() => t.close());

async function code(p: Promise<unknown>): Promise<{ code: string; message: string } | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return { code: e.code, message: e.message };
  }
}

describe('resolveAccess', () => {
  test('member of the org → access with role, org and project resolved', async () => {
    const a = await resolveAccess(t.db, alice, { projectId: wsA.project.id }, 'owner');
    assert.deepEqual(a, { orgId: wsA.org.id, projectId: wsA.project.id, role: 'owner', userId: alice.subject });
    assert.equal((await resolveAccess(t.db, alice, { orgId: wsA.org.id }, 'viewer')).role, 'owner');
  });

  test("another tenant's org / project → NOT_FOUND, indistinguishable from missing ids", async () => {
    assert.deepEqual(await code(resolveAccess(t.db, alice, { orgId: wsB.org.id }, 'viewer')), await code(resolveAccess(t.db, alice, { orgId: 'org_missing000000000' }, 'viewer')));
    assert.deepEqual(await code(resolveAccess(t.db, alice, { orgId: wsB.org.id }, 'viewer')), { code: 'NOT_FOUND', message: 'Org not found' });
    assert.deepEqual(await code(resolveAccess(t.db, alice, { projectId: wsB.project.id }, 'viewer')), { code: 'NOT_FOUND', message: 'Project not found' });
    assert.deepEqual(await code(resolveAccess(t.db, alice, { projectId: 'prj_missing000000000' }, 'viewer')), { code: 'NOT_FOUND', message: 'Project not found' });
  });

  test('a non-member is NOT_FOUND even when asking for a role they could never have (never 403 for existence)', async () => {
    assert.deepEqual(await code(resolveAccess(t.db, alice, { orgId: wsB.org.id }, 'owner')), { code: 'NOT_FOUND', message: 'Org not found' });
  });

  test("own org id with another tenant's project id → NOT_FOUND", async () => {
    assert.equal(((await code(resolveAccess(t.db, alice, { orgId: wsA.org.id, projectId: wsB.project.id }, 'viewer'))) as { code: string }).code, 'NOT_FOUND');
    assert.equal(((await code(resolveAccess(t.db, bob, { orgId: wsA.org.id, projectId: wsB.project.id }, 'viewer'))) as { code: string }).code, 'NOT_FOUND');
  });

  test('member below the required role → FORBIDDEN; the ladder viewer < member < admin < owner holds', async () => {
    const order: OrgRole[] = ['viewer', 'member', 'admin', 'owner'];
    for (const held of order) {
      const p = await memberOf(wsA, held);
      for (const required of order) {
        const r = await code(resolveAccess(t.db, p, { orgId: wsA.org.id }, required));
        const expected = order.indexOf(held) >= order.indexOf(required) ? 'ok' : 'FORBIDDEN';
        assert.equal(r === 'ok' ? 'ok' : r.code, expected, `${held} asking for ${required}`);
      }
    }
  });

  test('publisher-admin is off the ladder: passes publisher-admin and any, fails viewer; owner passes publisher-admin', async () => {
    const pub = await memberOf(wsA, 'publisher-admin');
    assert.equal(await code(resolveAccess(t.db, pub, { orgId: wsA.org.id }, 'publisher-admin')), 'ok');
    assert.equal(await code(resolveAccess(t.db, pub, { orgId: wsA.org.id }, 'any')), 'ok');
    assert.equal(((await code(resolveAccess(t.db, pub, { orgId: wsA.org.id }, 'viewer'))) as { code: string }).code, 'FORBIDDEN');
    assert.equal(await code(resolveAccess(t.db, alice, { orgId: wsA.org.id }, 'publisher-admin')), 'ok');
    const admin = await memberOf(wsA, 'admin');
    assert.equal(((await code(resolveAccess(t.db, admin, { orgId: wsA.org.id }, 'publisher-admin'))) as { code: string }).code, 'FORBIDDEN');
  });

  test('service principal → NOT_FOUND (services are authorised by svc roles, not tenancy)', async () => {
    assert.deepEqual(await code(resolveAccess(t.db, servicePrincipal(), { orgId: wsA.org.id }, 'viewer')), { code: 'NOT_FOUND', message: 'Org not found' });
    assert.deepEqual(await orgIdsOf(t.db, servicePrincipal()), []);
  });

  test('neither orgId nor projectId → programming error, not a tenant answer', async () => {
    await assert.rejects(resolveAccess(t.db, alice, {}, 'viewer'), /orgId or projectId is required/);
  });
});

describe('loadScoped', () => {
  test('own row → returned (inside a transaction, with row lock)', async () => {
    const row = await t.db.transaction((trx) => loadScoped<{ id: string; org_id: string }>(trx, 'wallets', wsA.wallet.id, alice, { forUpdate: true }));
    assert.equal(row.id, wsA.wallet.id);
    assert.equal(row.org_id, wsA.org.id);
    assert.ok(!('__member_role' in row));
  });

  test("another tenant's id → NOT_FOUND, same answer as a missing id", async () => {
    const foreign = await code(loadScoped(t.db, 'wallets', wsB.wallet.id, alice));
    const missing = await code(loadScoped(t.db, 'wallets', 'wal_doesnotexist00000', alice));
    assert.deepEqual(foreign, { code: 'NOT_FOUND', message: 'Wallet not found' });
    assert.deepEqual(foreign, missing);
    assert.deepEqual(await code(loadScoped(t.db, 'projects', wsB.project.id, alice)), { code: 'NOT_FOUND', message: 'Project not found' });
  });

  test('minRole: a viewer loading for an admin action → FORBIDDEN; a stranger still NOT_FOUND', async () => {
    const viewer = await memberOf(wsA, 'viewer');
    assert.equal(((await code(loadScoped(t.db, 'projects', wsA.project.id, viewer, { minRole: 'admin' }))) as { code: string }).code, 'FORBIDDEN');
    assert.equal(await code(loadScoped(t.db, 'projects', wsA.project.id, viewer, { minRole: 'viewer' })), 'ok');
    assert.equal(((await code(loadScoped(t.db, 'projects', wsA.project.id, bob, { minRole: 'admin' }))) as { code: string }).code, 'NOT_FOUND');
  });

  test('services and empty ids → NOT_FOUND; unsafe identifiers refused', async () => {
    assert.equal(((await code(loadScoped(t.db, 'wallets', wsA.wallet.id, servicePrincipal()))) as { code: string }).code, 'NOT_FOUND');
    assert.equal(((await code(loadScoped(t.db, 'wallets', '', alice))) as { code: string }).code, 'NOT_FOUND');
    await assert.rejects(loadScoped(t.db, 'wallets; drop table orgs', 'x', alice), /bad identifier/);
    await assert.rejects(loadScoped(t.db, 'wallets', 'x', alice, { orgColumn: 'org_id"--' }), /bad identifier/);
  });

  test('orgIdsOf lists memberships', async () => {
    assert.deepEqual(await orgIdsOf(t.db, alice), [wsA.org.id]);
  });
});
