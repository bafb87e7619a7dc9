/**
 * Teams: org-level groups of members, each working on a set of the org's projects.
 * (Access is granted by org roles today; a team records who works on which projects.)
 */
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { inTransaction, type Db } from '../db/tx';
import { MembershipModel, OrgModel, ProjectModel, TeamModel } from './models';
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

/** Teams with the ids of their projects and members, each list in id order. */
function teamsWithLinks(db: Db) {
  return TeamModel.query(db)
    .withGraphFetched('[projects(ids), members(ids)]')
    .modifiers({ ids: (q) => q.select('id').orderBy('id') });
}

function teamView(r: TeamModel): TeamView {
  const v: TeamView = {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    projectIds: (r.projects ?? []).map((p) => p.id),
    memberUserIds: (r.members ?? []).map((u) => u.id),
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
    await OrgModel.query(trx).select('id').findById(input.orgId).forNoKeyUpdate();

    if (projectIds.length > 0) {
      const found = await ProjectModel.query(trx).select('id').where('org_id', input.orgId).whereIn('id', projectIds);
      const known = new Set(found.map((p) => p.id));
      const unknown = projectIds.filter((id) => !known.has(id));
      // Same answer for another org's project and a missing one: nothing to learn across tenants.
      if (unknown.length) throw new AppError('UNPROCESSABLE', 'Some projects are not in this org', { projectIds: unknown });
    }
    if (memberUserIds.length > 0) {
      const found = await MembershipModel.query(trx).select('user_id').where('org_id', input.orgId).whereIn('user_id', memberUserIds);
      const known = new Set(found.map((m) => m.user_id));
      const unknown = memberUserIds.filter((id) => !known.has(id));
      if (unknown.length) throw new AppError('UNPROCESSABLE', 'Team members must be members of the org', { memberUserIds: unknown });
    }
    const clash = await TeamModel.query(trx).select('id').where('org_id', input.orgId).whereRaw('lower(name) = lower(?)', [name]).first();
    if (clash) throw new AppError('ALREADY_EXISTS', 'A team with this name already exists in the org', { name });

    const id = newId('team');
    await TeamModel.query(trx).insert({ id, org_id: input.orgId, name, description: input.description ?? null });
    for (const projectId of projectIds) await TeamModel.relatedQuery('projects', trx).for(id).relate(projectId);
    for (const userId of memberUserIds) await TeamModel.relatedQuery('members', trx).for(id).relate(userId);
    return teamView((await teamsWithLinks(trx).findById(id))!);
  });
}

export async function listTeams(db: Db, principal: Principal, orgId: string, page: PageRequest = {}): Promise<Page<TeamView>> {
  await resolveAccess(db, principal, { orgId }, 'any');
  const { after, limit } = pageArgs(page);
  const q = teamsWithLinks(db).where('org_id', orgId).orderBy('id').limit(limit + 1);
  if (after !== null) q.where('id', '>', after);
  const r = await q;
  return toPage(r, limit, (x) => x.id, teamView);
}
