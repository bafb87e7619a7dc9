import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { AppError } from '../platform/errors';
import { addMember } from './members';
import { createOrgAuto, createProject } from './orgs';
import { createTeam, listTeams } from './teams';
import { ensureUser } from './users';
import { userPrincipal } from './testing';
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

describe('teams', () => {
  test('owner creates a team with projects and members → listed with both', async () => {
    const owner = userPrincipal('Owner');
    const ws = await createOrgAuto(t.db, owner);
    const p2 = await createProject(t.db, owner, { orgId: ws.org.id, name: 'Second' });
    const grace = userPrincipal('Grace');
    await ensureUser(t.db, grace);
    await addMember(t.db, owner, { orgId: ws.org.id, email: grace.email!, role: 'member' });
    const team = await createTeam(t.db, owner, {
      orgId: ws.org.id,
      name: 'Support',
      description: 'Support engineers',
      projectIds: [ws.project.id, p2.id],
      memberUserIds: [grace.subject],
    });
    assert.match(team.id, /^team_/);
    assert.deepEqual(team.projectIds, [ws.project.id, p2.id].sort());
    assert.deepEqual(team.memberUserIds, [grace.subject]);
    assert.equal(team.description, 'Support engineers');
    const list = await listTeams(t.db, grace, ws.org.id);
    assert.deepEqual(list.items, [team]);
  });

  test("another org's project or a non-member user → UNPROCESSABLE; duplicate name → ALREADY_EXISTS", async () => {
    const owner = userPrincipal('Owner');
    const stranger = userPrincipal('Stranger');
    const ws = await createOrgAuto(t.db, owner);
    const other = await createOrgAuto(t.db, stranger);
    await assert.rejects(createTeam(t.db, owner, { orgId: ws.org.id, name: 'X', projectIds: [other.project.id] }), isCode('UNPROCESSABLE'));
    await assert.rejects(createTeam(t.db, owner, { orgId: ws.org.id, name: 'X', memberUserIds: [stranger.subject] }), isCode('UNPROCESSABLE'));
    await createTeam(t.db, owner, { orgId: ws.org.id, name: 'Ops' });
    await assert.rejects(createTeam(t.db, owner, { orgId: ws.org.id, name: 'ops' }), isCode('ALREADY_EXISTS'));
  });

  test('a member may not create a team (policy/); an outsider → NOT_FOUND', async () => {
    const owner = userPrincipal('Owner');
    const ws = await createOrgAuto(t.db, owner);
    const m = userPrincipal('M');
    await ensureUser(t.db, m);
    await addMember(t.db, owner, { orgId: ws.org.id, email: m.email!, role: 'member' });
    assert.equal(policyAllows('member', 'createTeam'), false);
    assert.equal(policyAllows('admin', 'createTeam'), true);
    await assert.rejects(createTeam(t.db, userPrincipal('Out'), { orgId: ws.org.id, name: 'Mine' }), isCode('NOT_FOUND'));
    await assert.rejects(listTeams(t.db, userPrincipal('Out'), ws.org.id), isCode('NOT_FOUND'));
  });
});
