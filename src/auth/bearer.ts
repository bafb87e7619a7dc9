import type { Principal, TokenVerifier } from '../identity';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import type { SecurityResolver } from '../platform/http/create-service-app';

export function callerFromPrincipal(p: Principal, scheme: string): Caller {
  const caller: Caller = { kind: p.kind, subject: p.subject, roles: p.roles, scheme, principal: p };
  if (p.email) caller.email = p.email;
  if (p.name) caller.name = p.name;
  return caller;
}

/** `Authorization: Bearer <JWT>` verified against the configured issuer. */
export function bearerResolver(verifier: TokenVerifier, scheme = 'bearerAuth'): SecurityResolver {
  return async ({ headers }) => {
    const header = headers.authorization;
    if (!header) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
    return callerFromPrincipal(await verifier.verify(match[1]), scheme);
  };
}
