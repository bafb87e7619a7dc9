/**
 * Fetching a version's flow artifact and proving it is the one that was certified.
 *
 * `artifact.uri` is an http(s) URL (the control plane's presigned GET URLs) or an object-store
 * address (`s3://<bucket>/<key>`, `local://objects/<key>`) read through an injected
 * `ArtifactObjectReader` (the object store of src/storage fits it). The bytes are read with a
 * timeout and a size cap, their sha256 is computed over exactly those bytes, and a mismatch is
 * refused with 422 ARTIFACT_INTEGRITY_FAILED (details: expected and actual digests, never the
 * content). Verified bytes, and only verified bytes, are kept in an in-process LRU cache keyed
 * by sha256, so a cached artifact is by construction the certified one.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../platform/errors';
import { deadline } from '../runtime/deadline';
import { LruCache } from '../platform/lru-cache';

export interface ArtifactRef {
  uri: string;
  sha256: string;
}

export interface FetchedArtifact {
  bytes: Buffer;
  sha256: string;
  sizeBytes: number;
  /** Served from the verified-bytes cache without touching storage. */
  cacheHit: boolean;
}

export interface ArtifactFetcher {
  /** The verified bytes of `artifact`; throws ARTIFACT_INTEGRITY_FAILED, STORAGE_UNAVAILABLE or DEPENDENCY_TIMEOUT. */
  fetch(artifact: ArtifactRef, opts?: { signal?: AbortSignal; requestId?: string }): Promise<FetchedArtifact>;
}

/** Reads objects by key; `uri(key)` gives the address scheme it serves (the src/storage ObjectStore fits). */
export interface ArtifactObjectReader {
  uri(key: string): string;
  get(key: string): Promise<{ bytes: Uint8Array } | undefined>;
}

export interface ArtifactFetcherOptions {
  /** Per fetch (default 10 s). */
  timeoutMs?: number;
  /** Largest artifact accepted (default 10 MiB). */
  maxBytes?: number;
  /** Verified-bytes cache bounds (default 128 artifacts, 64 MiB). */
  cache?: { maxEntries?: number; maxBytes?: number };
  objectReader?: ArtifactObjectReader;
  fetch?: typeof fetch;
}

const SHA256 = /^[a-f0-9]{64}$/;

/** A URI fit for logs: no query string (presigned signatures are credentials), no user info. */
export function redactArtifactUri(uri: string): string {
  try {
    const u = new URL(uri);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return uri.replace(/[?#].*$/, '').replace(/\/\/[^/@]*@/, '//');
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function createArtifactFetcher(opts: ArtifactFetcherOptions = {}): ArtifactFetcher {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const cache = new LruCache<Buffer>({ maxEntries: opts.cache?.maxEntries ?? 128, maxSize: opts.cache?.maxBytes ?? 64 * 1024 * 1024 });
  const doFetch = opts.fetch ?? fetch;
  const inFlight = new Map<string, Promise<Buffer>>();
  const reader = opts.objectReader;
  const readerPrefix = reader ? reader.uri('probe').slice(0, -'probe'.length) : undefined;

  const tooLarge = (expected: string) =>
    new AppError('ARTIFACT_INTEGRITY_FAILED', `The artifact is larger than the ${maxBytes}-byte limit; it was not run`, { expected, reason: 'too_large', limitBytes: maxBytes });

  async function download(artifact: ArtifactRef, signal: AbortSignal, requestId?: string): Promise<Buffer> {
    const { uri } = artifact;
    if (/^https?:\/\//i.test(uri)) {
      let res: Response;
      try {
        res = await doFetch(uri, { signal, headers: { 'accept-encoding': 'identity', ...(requestId ? { 'x-request-id': requestId } : {}) } });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new AppError('STORAGE_UNAVAILABLE', 'Object storage is unavailable', { operation: 'artifact.get' }, { cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        const reason = res.status === 404 ? 'not_found' : res.status === 403 ? 'access_denied_or_expired' : 'error';
        throw new AppError('STORAGE_UNAVAILABLE', 'The artifact could not be read from object storage', { operation: 'artifact.get', status: res.status, reason });
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        await res.body?.cancel().catch(() => undefined);
        throw tooLarge(artifact.sha256);
      }
      const parts: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
          size += chunk.byteLength;
          if (size > maxBytes) {
            await res.body?.cancel().catch(() => undefined);
            throw tooLarge(artifact.sha256);
          }
          parts.push(Buffer.from(chunk));
        }
      } catch (err) {
        if (err instanceof AppError || signal.aborted) throw err;
        throw new AppError('STORAGE_UNAVAILABLE', 'Object storage is unavailable', { operation: 'artifact.get' }, { cause: err });
      }
      return Buffer.concat(parts, size);
    }
    if (reader && readerPrefix && uri.startsWith(readerPrefix)) {
      const key = uri.slice(readerPrefix.length);
      const object = await abortableRead(reader.get(key), signal);
      if (!object) throw new AppError('STORAGE_UNAVAILABLE', 'The artifact could not be read from object storage', { operation: 'artifact.get', reason: 'not_found' });
      if (object.bytes.byteLength > maxBytes) throw tooLarge(artifact.sha256);
      return Buffer.from(object.bytes);
    }
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 's3' || scheme === 'local') {
      throw new AppError('STORAGE_UNAVAILABLE', `The runner has no object-store reader for ${scheme}:// artifact addresses; send a presigned https URL`, { operation: 'artifact.get', reason: 'no_reader' });
    }
    throw new AppError('UNPROCESSABLE', 'The artifact address is not an http(s) URL or an object-store address', { scheme: scheme ?? null });
  }

  return {
    async fetch(artifact, { signal, requestId } = {}) {
      const expected = artifact.sha256.toLowerCase();
      if (!SHA256.test(expected)) throw new AppError('VALIDATION_FAILED', 'artifact.sha256 must be 64 lowercase hex characters');
      const cached = cache.get(expected);
      if (cached) return { bytes: cached, sha256: expected, sizeBytes: cached.byteLength, cacheHit: true };

      // Concurrent runs of one artifact share one download (and one verification).
      const key = `${expected}\n${artifact.uri}`;
      let pending = inFlight.get(key);
      if (!pending) {
        pending = (async () => {
          const dl = deadline(undefined, timeoutMs, 'object-storage');
          try {
            const bytes = await download(artifact, dl.signal, requestId).catch((err) => {
              if (dl.timedOut()) throw dl.error('Reading the artifact');
              throw err;
            });
            const actual = sha256Hex(bytes);
            if (actual !== expected) {
              throw new AppError('ARTIFACT_INTEGRITY_FAILED', 'The artifact does not match its certified sha256; it was not run', { expected, actual });
            }
            cache.set(expected, bytes, bytes.byteLength);
            return bytes;
          } finally {
            dl.dispose();
            inFlight.delete(key);
          }
        })();
        inFlight.set(key, pending);
      }
      const bytes = await (signal ? abortableRead(pending, signal) : pending);
      return { bytes, sha256: expected, sizeBytes: bytes.byteLength, cacheHit: false };
    },
  };
}

/** Awaits `p` until `signal` aborts; `p` itself keeps going (other runs may share it) and never rejects unhandled. */
function abortableRead<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => undefined);
  const cancelled = () => new AppError('RUNTIME_ERROR', 'The run was cancelled: the caller went away', { reason: 'cancelled' });
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** What the audit trail records when an artifact is refused (digests and addresses, never content). */
export interface IntegrityFailureEvent {
  event: 'artifact.integrity_failed';
  reason: 'sha256_mismatch' | 'too_large';
  runId: string;
  instanceId: string;
  versionId: string;
  orgId?: string;
  projectId?: string;
  /** The artifact address without its query string (presigned signatures stay out of logs). */
  uri: string;
  expected: string;
  actual?: string;
  requestId: string;
  at: string;
}
