import { capabilityHandlers } from '../../generated/capabilities/handler-registry';
import type { Manifest } from '../capabilities/handler-types';
import { DEFAULT_VAULT_KV_MOUNT, PLATFORM_GROUP } from '../capabilities/manifest';
import { tenantNamespace } from '../gitops/naming';
import { AppError } from '../platform/errors';
import type { InstanceRow } from './rows';

/** Marks every manifest of a paused instance; the gateway also refuses paused instances itself. */
export const PAUSED_ANNOTATION = `${PLATFORM_GROUP}/paused`;
/** Changes on every secret rotation so External Secrets refreshes the synced values. */
export const ROTATED_ANNOTATION = `${PLATFORM_GROUP}/secrets-rotated-at`;
/** The desired-state generation a commit carries. */
export const GENERATION_ANNOTATION = `${PLATFORM_GROUP}/generation`;

/**
 * The manifests of an instance: every capability handler's `desiredState` over the instance's
 * effective config, with the instance-level annotations added. Connector bindings are passed as
 * Vault references only.
 */
export function renderDesiredState(
  row: InstanceRow,
  env: string,
  opts: { rotatedAt?: string; bindings?: { bindingId: string; connectorId: string; vaultPath: string }[]; vaultMount?: string } = {},
): Manifest[] {
  const manifests: Manifest[] = [];
  for (const [capabilityId, config] of Object.entries(row.effective_config)) {
    const handler = (capabilityHandlers as Record<string, { desiredState(ctx: unknown): Manifest[] }>)[capabilityId];
    if (!handler) throw new AppError('INVALID_CONFIG', `Capability ${capabilityId} has no handler`, { capability: capabilityId });
    manifests.push(
      ...handler.desiredState({
        instanceId: row.id,
        orgId: row.org_id,
        projectId: row.project_id,
        offeringId: row.offering_id,
        versionId: row.version_id,
        planId: row.plan_id,
        env,
        namespace: tenantNamespace(row.org_id),
        config,
        vaultMount: opts.vaultMount ?? DEFAULT_VAULT_KV_MOUNT,
        bindings: opts.bindings ?? [],
      }),
    );
  }
  for (const m of manifests) {
    const annotations: Record<string, string> = { ...(m.metadata.annotations ?? {}), [GENERATION_ANNOTATION]: String(row.generation) };
    if (row.state === 'paused') annotations[PAUSED_ANNOTATION] = 'true';
    if (opts.rotatedAt && m.kind === 'ExternalSecret') annotations[ROTATED_ANNOTATION] = opts.rotatedAt;
    m.metadata.annotations = annotations;
  }
  return manifests;
}
