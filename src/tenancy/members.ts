/**
 * Org memberships. Rules (control-plane spec, addOrgMember / updateOrgMember / removeOrgMember):
 * - owners and admins manage members; only owners grant, change or remove `owner` and
 *   `publisher-admin` (see `canManageRole`);
 * - any member may remove themselves;
 * - the last owner can be neither removed nor demoted (409 CONFLICT). Changes lock the org
 *   row, so two concurrent demotions of the last two owners cannot both pass.
 */
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { inTransaction, one, type Db } from '../db/tx';
import { fn } from 'objection';
import { MembershipModel, OrgModel, TeamModel, UserModel } from './models';
import { pageArgs, toPage, type Page, type PageRequest } from './page';
import { canManageRole, isOrgRole, type OrgRole } from './roles';
import { ensurePendingUser, findVerifiedUserByEmail, isPendingSubject, lockEmail } from './users';
import { resolveAccess, type Access } from './scope';

export interface OrgMemberView {
  orgId: string;
  userId: string;
  email: string;
  displayName?: string;
  role: OrgRole;
  teamIds: string[];
  addedAt: Date;
  /** An invitation: nobody has signed in with this email (verified) yet. */
  pending: boolean;
}

interface MemberRow {
  org_id: string;
  user_id: string;
  email: string | null;
  name: string | null;
  role: OrgRole;
  created_at: Date;
  team_ids: string[] | null;
  pending: boolean | null;
}

/** Memberships with their user's email, name and pending flag, and the member's teams in the org. */
function membersWithUser(db: Db) {
  return MembershipModel.query(db)
    .joinRelated('user')
    .select(
      'memberships.org_id', 'memberships.user_id', 'user.email', 'user.name', 'memberships.role', 'memberships.created_at', 'user.pending',
      // The member's teams of this org as one array column: a correlated array(...) is SQL's to say.
      MembershipModel.raw(
        `array(select tm.team_id from team_members tm join teams t on t.id = tm.team_id
                where t.org_id = memberships.org_id and tm.user_id = memberships.user_id order by tm.team_id) as team_ids`,
      ),
    );
}

function memberView(r: MemberRow): OrgMemberView {
  const v: OrgMemberView = { orgId: r.org_id, userId: r.user_id, email: r.email ?? '', role: r.role, teamIds: r.team_ids ?? [], addedAt: r.created_at, pending: r.pending === true };
  if (r.name !== null) v.displayName = r.name;
  return v;
}

async function loadMember(db: Db, orgId: string, userId: string): Promise<OrgMemberView> {
  const r = await membersWithUser(db).where({ 'memberships.org_id': orgId, 'memberships.user_id': userId }).first().castTo<MemberRow | undefined>();
  if (!r) throw new AppError('NOT_FOUND', 'Member not found');
  return memberView(r);
}

function requireRole(value: unknown): OrgRole {
  if (!isOrgRole(value)) throw new AppError('VALIDATION_FAILED', 'role must be one of owner, admin, member, viewer, publisher-admin');
  return value;
}

/** Locks the org row (membership changes in one org run one at a time) and counts its owners. */
async function lockOrgAndCountOwners(trx: Db, orgId: string): Promise<number> {
  await OrgModel.query(trx).select('id').findById(orgId).forNoKeyUpdate();
  return MembershipModel.query(trx).where({ org_id: orgId, role: 'owner' }).resultSize();
}

/**
 * Who may manage members at all is policy/'s (owners and admins); between two roles the rule is
 * here: an admin neither grants nor touches owner or publisher-admin.
 */
function requireManager(access: Access, targetRole: OrgRole): void {
  if (!canManageRole(access.role, targetRole)) {
    throw new AppError('FORBIDDEN', `Only owners may grant or change the ${targetRole} role`, { requiredRole: 'owner', role: access.role });
  }
}

export interface AddMemberInput {
  orgId: string;
  email: string;
  /** The Keycloak subject, when known; the user need not have signed in yet. */
  userId?: string;
  role: OrgRole;
}

/**
 * Adds a member by email or by Keycloak subject. Existing member → 409 ALREADY_EXISTS.
 *
 * - By email: the account that has signed in with that email *verified* (the identity provider
 *   said they control it) becomes the member. No such account: the membership goes to the
 *   email's pending user — an invitation that the first sign-in whose token carries the same
 *   email verified claims (src/tenancy/users.ts `claimPendingUser`), never an unverified one.
 *   An email some account holds unverified, or holds only because an admin typed it, matches
 *   nobody: an address is trusted only from the identity provider.
 * - By `userId` (a subject known ahead of its first sign-in): its `users` row is created when
 *   missing; the `email` given with it is only a label until that user signs in (unverified,
 *   replaced by the token's), so it can never route a later add-by-email or a paid order to
 *   the account it names.
 */
export async function addMember(db: Db, principal: Principal, input: AddMemberInput): Promise<OrgMemberView> {
  const role = requireRole(input.role);
  const email = typeof input.email === 'string' ? input.email.trim() : '';
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) throw new AppError('VALIDATION_FAILED', 'email must be an email address');
  return inTransaction(db, async (trx) => {
    const access = await resolveAccess(trx, principal, { orgId: input.orgId }, 'any');
    requireManager(access, role);
    await lockOrgAndCountOwners(trx, input.orgId);

    let userId: string;
    if (input.userId !== undefined) {
      if (!/^[A-Za-z0-9._@:-]{1,128}$/.test(input.userId) || isPendingSubject(input.userId)) throw new AppError('VALIDATION_FAILED', 'userId is not valid');
      userId = input.userId;
      // Never overwrite the email of a user who already exists: sign-in keeps it current. A new
      // row's email is unverified, so nothing matches on it.
      await UserModel.query(trx).insert({ id: userId, email, email_verified: false }).onConflict('id').ignore();
    } else {
      await lockEmail(trx, email);
      const verified = await findVerifiedUserByEmail(trx, email);
      userId = verified ? verified.id : (await ensurePendingUser(trx, email)).user.id;
    }
    // objection's insert answers the model it was given even when ON CONFLICT skipped the row;
    // only the statement's RETURNING tells whether this call added the member.
    const inserted = await one(
      trx,
      'insert into memberships (org_id, user_id, role) values (?, ?, ?) on conflict (org_id, user_id) do nothing returning user_id',
      [input.orgId, userId, role],
    );
    if (!inserted) throw new AppError('ALREADY_EXISTS', 'Already a member of this org; change the role instead', { userId });
    return loadMember(trx, input.orgId, userId);
  });
}

export async function listMembers(
  db: Db,
  principal: Principal,
  orgId: string,
  options: PageRequest & { role?: OrgRole } = {},
): Promise<Page<OrgMemberView>> {
  await resolveAccess(db, principal, { orgId }, 'any');
  const { after, limit } = pageArgs(options);
  const q = membersWithUser(db).where('memberships.org_id', orgId);
  if (options.role !== undefined) q.where('memberships.role', requireRole(options.role));
  if (after !== null) q.where('memberships.user_id', '>', after);
  const r = await q.orderBy('memberships.user_id').limit(limit + 1).castTo<MemberRow[]>();
  return toPage(r, limit, (x) => x.user_id, memberView);
}

export interface UpdateMemberRoleInput {
  orgId: string;
  userId: string;
  role: OrgRole;
}

export async function updateMemberRole(db: Db, principal: Principal, input: UpdateMemberRoleInput): Promise<OrgMemberView> {
  const role = requireRole(input.role);
  return inTransaction(db, async (trx) => {
    const access = await resolveAccess(trx, principal, { orgId: input.orgId }, 'any');
    const owners = await lockOrgAndCountOwners(trx, input.orgId);
    const current = await MembershipModel.query(trx).select('role').findById([input.orgId, input.userId]);
    if (!current) throw new AppError('NOT_FOUND', 'Member not found');
    requireManager(access, current.role);
    requireManager(access, role);
    if (current.role === role) return loadMember(trx, input.orgId, input.userId);
    if (current.role === 'owner' && owners <= 1) {
      throw new AppError('CONFLICT', 'The last owner cannot be demoted; make another member owner first');
    }
    await MembershipModel.query(trx).findById([input.orgId, input.userId]).patch({ role, updated_at: fn.now() });
    return loadMember(trx, input.orgId, input.userId);
  });
}

export interface RemoveMemberInput {
  orgId: string;
  userId: string;
}

/** Removes the membership and the user's team memberships in this org. */
export async function removeMember(db: Db, principal: Principal, input: RemoveMemberInput): Promise<void> {
  await inTransaction(db, async (trx) => {
    const access = await resolveAccess(trx, principal, { orgId: input.orgId }, 'any');
    const self = principal.subject === input.userId;
    const owners = await lockOrgAndCountOwners(trx, input.orgId);
    const current = await MembershipModel.query(trx).select('role').findById([input.orgId, input.userId]);
    if (!current) throw new AppError('NOT_FOUND', 'Member not found');
    if (!self) requireManager(access, current.role);
    if (current.role === 'owner' && owners <= 1) {
      throw new AppError('CONFLICT', 'The last owner cannot be removed; make another member owner first');
    }
    const teamsOfOrg = TeamModel.query(trx).select('id').where('org_id', input.orgId);
    await UserModel.relatedQuery('teams', trx).for(input.userId).unrelate().whereIn('teams.id', teamsOfOrg);
    await MembershipModel.query(trx).deleteById([input.orgId, input.userId]);
  });
}
