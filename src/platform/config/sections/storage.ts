import { join } from 'node:path';
import { defineSection } from '../define';

/** The object store settings: S3/MinIO, or local files under DATA_DIR (development only). */
export type StorageSettings =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken?: string;
      endpoint?: string;
      publicEndpoint?: string;
    };

/** Object storage for flow artifacts and knowledge-base uploads. */
export const storage = defineSection({
  id: 'storage',
  title: 'Object storage (flow artifacts, knowledge-base uploads)',
  vars: {
    S3_BUCKET: { doc: 'S3/MinIO bucket; unset = local files in <DATA_DIR>/objects with presigned URLs served by the control plane.', example: 'agentstore', required: 'production (control-plane)' },
    S3_ENDPOINT: { doc: 'S3 endpoint (MinIO: http://minio:9000; path-style); omit for AWS.' },
    S3_PUBLIC_ENDPOINT: { doc: 'Endpoint presigned URLs are made for (what browsers reach).', default: 'the value of S3_ENDPOINT' },
    S3_REGION: { doc: 'Region.', default: 'AWS_REGION, else us-east-1' },
    S3_ACCESS_KEY_ID: { doc: 'Access key id (or AWS_ACCESS_KEY_ID).', secret: true, required: 'with S3_BUCKET' },
    S3_SECRET_ACCESS_KEY: { doc: 'Secret access key (or AWS_SECRET_ACCESS_KEY).', secret: true, required: 'with S3_BUCKET' },
    AWS_REGION: { doc: 'Fallback for S3_REGION.' },
    AWS_ACCESS_KEY_ID: { doc: 'Fallback for S3_ACCESS_KEY_ID.', secret: true },
    AWS_SECRET_ACCESS_KEY: { doc: 'Fallback for S3_SECRET_ACCESS_KEY.', secret: true },
    AWS_SESSION_TOKEN: { doc: 'Session token of temporary AWS credentials.', secret: true },
  },
  read(r, ctx): { storage: StorageSettings } {
    const bucket = r.str('S3_BUCKET');
    if (!bucket) return { storage: { kind: 'local', root: join(ctx.dataDir, 'objects') } };
    const endpoint = r.url('S3_ENDPOINT');
    const publicEndpoint = r.url('S3_PUBLIC_ENDPOINT');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) r.problem('S3_BUCKET', 'must be a valid bucket name', bucket);
    const accessKeyId = r.str('S3_ACCESS_KEY_ID') ?? r.str('AWS_ACCESS_KEY_ID');
    const secretAccessKey = r.str('S3_SECRET_ACCESS_KEY') ?? r.str('AWS_SECRET_ACCESS_KEY');
    if (!accessKeyId) r.problem('S3_ACCESS_KEY_ID', 'is required with S3_BUCKET (or AWS_ACCESS_KEY_ID)');
    if (!secretAccessKey) r.problem('S3_SECRET_ACCESS_KEY', 'is required with S3_BUCKET (or AWS_SECRET_ACCESS_KEY)');
    const sessionToken = r.str('AWS_SESSION_TOKEN');
    return {
      storage: {
        kind: 's3',
        bucket,
        region: r.str('S3_REGION') ?? r.str('AWS_REGION') ?? 'us-east-1',
        accessKeyId: accessKeyId ?? '',
        secretAccessKey: secretAccessKey ?? '',
        ...(endpoint ? { endpoint } : {}),
        ...(publicEndpoint ? { publicEndpoint } : {}),
        ...(sessionToken ? { sessionToken } : {}),
      },
    };
  },
});
