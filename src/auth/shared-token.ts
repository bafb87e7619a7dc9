import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../platform/errors';
import type { SecurityResolver } from '../platform/http/create-service-app';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * A static shared secret in a header (argocd-notifications webhooks cannot sign bodies).
 * Compared in constant time; with no secret configured every call is refused.
 */
export function sharedTokenResolver(opts: { header: string; token?: string; subject: string; roles: string[]; scheme: string }): SecurityResolver {
  const expected = opts.token ? digest(opts.token) : undefined;
  return async ({ headers }) => {
    const presented = headers[opts.header.toLowerCase()];
    if (presented === undefined) return undefined;
    if (!expected) throw new AppError('UNAUTHENTICATED', `${opts.header} is not accepted: no webhook token is configured`);
    if (!timingSafeEqual(digest(presented), expected)) throw new AppError('UNAUTHENTICATED', `${opts.header} is not valid`);
    return { kind: 'webhook', subject: opts.subject, roles: new Set(opts.roles), scheme: opts.scheme };
  };
}
