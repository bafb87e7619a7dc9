/**
 * Access tokens shaped the way Keycloak would issue them from deploy/keycloak/realm.json, so the
 * realm's clients, roles, scopes and mappers can be tested against the platform's verifier
 * without a Keycloak server. Follows Keycloak's token assembly (keycloak/keycloak):
 * - services/.../protocol/oidc/TokenManager.java: base claims (iss, sub, typ, azp, exp, iat, jti,
 *   scope from the client's default client scopes with `include.in.token.scope`), then every
 *   protocol mapper of those scopes and of the client itself;
 * - roles visible to a token = the user's role mappings ∩ the client's scope
 *   (`fullScopeAllowed`, else the realm's `scopeMappings` / `clientScopeMappings` for the client);
 * - mappers: oidc-usermodel-realm-role-mapper (`realm_access.roles`),
 *   oidc-usermodel-client-role-mapper (`resource_access.<client>.roles`), oidc-audience-mapper
 *   (`included.client.audience` into `aud`), oidc-audience-resolve-mapper (every client whose
 *   roles are in `resource_access`, except the requesting one, into `aud`),
 *   oidc-usermodel-attribute-mapper (username → preferred_username, email),
 *   oidc-usermodel-property-mapper (emailVerified), oidc-usersessionmodel-note-mapper
 *   (client_id for service accounts), oidc-sub-mapper;
 * - a service account's user is `service-account-<clientId>` (client-credentials grant).
 */
import { randomUUID } from 'node:crypto';

interface Mapper { name: string; protocolMapper: string; config: Record<string, string> }
interface RealmClient { clientId: string; fullScopeAllowed?: boolean; defaultClientScopes?: string[]; protocolMappers?: Mapper[]; serviceAccountsEnabled?: boolean; publicClient?: boolean; bearerOnly?: boolean }
export interface Realm {
  realm: string;
  roles: { realm: { name: string }[]; client: Record<string, { name: string }[]> };
  clientScopes: { name: string; attributes?: Record<string, string>; protocolMappers?: Mapper[] }[];
  clients: RealmClient[];
  clientScopeMappings?: Record<string, { client: string; roles: string[] }[]>;
  scopeMappings?: { client: string; roles: string[] }[];
  users?: { username: string; serviceAccountClientId?: string; realmRoles?: string[]; clientRoles?: Record<string, string[]> }[];
}

export interface TokenUser {
  username: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  realmRoles?: string[];
  clientRoles?: Record<string, string[]>;
}

/** The claims Keycloak puts in an access token that `clientId` obtains for `user` (or for its service account). */
export function accessTokenClaims(realm: Realm, issuerBase: string, clientId: string, user?: TokenUser): Record<string, unknown> {
  const client = realm.clients.find((c) => c.clientId === clientId);
  if (!client) throw new Error(`no client ${clientId} in realm ${realm.realm}`);
  if (!user) {
    if (!client.serviceAccountsEnabled) throw new Error(`${clientId} has no service account`);
    const sa = realm.users?.find((u) => u.serviceAccountClientId === clientId);
    user = { username: `service-account-${clientId}`, realmRoles: sa?.realmRoles ?? [], clientRoles: sa?.clientRoles ?? {} };
  }
  const scopes = (client.defaultClientScopes ?? []).map((name) => {
    const s = realm.clientScopes.find((x) => x.name === name);
    if (!s) throw new Error(`client ${clientId} names unknown client scope ${name}`);
    return s;
  });
  // Roles the client may see: fullScopeAllowed, or the scope mappings made for it.
  const inScopeRealm = (role: string) => client.fullScopeAllowed !== false || (realm.scopeMappings ?? []).some((m) => m.client === clientId && m.roles.includes(role));
  const inScopeClient = (owner: string, role: string) => client.fullScopeAllowed !== false || owner === clientId
    || (realm.clientScopeMappings?.[owner] ?? []).some((m) => m.client === clientId && m.roles.includes(role));
  const realmRoles = (user.realmRoles ?? []).filter(inScopeRealm);
  const clientRoles = Object.fromEntries(Object.entries(user.clientRoles ?? {}).map(([owner, roles]) => [owner, roles.filter((r) => inScopeClient(owner, r))]).filter(([, r]) => r.length > 0));

  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    exp: now + 300, iat: now, jti: randomUUID(), iss: `${issuerBase.replace(/\/+$/, '')}/realms/${realm.realm}`,
    typ: 'Bearer', azp: clientId, acr: '1',
    scope: [...(user.email !== undefined ? ['openid'] : []), ...scopes.filter((s) => s.attributes?.['include.in.token.scope'] === 'true').map((s) => s.name)].join(' '),
  };
  const aud = new Set<string>();
  const mappers = [...scopes.flatMap((s) => s.protocolMappers ?? []), ...(client.protocolMappers ?? [])];
  const accessToken = (m: Mapper) => m.config['access.token.claim'] !== 'false';
  for (const m of mappers.filter(accessToken)) {
    switch (m.protocolMapper) {
      case 'oidc-sub-mapper': claims.sub = `kc-${user.username}`; break;
      case 'oidc-usermodel-realm-role-mapper': if (realmRoles.length) claims.realm_access = { roles: realmRoles }; break;
      case 'oidc-usermodel-client-role-mapper': if (Object.keys(clientRoles).length) claims.resource_access = Object.fromEntries(Object.entries(clientRoles).map(([c, r]) => [c, { roles: r }])); break;
      case 'oidc-audience-mapper': if (m.config['included.client.audience']) aud.add(m.config['included.client.audience']); if (m.config['included.custom.audience']) aud.add(m.config['included.custom.audience']); break;
      case 'oidc-audience-resolve-mapper': for (const c of Object.keys(clientRoles)) if (c !== clientId) aud.add(c); break;
      case 'oidc-usermodel-attribute-mapper': {
        const value = m.config['user.attribute'] === 'username' ? user.username : m.config['user.attribute'] === 'email' ? user.email : undefined;
        if (value !== undefined) claims[m.config['claim.name']!] = value;
        break;
      }
      case 'oidc-usermodel-property-mapper': if (m.config['user.attribute'] === 'emailVerified' && user.email !== undefined) claims[m.config['claim.name']!] = user.emailVerified ?? false; break;
      case 'oidc-full-name-mapper': if (user.name) claims.name = user.name; break;
      case 'oidc-usersessionmodel-note-mapper': if (m.config['user.session.note'] === 'client_id' && user.username.startsWith('service-account-')) claims[m.config['claim.name']!] = clientId; break;
      default: break;
    }
  }
  if (aud.size) claims.aud = aud.size === 1 ? [...aud][0] : [...aud];
  return claims;
}
