/**
 * Serves the local object store's presigned URLs on the control plane (outside the OpenAPI
 * spec, like S3 itself is): `GET|HEAD /objects/<key>?expires&sig` downloads,
 * `PUT /objects/<key>?expires&ct[&max]&sig` uploads with the signed Content-Type and size limit.
 * A missing, tampered or expired signature answers 403 in the canonical error body.
 */
import type Koa from 'koa';
import { AppError, errorBody, toAppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { LocalObjectStore } from './local-object-store';

export const LOCAL_OBJECT_ROUTE_PREFIX = '/objects/';
/** Upper bound for a presigned upload without its own `max`. */
export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/** A koa `extraRoutes` handler: returns true when it answered the request. */
export function localObjectRoute(store: LocalObjectStore, log?: Logger): (k: Koa.Context) => Promise<boolean> {
  return async (k) => {
    if (!k.path.startsWith(LOCAL_OBJECT_ROUTE_PREFIX)) return false;
    try {
      await serve(store, k);
    } catch (thrown) {
      const err = toAppError(thrown);
      if (err.status >= 500) log?.error({ err: thrown, code: err.code }, err.message);
      for (const [h, v] of Object.entries(err.headers ?? {})) k.set(h, v);
      k.status = err.status;
      k.body = errorBody(err, k.response.get('X-Request-Id') || 'unknown');
    }
    return true;
  };
}

async function serve(store: LocalObjectStore, k: Koa.Context): Promise<void> {
  let key: string;
  try {
    key = k.path.slice(LOCAL_OBJECT_ROUTE_PREFIX.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    throw new AppError('NOT_FOUND', 'No such object');
  }
  const q = k.query as Record<string, string | string[] | undefined>;
  const single = (name: string) => (typeof q[name] === 'string' ? (q[name] as string) : undefined);
  const method = k.method === 'HEAD' ? 'GET' : k.method;
  if (method !== 'GET' && method !== 'PUT') {
    throw new AppError('METHOD_NOT_ALLOWED', `${k.method} is not allowed on objects`, { allowed: ['GET', 'HEAD', 'PUT'] }, { headers: { Allow: 'GET, HEAD, PUT' } });
  }
  const verdict = store.verify({
    method,
    key,
    expires: single('expires'),
    sig: single('sig'),
    ...(method === 'PUT' ? { contentType: single('ct') ?? '', maxBytes: single('max') ?? '' } : {}),
  });
  if (!verdict.ok) {
    const message = {
      missing: 'This URL needs a signature: request a presigned URL',
      expired: 'This presigned URL has expired',
      invalid: 'The signature of this URL does not match',
    }[verdict.reason];
    throw new AppError('FORBIDDEN', message, { reason: verdict.reason });
  }

  if (method === 'GET') {
    const object = await store.get(key);
    if (!object) throw new AppError('NOT_FOUND', 'No such object');
    k.status = 200;
    k.set('Cache-Control', 'private, no-store');
    if (object.etag) k.set('ETag', object.etag);
    k.type = object.contentType;
    if (k.method === 'HEAD') {
      k.body = '';
      k.length = object.size;
      k.status = 200;
    } else {
      k.body = object.bytes;
    }
    return;
  }

  const sent = (k.get('content-type') || '').trim();
  if (sent.toLowerCase() !== (verdict.contentType ?? '').toLowerCase()) {
    throw new AppError('FORBIDDEN', 'Content-Type differs from the one this URL was signed for', { expected: verdict.contentType ?? null });
  }
  const limit = verdict.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const bytes = await readLimited(k, limit);
  const info = await store.put(key, bytes, { contentType: sent });
  if (info.etag) k.set('ETag', info.etag);
  k.body = ''; // 200 with an empty body, as S3 answers a PUT
  k.status = 200;
}

async function readLimited(k: Koa.Context, limit: number): Promise<Buffer> {
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `Upload exceeds ${limit} bytes`, { limit });
  const declared = Number(k.get('content-length') || 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of k.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
