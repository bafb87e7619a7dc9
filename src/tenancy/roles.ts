/**
 * Org roles. `viewer < member < admin < owner` form a ladder; `publisher-admin` is a separate
 * role for catalog authoring, off the ladder: it satisfies a `publisher-admin` requirement (an
 * owner does too, since an owner could grant it to themselves anyway) and `any` (reading the org
 * itself), but none of the ladder's requirements (projects, keys, members' data).
 */
export const ORG_ROLES = ['owner', 'admin', 'member', 'viewer', 'publisher-admin'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
/** What an operation requires: a role, or `any` membership of the org. */
export type RequiredRole = OrgRole | 'any';

const LADDER: Record<Exclude<OrgRole, 'publisher-admin'>, number> = { viewer: 1, member: 2, admin: 3, owner: 4 };

export function isOrgRole(value: unknown): value is OrgRole {
  return typeof value === 'string' && (ORG_ROLES as readonly string[]).includes(value);
}

/** True when a member holding `held` may do what needs `required`. */
export function roleSatisfies(held: OrgRole, required: RequiredRole): boolean {
  if (required === 'any') return true;
  if (required === 'publisher-admin') return held === 'publisher-admin' || held === 'owner';
  if (held === 'publisher-admin') return false;
  return LADDER[held] >= LADDER[required];
}

/**
 * Who may grant, change or take away a role. Owners manage everyone. Admins manage admins,
 * members and viewers: they can neither create nor touch owners or publisher-admins (catalog
 * authoring is granted by an owner).
 */
export function canManageRole(actor: OrgRole, target: OrgRole): boolean {
  if (actor === 'owner') return true;
  if (actor === 'admin') return target === 'member' || target === 'viewer' || target === 'admin';
  return false;
}
