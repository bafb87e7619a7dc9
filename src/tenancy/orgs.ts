/**
 * Orgs and projects. `createOrgAuto` is the buyer's first step (POST /orgs/auto): one personal
 * org per user, with a default project, an owner membership and a wallet holding the starter
 * grant — all in one transaction, idempotent per user, and safe under concurrent calls (the
 * partial unique index `orgs_personal_owner_uq` decides the winner; losers read the winner's).
 */
import type { Principal } from '../identity/principal';
import { createWallet, getWallet } from '../money/wallets';
import { DEFAULT_STARTER_CREDITS, type MoneyDeps, type WalletView } from '../money/types';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { inTransaction, one, type Db } from '../db/tx';
import { MembershipModel, OrgModel, ProjectModel } from './models';
import { pageArgs, toPage, type Page, type PageRequest } from './page';
import type { OrgRole } from './roles';
import { resolveAccess } from './scope';
import { ensureUser } from './users';

export interface OrgView {
  id: string;
  name: string;
  slug: string;
  personal: boolean;
  ownerUserId: string;
  defaultProjectId: string;
  walletId: string;
  myRole: OrgRole;
  createdAt: Date;
}

export interface ProjectView {
  id: string;
  orgId: string;
  name: string;
  slug: string;
  description?: string;
  isDefault: boolean;
  createdAt: Date;
}

export interface Workspace {
  /** False when the caller's personal org already existed (nothing was created). */
  created: boolean;
  org: OrgView;
  project: ProjectView;
  wallet: WalletView;
}

export interface CreateOrgAutoOptions {
  /** Workspace name; default "<user name>'s workspace". */
  name?: string;
  /** Starter grant on the new wallet; default the money domain's DEFAULT_STARTER_CREDITS. */
  starterCredits?: number;
  moneyDeps?: MoneyDeps;
}

interface OrgRow {
  id: string;
  name: string;
  personal: boolean;
  owner_user_id: string | null;
  created_at: Date;
  my_role: OrgRole;
  default_project_id: string | null;
  wallet_id: string | null;
}

type ProjectRow = Pick<ProjectModel, 'id' | 'org_id' | 'name' | 'description' | 'is_default' | 'created_at'>;

/** "Ada's workspace" → "ada-s-workspace". */
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  return s || 'org';
}

function orgView(r: OrgRow): OrgView {
  return {
    id: r.id,
    name: r.name,
    slug: slugify(r.name),
    personal: r.personal,
    ownerUserId: r.owner_user_id ?? '',
    defaultProjectId: r.default_project_id ?? '',
    walletId: r.wallet_id ?? '',
    myRole: r.my_role,
    createdAt: r.created_at,
  };
}

export function projectView(r: ProjectRow): ProjectView {
  const v: ProjectView = { id: r.id, orgId: r.org_id, name: r.name, slug: slugify(r.name), isDefault: r.is_default, createdAt: r.created_at };
  if (r.description !== null) v.description = r.description;
  return v;
}

/** Orgs as the member `userId` sees them (with their role, default project and first wallet). */
function orgsOfMember(db: Db, userId: string) {
  return OrgModel.query(db)
    .select(
      'orgs.id', 'orgs.name', 'orgs.personal', 'orgs.owner_user_id', 'orgs.created_at', 'members.role as my_role',
      OrgModel.relatedQuery('projects').select('projects.id').where('projects.is_default', true).as('default_project_id'),
      OrgModel.relatedQuery('wallets').select('wallets.id').orderBy(['wallets.created_at', 'wallets.id']).limit(1).as('wallet_id'),
    )
    .joinRelated('members')
    .where('members.user_id', userId);
}

function cleanName(field: string, value: string | undefined, max = 120): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v.length === 0 || v.length > max) throw new AppError('VALIDATION_FAILED', `${field} must be 1 to ${max} characters`);
  return v;
}

function defaultWorkspaceName(p: Principal): string {
  const who = p.name ?? p.email?.split('@')[0];
  return who ? `${who}'s workspace`.slice(0, 120) : 'My workspace';
}

export async function createOrgAuto(db: Db, principal: Principal, options: CreateOrgAutoOptions = {}): Promise<Workspace> {
  if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'Service accounts have no personal workspace');
  const name = cleanName('name', options.name) ?? defaultWorkspaceName(principal);
  return inTransaction(db, async (trx) => {
    await ensureUser(trx, principal);
    const userId = principal.subject;
    const personalOrg = () => OrgModel.query(trx).select('id').where({ personal: true, owner_user_id: userId }).first();
    const existing = await personalOrg();
    let orgId = existing?.id;
    let created = false;
    if (orgId === undefined) {
      // The conflict target is a partial unique index (one personal org per user): its predicate
      // has to be spelled out, which only SQL can.
      const inserted = await one<{ id: string }>(
        trx,
        `insert into orgs (id, name, personal, owner_user_id) values (?, ?, true, ?)
         on conflict (owner_user_id) where personal and owner_user_id is not null do nothing
         returning id`,
        [newId('org'), name, userId],
      );
      if (inserted) {
        orgId = inserted.id;
        created = true;
        const projectId = newId('prj');
        await ProjectModel.query(trx).insert({ id: projectId, org_id: orgId, name: 'Default', description: 'Default project', is_default: true });
        await MembershipModel.query(trx).insert({ org_id: orgId, user_id: userId, role: 'owner' });
        await createWallet(
          trx,
          { orgId, projectId, starterCredits: options.starterCredits ?? DEFAULT_STARTER_CREDITS, reference: `starter:${orgId}` },
          options.moneyDeps,
        );
      } else {
        // A concurrent call won; its transaction has committed (the insert waited for it).
        orgId = (await personalOrg())!.id;
      }
    }
    const org = await orgsOfMember(trx, userId).where('orgs.id', orgId!).first().castTo<OrgRow | undefined>();
    if (!org || !org.default_project_id || !org.wallet_id) {
      throw new AppError('INTERNAL', 'Personal workspace is incomplete', undefined, { cause: new Error(`org ${orgId} lacks membership/project/wallet`) });
    }
    const project = (await ProjectModel.query(trx).findById(org.default_project_id))!;
    const wallet = await getWallet(trx, org.wallet_id, options.moneyDeps);
    return { created, org: orgView(org), project: projectView(project), wallet };
  });
}

/** Orgs the caller belongs to, with their role in each. Services belong to none. */
export async function listOrgsForUser(db: Db, principal: Principal, page: PageRequest = {}): Promise<Page<OrgView>> {
  if (principal.kind !== 'user') return { items: [], nextCursor: null };
  const { after, limit } = pageArgs(page);
  const q = orgsOfMember(db, principal.subject).orderBy('orgs.id').limit(limit + 1).castTo<OrgRow[]>();
  if (after !== null) q.where('orgs.id', '>', after);
  const r = await q;
  return toPage(r, limit, (x) => x.id, orgView);
}

export async function getOrg(db: Db, principal: Principal, orgId: string): Promise<OrgView> {
  await resolveAccess(db, principal, { orgId }, 'any');
  return orgView(await orgsOfMember(db, principal.subject).where('orgs.id', orgId).first().castTo<OrgRow>());
}

export interface CreateProjectInput {
  orgId: string;
  name: string;
  description?: string;
}

export async function createProject(db: Db, principal: Principal, input: CreateProjectInput): Promise<ProjectView> {
  const name = cleanName('name', input.name)!;
  const description = input.description === undefined ? null : input.description.slice(0, 1000);
  return inTransaction(db, async (trx) => {
    await resolveAccess(trx, principal, { orgId: input.orgId }, 'any');
    // Serialises project creation per org, so the name check below cannot race.
    await OrgModel.query(trx).select('id').findById(input.orgId).forNoKeyUpdate();
    const clash = await ProjectModel.query(trx).select('id').where('org_id', input.orgId).whereRaw('lower(name) = lower(?)', [name]).first();
    if (clash) throw new AppError('ALREADY_EXISTS', 'A project with this name already exists in the org', { name });
    const row = await ProjectModel.query(trx)
      .insert({ id: newId('prj'), org_id: input.orgId, name, description, is_default: false })
      .returning('*');
    return projectView(row);
  });
}

export async function listProjects(db: Db, principal: Principal, orgId: string, page: PageRequest = {}): Promise<Page<ProjectView>> {
  await resolveAccess(db, principal, { orgId }, 'any');
  const { after, limit } = pageArgs(page);
  const q = ProjectModel.query(db).where('org_id', orgId).orderBy('id').limit(limit + 1);
  if (after !== null) q.where('id', '>', after);
  const r = await q;
  return toPage(r, limit, (x) => x.id, projectView);
}

export async function getProject(db: Db, principal: Principal, projectId: string): Promise<ProjectView> {
  await resolveAccess(db, principal, { projectId }, 'any');
  return projectView((await ProjectModel.query(db).findById(projectId))!);
}
