import type { Entitlements } from '../../generated/control-plane/types';
import type { Caller } from '../platform/http/handler-types';
import type { ControlPlaneClient } from '../gateway/cp-client';
import { AppError } from '../platform/errors';

/**
 * The entitlements of an instance as the caller may see them: platform services read them with
 * this service's own token; a user's token is forwarded, so the Control Plane decides scope
 * (another tenant's instance answers 404).
 */
export async function callerEntitlements(
  cp: ControlPlaneClient,
  instanceId: string,
  caller: Caller | undefined,
  authorization: string | undefined,
  o: { requestId: string; signal?: AbortSignal },
): Promise<Entitlements> {
  if (caller?.kind === 'service') return cp.getEntitlements(instanceId, { kind: 'service' }, o);
  const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (!token) throw new AppError('UNAUTHENTICATED', 'A bearer token is required');
  return cp.getEntitlements(instanceId, { kind: 'bearer', token }, o);
}
