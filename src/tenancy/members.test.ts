import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { addMember, listMembers, removeMember, updateMemberRole } from './members';
import { createOrgAuto, type Workspace } from './orgs';
import { createTeam } from './teams';
import { ensureUser } from './users';
import { userPrincipal } from './testing';

let t: TestDb;
before(async () => {
  t = await openTestDb();
});
after(() => t.close());

const isCode = (code: string) => (e: unknown) => e instanceof AppError && e.code === code;

/** A user who has signed in (has a users row). */
async function signedIn(name: string): Promise<Principal> {
  const p = userPrincipal(name);
  await ensureUser(t.db, p);
  return p;
}

async function orgWith(roles: Record<string, Parameters<typeof addMember>[2]['role']>) {
  const owner = userPrincipal('Owner');
  const ws: Workspace = await createOrgAuto(t.db, owner);
  const people: Record<string, Principal> = {};
  for (const [name, role] of Object.entries(roles)) {
    people[name] = await signedIn(name);
    await addMember(t.db, owner, { orgId: ws.org.id, email: people[name]!.email!, role });
  }
  return { owner, ws, orgId: ws.org.id, people };
}

describe('members', () => {
  test('takeover: an admin plants userId + the victim\'s email; a later add-by-email of that address reaches only the victim, through an invitation', async () => {
    const { owner, orgId } = await orgWith({});
    const victimEmail = `victim-${Date.now()}@example.test`;
    // The attacker, admin of their own org, adds a subject they control with the victim's address.
    const attacker = userPrincipal('Attacker');
    const theirs = await createOrgAuto(t.db, attacker);
    const sockPuppet = userPrincipal('Puppet');
    await addMember(t.db, attacker, { orgId: theirs.org.id, email: victimEmail, userId: sockPuppet.subject, role: 'member' });

    const added = await addMember(t.db, owner, { orgId, email: victimEmail, role: 'admin' });
    assert.equal(added.pending, true, 'nobody has signed in with that address verified: an invitation');
    assert.notEqual(added.userId, sockPuppet.subject);

    // An unverified sign-in with the address claims nothing; a verified one claims the admin seat.
    const unverified = { ...userPrincipal('Squatter'), email: victimEmail, emailVerified: false };
    await ensureUser(t.db, unverified);
    await assert.rejects(listMembers(t.db, unverified, orgId), isCode('NOT_FOUND'));
    const victim = { ...userPrincipal('Victim'), email: victimEmail, emailVerified: true };
    await ensureUser(t.db, victim);
    const members = await listMembers(t.db, victim, orgId);
    assert.equal(members.items.find((m) => m.userId === victim.subject)?.role, 'admin');
    assert.ok(!members.items.some((m) => m.pending), 'the invitation is gone once claimed');
  });

  test('a signed-in account whose email is not verified is not matched by add-by-email', async () => {
    const { owner, orgId } = await orgWith({});
    const unverified = { ...userPrincipal('Unverified'), emailVerified: false };
    await ensureUser(t.db, unverified);
    const m = await addMember(t.db, owner, { orgId, email: unverified.email!, role: 'member' });
    assert.equal(m.pending, true);
    assert.notEqual(m.userId, unverified.subject);
  });

  test('owner adds a signed-in user by email → membership with email, name, role', async () => {
    const { owner, orgId } = await orgWith({});
    const grace = await signedIn('Grace');
    const m = await addMember(t.db, owner, { orgId, email: grace.email!.toUpperCase(), role: 'member' });
    assert.deepEqual({ ...m, addedAt: undefined }, { orgId, userId: grace.subject, email: grace.email, displayName: 'Grace', role: 'member', teamIds: [], addedAt: undefined, pending: false });
  });

  test('adding by userId (Keycloak subject) works before first sign-in; sign-in later fills the profile', async () => {
    const { owner, orgId } = await orgWith({});
    const future = userPrincipal('Future');
    const m = await addMember(t.db, owner, { orgId, email: future.email!, userId: future.subject, role: 'viewer' });
    assert.equal(m.userId, future.subject);
    await ensureUser(t.db, future);
    const list = await listMembers(t.db, future, orgId);
    assert.equal(list.items.find((x) => x.userId === future.subject)?.displayName, 'Future');
  });

  test('unknown email without userId → an invitation; existing member → ALREADY_EXISTS; bad role → VALIDATION_FAILED', async () => {
    const { owner, orgId, people } = await orgWith({ m: 'member' });
    const invited = await addMember(t.db, owner, { orgId, email: 'nobody@example.test', role: 'member' });
    assert.equal(invited.pending, true);
    assert.match(invited.userId, /^pending_/);
    await assert.rejects(addMember(t.db, owner, { orgId, email: 'NOBODY@example.test', role: 'member' }), isCode('ALREADY_EXISTS'));
    await assert.rejects(addMember(t.db, owner, { orgId, email: people.m!.email!, role: 'admin' }), isCode('ALREADY_EXISTS'));
    await assert.rejects(addMember(t.db, owner, { orgId, email: people.m!.email!, role: 'root' as never }), isCode('VALIDATION_FAILED'));
  });

  test('admin adds members and admins but cannot grant owner or publisher-admin → FORBIDDEN', async () => {
    const { orgId, people } = await orgWith({ admin: 'admin' });
    const x = await signedIn('X');
    await assert.rejects(addMember(t.db, people.admin!, { orgId, email: x.email!, role: 'owner' }), isCode('FORBIDDEN'));
    await assert.rejects(addMember(t.db, people.admin!, { orgId, email: x.email!, role: 'publisher-admin' }), isCode('FORBIDDEN'));
    assert.equal((await addMember(t.db, people.admin!, { orgId, email: x.email!, role: 'admin' })).role, 'admin');
  });

  test('member or viewer adding someone → FORBIDDEN; outsider → NOT_FOUND', async () => {
    const { orgId, people } = await orgWith({ m: 'member', v: 'viewer' });
    const x = await signedIn('X');
    await assert.rejects(addMember(t.db, people.m!, { orgId, email: x.email!, role: 'viewer' }), isCode('FORBIDDEN'));
    await assert.rejects(addMember(t.db, people.v!, { orgId, email: x.email!, role: 'viewer' }), isCode('FORBIDDEN'));
    await assert.rejects(addMember(t.db, x, { orgId, email: x.email!, role: 'owner' }), isCode('NOT_FOUND'));
    await assert.rejects(listMembers(t.db, x, orgId), isCode('NOT_FOUND'));
  });

  test('the last owner can be neither demoted nor removed → CONFLICT', async () => {
    const { owner, orgId } = await orgWith({});
    await assert.rejects(updateMemberRole(t.db, owner, { orgId, userId: owner.subject, role: 'admin' }), (e: unknown) => isCode('CONFLICT')(e) && /last owner/.test((e as Error).message));
    await assert.rejects(removeMember(t.db, owner, { orgId, userId: owner.subject }), (e: unknown) => isCode('CONFLICT')(e) && /last owner/.test((e as Error).message));
  });

  test('with a second owner, the first can step down', async () => {
    const { owner, orgId, people } = await orgWith({ co: 'owner' });
    const m = await updateMemberRole(t.db, owner, { orgId, userId: owner.subject, role: 'member' });
    assert.equal(m.role, 'member');
    await assert.rejects(updateMemberRole(t.db, people.co!, { orgId, userId: people.co!.subject, role: 'admin' }), isCode('CONFLICT'));
  });

  test('concurrent demotions of the last two owners → one succeeds, one CONFLICT, an owner remains', async () => {
    const { owner, orgId, people } = await orgWith({ co: 'owner' });
    const results = await Promise.allSettled([
      updateMemberRole(t.db, owner, { orgId, userId: owner.subject, role: 'admin' }),
      updateMemberRole(t.db, people.co!, { orgId, userId: people.co!.subject, role: 'admin' }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isCode('CONFLICT')(rejected.reason));
    assert.equal((await t.db('memberships').where({ org_id: orgId, role: 'owner' })).length, 1);
  });

  test('admin cannot demote or remove an owner → FORBIDDEN; can change a member', async () => {
    const { owner, orgId, people } = await orgWith({ admin: 'admin', m: 'member' });
    await assert.rejects(updateMemberRole(t.db, people.admin!, { orgId, userId: owner.subject, role: 'viewer' }), isCode('FORBIDDEN'));
    await assert.rejects(removeMember(t.db, people.admin!, { orgId, userId: owner.subject }), isCode('FORBIDDEN'));
    await assert.rejects(updateMemberRole(t.db, people.admin!, { orgId, userId: people.m!.subject, role: 'owner' }), isCode('FORBIDDEN'));
    assert.equal((await updateMemberRole(t.db, people.admin!, { orgId, userId: people.m!.subject, role: 'viewer' })).role, 'viewer');
  });

  test('a member may remove themselves, not others; a missing member → NOT_FOUND', async () => {
    const { owner, orgId, people } = await orgWith({ a: 'member', b: 'member' });
    await assert.rejects(removeMember(t.db, people.a!, { orgId, userId: people.b!.subject }), isCode('FORBIDDEN'));
    await removeMember(t.db, people.a!, { orgId, userId: people.a!.subject });
    await assert.rejects(listMembers(t.db, people.a!, orgId), isCode('NOT_FOUND'));
    await assert.rejects(removeMember(t.db, owner, { orgId, userId: people.a!.subject }), isCode('NOT_FOUND'));
  });

  test('removing a member drops their team memberships in the org', async () => {
    const { owner, orgId, people } = await orgWith({ m: 'member' });
    const team = await createTeam(t.db, owner, { orgId, name: 'Support', memberUserIds: [people.m!.subject, owner.subject] });
    assert.deepEqual((await listMembers(t.db, owner, orgId, { role: 'member' })).items.map((x) => x.teamIds), [[team.id]]);
    await removeMember(t.db, owner, { orgId, userId: people.m!.subject });
    assert.deepEqual(await t.db('team_members').where({ team_id: team.id }).pluck('user_id'), [owner.subject]);
  });

  test('listMembers filters by role and pages', async () => {
    const { owner, orgId } = await orgWith({ a: 'member', b: 'member', c: 'viewer' });
    assert.equal((await listMembers(t.db, owner, orgId, { role: 'member' })).items.length, 2);
    const p1 = await listMembers(t.db, owner, orgId, { limit: 3 });
    const p2 = await listMembers(t.db, owner, orgId, { limit: 3, cursor: p1.nextCursor });
    assert.equal(p1.items.length + p2.items.length, 4);
    assert.equal(p2.nextCursor, null);
  });
});
