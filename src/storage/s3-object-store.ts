/**
 * Object storage on any S3-compatible server (MinIO in the reference deployment, AWS S3).
 *
 * - `forcePathStyle: true`: MinIO serves `http://host/<bucket>/<key>`, not virtual hosts.
 * - `requestChecksumCalculation: 'WHEN_REQUIRED'`: newer SDKs otherwise add CRC checksums —
 *   and a checksum of the *empty* body to presigned PUT URLs, which then refuse real uploads.
 * - Presigning uses `getSignedUrl` (SigV4, query auth). The Content-Type of a presigned PUT is a
 *   signed header: the client must send exactly the `headers` returned with the URL.
 * - `publicEndpoint`: when clients reach the server under another address than the platform
 *   does (in-cluster `http://minio:9000` vs `https://minio.example.com`), URLs are signed for it.
 *
 * Any failure of the server (network, 5xx, refused credentials) becomes STORAGE_UNAVAILABLE;
 * a missing object is `undefined`.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertExpiry,
  assertObjectKey,
  storageUnavailable,
  type ObjectInfo,
  type ObjectStore,
  type PresignedRequest,
  type PresignPutOptions,
  type StoredObject,
} from './object-store';

export interface S3ObjectStoreOptions {
  /** e.g. `http://127.0.0.1:9000` (MinIO). Omit for AWS S3. */
  endpoint?: string;
  /** Endpoint presigned URLs are made for (default `endpoint`). */
  publicEndpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Per-request timeout (default 10 s) and connect timeout (default 2 s). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Attempts per call including the first (default 2: one retry). */
  maxAttempts?: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly presigner: S3Client;

  constructor(opts: S3ObjectStoreOptions) {
    this.bucket = opts.bucket;
    const base = (endpoint: string | undefined): S3ClientConfig => ({
      region: opts.region,
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: {
        accessKeyId: opts.accessKeyId,
        secretAccessKey: opts.secretAccessKey,
        ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}),
      },
      maxAttempts: opts.maxAttempts ?? 2,
      requestHandler: {
        requestTimeout: opts.requestTimeoutMs ?? 10_000,
        connectionTimeout: opts.connectTimeoutMs ?? 2_000,
      },
    });
    this.client = new S3Client(base(opts.endpoint));
    this.presigner = opts.publicEndpoint && opts.publicEndpoint !== opts.endpoint ? new S3Client(base(opts.publicEndpoint)) : this.client;
  }

  uri(key: string): string {
    assertObjectKey(key);
    return `s3://${this.bucket}/${key}`;
  }

  async put(key: string, bytes: Uint8Array, opts: { contentType: string }): Promise<ObjectInfo> {
    assertObjectKey(key);
    try {
      const out = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: opts.contentType, ContentLength: bytes.byteLength }),
      );
      return { key, size: bytes.byteLength, contentType: opts.contentType, ...(out.ETag ? { etag: out.ETag } : {}), lastModified: new Date() };
    } catch (err) {
      throw storageUnavailable('put', err);
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertObjectKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
      return {
        key,
        bytes,
        size: bytes.length,
        contentType: out.ContentType ?? 'application/octet-stream',
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageUnavailable('get', err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertObjectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        size: Number(out.ContentLength ?? 0),
        contentType: out.ContentType ?? 'application/octet-stream',
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw storageUnavailable('head', err);
    }
  }

  async delete(key: string): Promise<void> {
    assertObjectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw storageUnavailable('delete', err);
    }
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<PresignedRequest> {
    assertObjectKey(key);
    assertExpiry(opts.expiresInSeconds);
    const expiresAt = new Date(Date.now() + opts.expiresInSeconds * 1000);
    try {
      const url = await getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: opts.expiresInSeconds });
      return { url, method: 'GET', headers: {}, expiresAt };
    } catch (err) {
      throw storageUnavailable('presignGet', err);
    }
  }

  async presignPut(key: string, opts: PresignPutOptions): Promise<PresignedRequest> {
    assertObjectKey(key);
    assertExpiry(opts.expiresInSeconds);
    const expiresAt = new Date(Date.now() + opts.expiresInSeconds * 1000);
    try {
      const url = await getSignedUrl(
        this.presigner,
        new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType }),
        { expiresIn: opts.expiresInSeconds, signableHeaders: new Set(['content-type']) },
      );
      return { url, method: 'PUT', headers: { 'content-type': opts.contentType }, expiresAt };
    } catch (err) {
      throw storageUnavailable('presignPut', err);
    }
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (e?.name === 'NoSuchBucket') return false; // a misconfiguration, not a missing object
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
