/**
 * Picks the object store from the configuration (src/platform/config/sections/storage.ts):
 *
 *   S3_BUCKET set  → S3ObjectStore (MinIO/S3): S3_ENDPOINT (omit for AWS), S3_PUBLIC_ENDPOINT,
 *                    S3_REGION (default us-east-1), S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY
 *                    (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN).
 *   otherwise      → LocalObjectStore under `<DATA_DIR>/objects`, presigned URLs served by the
 *                    control plane at `<control-plane URL>/objects/…`.
 */
import type { StorageSettings } from '../platform/config';
import { LocalObjectStore } from './local-object-store';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
import type { ObjectStore } from './object-store';

export * from './object-store';
export { LocalObjectStore } from './local-object-store';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
export { localObjectRoute, LOCAL_OBJECT_ROUTE_PREFIX } from './local-object-route';

export type { StorageSettings } from '../platform/config';

/**
 * @param controlPlaneUrl  where clients reach the control plane (serves local presigned URLs);
 *                         a function so a port chosen at listen time can be used
 */
export function createObjectStore(settings: StorageSettings, controlPlaneUrl: string | (() => string)): ObjectStore {
  if (settings.kind === 'local') return new LocalObjectStore({ root: settings.root, baseUrl: controlPlaneUrl });
  const { kind: _kind, ...s3 } = settings;
  return new S3ObjectStore(s3);
}
