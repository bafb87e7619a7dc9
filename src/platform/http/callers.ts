/** What kind of caller a request comes from: facts about the credential, never a permission (policy/ decides those). */
import type { Caller } from './handler-types';

/**
 * True when the caller is the platform service holding `svc:<name>`: for what a service does
 * differently (on whose behalf it reads), never for whether it may.
 */
export function isService(caller: Caller | undefined, name: string): boolean {
  return !!caller && (caller.kind === 'service' || caller.kind === 'webhook') && caller.roles.has(`svc:${name}`);
}

/** The Keycloak realm role of platform operators. */
export const PLATFORM_OPERATOR_ROLE = 'platform-operator';

/** True when a signed-in user holds the platform operator realm role. */
export function isPlatformOperator(caller: Caller | undefined): boolean {
  return caller?.kind === 'user' && caller.roles.has(PLATFORM_OPERATOR_ROLE);
}
