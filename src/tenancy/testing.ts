/** Test helpers for tenancy: principals as the token verifier would build them. Not for production code. */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../identity/principal';

export function userPrincipal(name = 'user', subject: string = randomUUID()): Principal {
  return {
    kind: 'user',
    subject,
    email: `${name}-${subject.slice(0, 8)}@example.test`,
    // As the identity provider says after the user confirmed their address.
    emailVerified: true,
    name,
    realmRoles: [],
    clientRoles: {},
    roles: new Set(),
    scopes: ['openid', 'profile', 'email'],
  };
}

export function servicePrincipal(role = 'svc:gateway'): Principal {
  return {
    kind: 'service',
    subject: `service-account-${role.replace(/^svc:/, '')}`,
    realmRoles: [role],
    clientRoles: {},
    roles: new Set([role]),
    clientId: role.replace(/^svc:/, ''),
    scopes: [],
  };
}
