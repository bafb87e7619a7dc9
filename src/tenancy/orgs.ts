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
import { inTransaction, one, rows, type Db } from '../db/tx';
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

interface ProjectRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  is_default: boolean;
  created_at: Date;
}

const PROJECT_COLUMNS = 'id, org_id, name, description, is_default, created_at';

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

/** Orgs as the member `userId` sees them (with their role). */
const ORG_SELECT = `
  select o.id, o.name, o.personal, o.owner_user_id, o.created_at, m.role as my_role,
         (select p.id from projects p where p.org_id = o.id and p.is_default) as default_project_id,
         (select w.id from wallets w where w.org_id = o.id order by w.created_at, w.id limit 1) as wallet_id
    from orgs o
    join memberships m on m.org_id = o.id and m.user_id = ?`;

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
    const existing = await one<{ id: string }>(trx, 'select id from orgs where personal and owner_user_id = ?', [userId]);
    let orgId = existing?.id;
    let created = false;
    if (orgId === undefined) {
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
        await trx.raw(`insert into projects (id, org_id, name, description, is_default) values (?, ?, 'Default', 'Default project', true)`, [projectId, orgId]);
        await trx.raw(`insert into memberships (org_id, user_id, role) values (?, ?, 'owner')`, [orgId, userId]);
        await createWallet(
          trx,
          { orgId, projectId, starterCredits: options.starterCredits ?? DEFAULT_STARTER_CREDITS, reference: `starter:${orgId}` },
          options.moneyDeps,
        );
      } else {
        // A concurrent call won; its transaction has committed (the insert waited for it).
        orgId = (await one<{ id: string }>(trx, 'select id from orgs where personal and owner_user_id = ?', [userId]))!.id;
      }
    }
    const org = await one<OrgRow>(trx, `${ORG_SELECT} where o.id = ?`, [userId, orgId]);
    if (!org || !org.default_project_id || !org.wallet_id) {
      throw new AppError('INTERNAL', 'Personal workspace is incomplete', undefined, { cause: new Error(`org ${orgId} lacks membership/project/wallet`) });
    }
    const project = (await one<ProjectRow>(trx, `select ${PROJECT_COLUMNS} from projects where id = ?`, [org.default_project_id]))!;
    const wallet = await getWallet(trx, org.wallet_id, options.moneyDeps);
    return { created, org: orgView(org), project: projectView(project), wallet };
  });
}

/** Orgs the caller belongs to, with their role in each. Services belong to none. */
export async function listOrgsForUser(db: Db, principal: Principal, page: PageRequest = {}): Promise<Page<OrgView>> {
  if (principal.kind !== 'user') return { items: [], nextCursor: null };
  const { after, limit } = pageArgs(page);
  const r = await rows<OrgRow>(
    db,
    `${ORG_SELECT} ${after === null ? '' : 'where o.id > ?'} order by o.id limit ?`,
    after === null ? [principal.subject, limit + 1] : [principal.subject, after, limit + 1],
  );
  return toPage(r, limit, (x) => x.id, orgView);
}

export async function getOrg(db: Db, principal: Principal, orgId: string): Promise<OrgView> {
  await resolveAccess(db, principal, { orgId }, 'any');
  return orgView((await one<OrgRow>(db, `${ORG_SELECT} where o.id = ?`, [principal.subject, orgId]))!);
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
    await trx.raw('select id from orgs where id = ? for no key update', [input.orgId]);
    const clash = await one(trx, 'select 1 from projects where org_id = ? and lower(name) = lower(?)', [input.orgId, name]);
    if (clash) throw new AppError('ALREADY_EXISTS', 'A project with this name already exists in the org', { name });
    const row = await one<ProjectRow>(
      trx,
      `insert into projects (id, org_id, name, description, is_default) values (?, ?, ?, ?, false) returning ${PROJECT_COLUMNS}`,
      [newId('prj'), input.orgId, name, description],
    );
    return projectView(row!);
  });
}

export async function listProjects(db: Db, principal: Principal, orgId: string, page: PageRequest = {}): Promise<Page<ProjectView>> {
  await resolveAccess(db, principal, { orgId }, 'any');
  const { after, limit } = pageArgs(page);
  const r = await rows<ProjectRow>(
    db,
    `select ${PROJECT_COLUMNS} from projects where org_id = ? ${after === null ? '' : 'and id > ?'} order by id limit ?`,
    after === null ? [orgId, limit + 1] : [orgId, after, limit + 1],
  );
  return toPage(r, limit, (x) => x.id, projectView);
}

export async function getProject(db: Db, principal: Principal, projectId: string): Promise<ProjectView> {
  await resolveAccess(db, principal, { projectId }, 'any');
  return projectView((await one<ProjectRow>(db, `select ${PROJECT_COLUMNS} from projects where id = ?`, [projectId]))!);
}
