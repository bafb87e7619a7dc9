/**
 * Who is calling: the platform's view of a verified access token (Keycloak-shaped claims).
 * Built only by the token verifier (or by API-key / widget-session auth elsewhere); handlers
 * never read raw claims.
 */
export interface Principal {
  kind: 'user' | 'service';
  /** Token `sub`. For users it is the Keycloak user id and the platform's `users.id`. */
  subject: string;
  email?: string;
  /** `email_verified` is true: the identity provider checked that the user controls `email`. */
  emailVerified?: boolean;
  name?: string;
  /** `realm_access.roles`. */
  realmRoles: string[];
  /** `resource_access.<clientId>.roles`, per client. */
  clientRoles: Record<string, string[]>;
  /**
   * Roles the platform acts on: realm roles ∪ the roles of *this API's* client
   * (`resource_access[<audience>]`). Roles another client defines (for example Keycloak's
   * `account` client) stay visible in `clientRoles` but grant nothing here.
   */
  roles: Set<string>;
  /** `client_id` (newer Keycloak), `clientId` (older), else `azp`. */
  clientId?: string;
  /** `scope`, split on spaces. */
  scopes: string[];
  /** `jti`. */
  tokenId?: string;
}

/**
 * Roles carried by the platform's own services (Keycloak service accounts, client-credentials
 * grant). Keyed by the service's short name (the one `npm run token -- --service <name>` takes).
 */
export const SERVICE_ROLES = {
  /** Billing authorize/settle/void, entitlement reads. */
  gateway: 'svc:gateway',
  /** Commerce integration: order-paid. */
  provisioner: 'svc:provisioner',
  runner: 'svc:runner',
  'connector-gateway': 'svc:connector-gateway',
  /** argocd-notifications webhook. */
  argocd: 'svc:argocd',
  /** The Control Plane's scheduler: starts the runs of schedules and webhook triggers through the gateway. */
  scheduler: 'svc:scheduler',
} as const;

export type ServiceName = keyof typeof SERVICE_ROLES;
export type ServiceRole = (typeof SERVICE_ROLES)[ServiceName];

export const SERVICE_NAMES = Object.keys(SERVICE_ROLES) as ServiceName[];

export function isServiceName(value: string): value is ServiceName {
  return Object.hasOwn(SERVICE_ROLES, value);
}

/** True when the principal is a service account holding `role`. Users never pass, whatever roles they carry. */
export function hasServiceRole(principal: Principal, role: ServiceRole): boolean {
  return principal.kind === 'service' && principal.roles.has(role);
}

const SERVICE_ACCOUNT_PREFIX = 'service-account-';

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Maps verified Keycloak access-token claims to a Principal. `audience` names the client whose
 * roles count as platform roles. Claims must already be verified (signature, iss, aud, exp).
 */
export function principalFromClaims(claims: Record<string, unknown>, audience: string): Principal {
  const subject = optionalString(claims.sub);
  if (subject === undefined) throw new TypeError('token has no subject');

  const realmAccess = claims.realm_access as { roles?: unknown } | undefined;
  const realmRoles = stringArray(realmAccess?.roles);

  const clientRoles: Record<string, string[]> = {};
  const resourceAccess = claims.resource_access;
  if (resourceAccess !== null && typeof resourceAccess === 'object' && !Array.isArray(resourceAccess)) {
    for (const [client, access] of Object.entries(resourceAccess as Record<string, unknown>)) {
      const roles = stringArray((access as { roles?: unknown } | null)?.roles);
      if (roles.length > 0) clientRoles[client] = roles;
    }
  }
  const roles = new Set<string>([...realmRoles, ...(clientRoles[audience] ?? [])]);

  const clientIdClaim = optionalString(claims.client_id) ?? optionalString(claims.clientId);
  const clientId = clientIdClaim ?? optionalString(claims.azp);
  const email = optionalString(claims.email);
  const preferredUsername = optionalString(claims.preferred_username);
  const isService =
    (preferredUsername?.startsWith(SERVICE_ACCOUNT_PREFIX) ?? false) ||
    (clientIdClaim !== undefined && email === undefined);

  const principal: Principal = {
    kind: isService ? 'service' : 'user',
    subject,
    realmRoles,
    clientRoles,
    roles,
    scopes: (optionalString(claims.scope) ?? '').split(' ').filter((s) => s.length > 0),
  };
  if (email !== undefined) {
    principal.email = email;
    principal.emailVerified = claims.email_verified === true;
  }
  const name = optionalString(claims.name) ?? preferredUsername;
  if (name !== undefined) principal.name = name;
  if (clientId !== undefined) principal.clientId = clientId;
  const jti = optionalString(claims.jti);
  if (jti !== undefined) principal.tokenId = jti;
  return principal;
}
