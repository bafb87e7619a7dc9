import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';

/** The Keycloak realm role of platform operators (dead-letter inspection and replay). */
export const OPERATOR_ROLE = 'platform-operator';

export function requireOperator(caller: Caller | undefined): void {
  if (!caller?.roles.has(OPERATOR_ROLE)) {
    throw new AppError('FORBIDDEN', `This operation needs the ${OPERATOR_ROLE} role`, { requiredRoles: [OPERATOR_ROLE] });
  }
}
