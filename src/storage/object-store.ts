/**
 * Object storage behind one small interface, with two implementations:
 *
 * - `LocalObjectStore` (embedded default): files under `<dataDir>/objects`, presigned URLs served
 *   by the control plane itself (`/objects/<key>?…&sig=…`, HMAC-SHA256).
 * - `S3ObjectStore` (production): any S3-compatible server (MinIO, AWS S3) through
 *   `@aws-sdk/client-s3`, presigned with SigV4.
 *
 * Keys are S3-style paths (`artifacts/sha256/<hex>.json`, `rag/<orgId>/<projectId>/<file>`).
 * Every failure of the storage itself (unreachable, refused credentials, disk errors) surfaces as
 * `STORAGE_UNAVAILABLE` (503); a missing object is `undefined`, not an error.
 */
import { AppError } from '../platform/errors';

export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  /** Opaque version tag (S3 ETag, or the sha256 of the bytes for the local store). */
  etag?: string;
  lastModified?: Date;
}

export interface StoredObject extends ObjectInfo {
  bytes: Buffer;
}

/** A request a client can make without credentials until `expiresAt`. */
export interface PresignedRequest {
  url: string;
  method: 'GET' | 'PUT';
  /** Headers the client must send exactly as given (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface PresignPutOptions {
  contentType: string;
  expiresInSeconds: number;
  /**
   * Largest accepted upload. The local store enforces it on the upload itself; a presigned S3
   * PUT cannot carry a size limit, so with S3 the caller must `head()` the object after the
   * upload and reject (and delete) an oversized one.
   */
  maxBytes?: number;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** A stable address of the object for records (`s3://<bucket>/<key>`, `local://objects/<key>`). */
  uri(key: string): string;
  put(key: string, bytes: Uint8Array, opts: { contentType: string }): Promise<ObjectInfo>;
  get(key: string): Promise<StoredObject | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  presignPut(key: string, opts: PresignPutOptions): Promise<PresignedRequest>;
  presignGet(key: string, opts: { expiresInSeconds: number }): Promise<PresignedRequest>;
}

/** Longest presigned URL lifetime we hand out (SigV4 allows 7 days; we never need that much). */
export const MAX_PRESIGN_SECONDS = 24 * 3600;

const SEGMENT = /^[A-Za-z0-9!_.*'()=+@,-]+$/;

/**
 * Refuses keys that could escape a prefix or mean different things to different stores:
 * empty, over 1024 bytes, absolute, `.`/`..` segments, empty segments, or characters outside
 * S3's "safe" set (letters, digits, `!_.*'()=+@,-` and `/` between segments).
 */
export function assertObjectKey(key: string): void {
  const bad = (why: string) => new AppError('VALIDATION_FAILED', `Invalid object key: ${why}`, { key: key.slice(0, 200) });
  if (typeof key !== 'string' || key.length === 0) throw bad('empty');
  if (Buffer.byteLength(key) > 1024) throw bad('longer than 1024 bytes');
  for (const segment of key.split('/')) {
    if (segment === '') throw bad('empty path segment (leading, trailing or double slash)');
    if (segment === '.' || segment === '..') throw bad('relative path segment');
    if (!SEGMENT.test(segment)) throw bad('characters outside A-Z a-z 0-9 ! _ . * \' ( ) = + @ , - /');
  }
}

export function assertExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new AppError('VALIDATION_FAILED', `Presigned URL lifetime must be 1 to ${MAX_PRESIGN_SECONDS} seconds`, { expiresInSeconds: seconds });
  }
}

/** The one error a storage failure becomes. The cause is logged, never answered. */
export function storageUnavailable(operation: string, cause: unknown): AppError {
  return new AppError('STORAGE_UNAVAILABLE', 'Object storage is unavailable', { operation }, { cause });
}
