/**
 * Picks the object store from the environment:
 *
 *   S3_BUCKET set  → S3ObjectStore (MinIO/S3): S3_ENDPOINT (omit for AWS), S3_PUBLIC_ENDPOINT,
 *                    S3_REGION (default us-east-1), S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY
 *                    (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN).
 *   otherwise      → LocalObjectStore under `<DATA_DIR>/objects`, presigned URLs served by the
 *                    control plane at `<control-plane URL>/objects/…`.
 */
import { join } from 'node:path';
import { ConfigError, redactUrl } from '../platform/config';
import { LocalObjectStore } from './local-object-store';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
import type { ObjectStore } from './object-store';

export * from './object-store';
export { LocalObjectStore } from './local-object-store';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
export { localObjectRoute, LOCAL_OBJECT_ROUTE_PREFIX } from './local-object-route';

type Env = Record<string, string | undefined>;

export type StorageSettings =
  | { kind: 'local'; root: string }
  | ({ kind: 's3' } & S3ObjectStoreOptions);

/** Reads and checks the storage variables; every problem is reported at once. */
export function storageSettingsFromEnv(env: Env, dataDir: string): StorageSettings {
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const bucket = get('S3_BUCKET');
  if (!bucket) return { kind: 'local', root: join(dataDir, 'objects') };
  const problems: string[] = [];
  const checkUrl = (name: string) => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`  ${name}: must be an http or https URL (got ${JSON.stringify(redactUrl(raw))})`);
    } catch {
      problems.push(`  ${name}: must be an absolute URL (got ${JSON.stringify(redactUrl(raw))})`);
    }
    return raw;
  };
  const endpoint = checkUrl('S3_ENDPOINT');
  const publicEndpoint = checkUrl('S3_PUBLIC_ENDPOINT');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`  S3_BUCKET: must be a valid bucket name (got ${JSON.stringify(bucket)})`);
  const accessKeyId = get('S3_ACCESS_KEY_ID') ?? get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = get('S3_SECRET_ACCESS_KEY') ?? get('AWS_SECRET_ACCESS_KEY');
  if (!accessKeyId) problems.push('  S3_ACCESS_KEY_ID: is required with S3_BUCKET (or AWS_ACCESS_KEY_ID)');
  if (!secretAccessKey) problems.push('  S3_SECRET_ACCESS_KEY: is required with S3_BUCKET (or AWS_SECRET_ACCESS_KEY)');
  if (problems.length) throw new ConfigError(problems);
  const sessionToken = get('AWS_SESSION_TOKEN');
  return {
    kind: 's3',
    bucket,
    region: get('S3_REGION') ?? get('AWS_REGION') ?? 'us-east-1',
    accessKeyId: accessKeyId!,
    secretAccessKey: secretAccessKey!,
    ...(endpoint ? { endpoint } : {}),
    ...(publicEndpoint ? { publicEndpoint } : {}),
    ...(sessionToken ? { sessionToken } : {}),
  };
}

/**
 * @param controlPlaneUrl  where clients reach the control plane (serves local presigned URLs);
 *                         a function so a port chosen at listen time can be used
 */
export function createObjectStore(settings: StorageSettings, controlPlaneUrl: string | (() => string)): ObjectStore {
  if (settings.kind === 'local') return new LocalObjectStore({ root: settings.root, baseUrl: controlPlaneUrl });
  const { kind: _kind, ...s3 } = settings;
  return new S3ObjectStore(s3);
}
