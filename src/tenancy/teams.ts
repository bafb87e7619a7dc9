/**
 * Teams: org-level groups of members, each working on a set of the org's projects.
 * (Access is granted by org roles today; a team records who works on which projects.)
 */
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { inTransaction, one, rows, type Db } from '../db/tx';
import { pageArgs, toPage, type Page, type PageRequest } from './page';
import { resolveAccess } from './scope';

export interface TeamView {
  id: string;
  orgId: string;
  name: string;
  description?: string;
  projectIds: string[];
  memberUserIds: string[];
  createdAt: Date;
}

interface TeamRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  created_at: Date;
  project_ids: string[] | null;
  member_user_ids: string[] | null;
}

const TEAM_SELECT = `
  select t.id, t.org_id, t.name, t.description, t.created_at,
         array(select tp.project_id from team_projects tp where tp.team_id = t.id order by tp.project_id) as project_ids,
         array(select tm.user_id from team_members tm where tm.team_id = t.id order by tm.user_id) as member_user_ids
    from teams t`;

function teamView(r: TeamRow): TeamView {
  const v: TeamView = {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    projectIds: r.project_ids ?? [],
    memberUserIds: r.member_user_ids ?? [],
    createdAt: r.created_at,
  };
  if (r.description !== null) v.description = r.description;
  return v;
}

export interface CreateTeamInput {
  orgId: string;
  name: string;
  description?: string;
  projectIds?: string[];
  /** Must be members of the org (422 otherwise). */
  memberUserIds?: string[];
}

export async function createTeam(db: Db, principal: Principal, input: CreateTeamInput): Promise<TeamView> {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > 120) throw new AppError('VALIDATION_FAILED', 'name must be 1 to 120 characters');
  const projectIds = [...new Set(input.projectIds ?? [])];
  const memberUserIds = [...new Set(input.memberUserIds ?? [])];
  return inTransaction(db, async (trx) => {
    await resolveAccess(trx, principal, { orgId: input.orgId }, 'any');
    await trx.raw('select id from orgs where id = ? for no key update', [input.orgId]);

    if (projectIds.length > 0) {
      const found = await rows<{ id: string }>(trx, 'select id from projects where org_id = ? and id in (select jsonb_array_elements_text(?::jsonb))', [input.orgId, JSON.stringify(projectIds)]);
      const known = new Set(found.map((p) => p.id));
      const unknown = projectIds.filter((id) => !known.has(id));
      // Same answer for another org's project and a missing one: nothing to learn across tenants.
      if (unknown.length) throw new AppError('UNPROCESSABLE', 'Some projects are not in this org', { projectIds: unknown });
    }
    if (memberUserIds.length > 0) {
      const found = await rows<{ user_id: string }>(trx, 'select user_id from memberships where org_id = ? and user_id in (select jsonb_array_elements_text(?::jsonb))', [input.orgId, JSON.stringify(memberUserIds)]);
      const known = new Set(found.map((m) => m.user_id));
      const unknown = memberUserIds.filter((id) => !known.has(id));
      if (unknown.length) throw new AppError('UNPROCESSABLE', 'Team members must be members of the org', { memberUserIds: unknown });
    }
    const clash = await one(trx, 'select 1 from teams where org_id = ? and lower(name) = lower(?)', [input.orgId, name]);
    if (clash) throw new AppError('ALREADY_EXISTS', 'A team with this name already exists in the org', { name });

    const id = newId('team');
    await trx.raw('insert into teams (id, org_id, name, description) values (?, ?, ?, ?)', [id, input.orgId, name, input.description ?? null]);
    for (const projectId of projectIds) await trx.raw('insert into team_projects (team_id, project_id) values (?, ?)', [id, projectId]);
    for (const userId of memberUserIds) await trx.raw('insert into team_members (team_id, user_id) values (?, ?)', [id, userId]);
    return teamView((await one<TeamRow>(trx, `${TEAM_SELECT} where t.id = ?`, [id]))!);
  });
}

export async function listTeams(db: Db, principal: Principal, orgId: string, page: PageRequest = {}): Promise<Page<TeamView>> {
  await resolveAccess(db, principal, { orgId }, 'any');
  const { after, limit } = pageArgs(page);
  const r = await rows<TeamRow>(
    db,
    `${TEAM_SELECT} where t.org_id = ? ${after === null ? '' : 'and t.id > ?'} order by t.id limit ?`,
    after === null ? [orgId, limit + 1] : [orgId, after, limit + 1],
  );
  return toPage(r, limit, (x) => x.id, teamView);
}
