/**
 * The embedded object store: files under `<root>` (default `<DATA_DIR>/objects`).
 *
 *   <root>/data/<key>          the object's bytes
 *   <root>/meta/<key>.json     {contentType, size, sha256, lastModified}
 *   <root>/signing.key         32 random bytes (created once, mode 0600) for presigned URLs
 *
 * Presigned URLs point at the control plane: `<baseUrl>/objects/<key>?expires=<unix s>&sig=…`
 * (PUT adds `ct=<content type>` and `max=<bytes>`), where `sig` is base64url
 * HMAC-SHA256(signing key, "v1\n<METHOD>\n<key>\n<expires>\n<ct>\n<max>"). The control plane
 * serves them with `localObjectRoute` (local-object-route.ts). Writes are atomic (temp file +
 * rename), so a reader never sees half an object.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
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

interface Meta {
  contentType: string;
  size: number;
  sha256: string;
  lastModified: string;
}

export interface SignedRequestCheck {
  method: 'GET' | 'PUT';
  key: string;
  expires: string | undefined;
  sig: string | undefined;
  contentType?: string;
  maxBytes?: string;
}

export type SignatureVerdict =
  | { ok: true; maxBytes?: number; contentType?: string }
  | { ok: false; reason: 'missing' | 'expired' | 'invalid' };

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  private readonly root: string;
  private readonly signingKey: Buffer;
  private readonly baseUrl: () => string;
  private readonly now: () => number;

  /**
   * @param root     folder holding the objects (created when missing)
   * @param baseUrl  public base URL of the control plane serving `/objects/…` (a function, so
   *                 a port picked at listen time can be used)
   */
  constructor(opts: { root: string; baseUrl: string | (() => string); now?: () => number }) {
    this.root = resolve(opts.root);
    this.baseUrl = typeof opts.baseUrl === 'string' ? () => opts.baseUrl as string : opts.baseUrl;
    this.now = opts.now ?? Date.now;
    mkdirSync(this.root, { recursive: true });
    const keyFile = join(this.root, 'signing.key');
    if (!existsSync(keyFile)) {
      try {
        writeFileSync(keyFile, randomBytes(32), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    this.signingKey = readFileSync(keyFile);
    if (this.signingKey.length < 32) throw new Error(`${keyFile} is shorter than 32 bytes; delete it to create a new one`);
  }

  uri(key: string): string {
    assertObjectKey(key);
    return `local://objects/${key}`;
  }

  async put(key: string, bytes: Uint8Array, opts: { contentType: string }): Promise<ObjectInfo> {
    const file = this.dataPath(key);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const meta: Meta = {
      contentType: opts.contentType,
      size: buf.length,
      sha256: createHash('sha256').update(buf).digest('hex'),
      lastModified: new Date(this.now()).toISOString(),
    };
    try {
      await atomicWrite(file, buf);
      await atomicWrite(this.metaPath(key), Buffer.from(JSON.stringify(meta)));
    } catch (err) {
      throw storageUnavailable('put', err);
    }
    return this.info(key, meta);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const file = this.dataPath(key);
    try {
      const [bytes, meta] = await Promise.all([readFile(file), this.readMeta(key)]);
      const m = meta ?? { contentType: 'application/octet-stream', size: bytes.length, sha256: '', lastModified: new Date(0).toISOString() };
      return { ...this.info(key, m), size: bytes.length, bytes };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storageUnavailable('get', err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.dataPath(key);
    try {
      const [st, meta] = await Promise.all([stat(file), this.readMeta(key)]);
      if (!st.isFile()) return undefined;
      const m = meta ?? { contentType: 'application/octet-stream', size: st.size, sha256: '', lastModified: st.mtime.toISOString() };
      return { ...this.info(key, m), size: st.size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storageUnavailable('head', err);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.dataPath(key);
    try {
      await rm(file, { force: true });
      await rm(this.metaPath(key), { force: true });
    } catch (err) {
      throw storageUnavailable('delete', err);
    }
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<PresignedRequest> {
    assertObjectKey(key);
    assertExpiry(opts.expiresInSeconds);
    const expires = Math.floor(this.now() / 1000) + opts.expiresInSeconds;
    const sig = this.sign('GET', key, String(expires), '', '');
    const q = new URLSearchParams({ expires: String(expires), sig });
    return { url: `${this.objectUrl(key)}?${q}`, method: 'GET', headers: {}, expiresAt: new Date(expires * 1000) };
  }

  async presignPut(key: string, opts: PresignPutOptions): Promise<PresignedRequest> {
    assertObjectKey(key);
    assertExpiry(opts.expiresInSeconds);
    const expires = Math.floor(this.now() / 1000) + opts.expiresInSeconds;
    const max = opts.maxBytes === undefined ? '' : String(opts.maxBytes);
    const sig = this.sign('PUT', key, String(expires), opts.contentType, max);
    const q = new URLSearchParams({ expires: String(expires), ct: opts.contentType });
    if (max) q.set('max', max);
    q.set('sig', sig);
    return {
      url: `${this.objectUrl(key)}?${q}`,
      method: 'PUT',
      headers: { 'content-type': opts.contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  /** Checks a presigned request's signature and expiry (used by the `/objects/…` route). */
  verify(req: SignedRequestCheck): SignatureVerdict {
    if (!req.expires || !req.sig) return { ok: false, reason: 'missing' };
    if (!/^\d{1,12}$/.test(req.expires)) return { ok: false, reason: 'invalid' };
    if (req.maxBytes !== undefined && req.maxBytes !== '' && !/^\d{1,15}$/.test(req.maxBytes)) return { ok: false, reason: 'invalid' };
    const expected = Buffer.from(this.sign(req.method, req.key, req.expires, req.contentType ?? '', req.maxBytes ?? ''));
    const given = Buffer.from(req.sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
    // Checked after the signature, so a forged expiry never gets a different answer than a forged anything.
    if (Number(req.expires) * 1000 < this.now()) return { ok: false, reason: 'expired' };
    return {
      ok: true,
      ...(req.maxBytes ? { maxBytes: Number(req.maxBytes) } : {}),
      ...(req.contentType ? { contentType: req.contentType } : {}),
    };
  }

  private sign(method: string, key: string, expires: string, contentType: string, maxBytes: string): string {
    return createHmac('sha256', this.signingKey)
      .update(['v1', method, key, expires, contentType, maxBytes].join('\n'))
      .digest('base64url');
  }

  private objectUrl(key: string): string {
    const base = this.baseUrl().replace(/\/+$/, '');
    return `${base}/objects/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private info(key: string, meta: Meta): ObjectInfo {
    return {
      key,
      size: meta.size,
      contentType: meta.contentType,
      ...(meta.sha256 ? { etag: `"${meta.sha256}"` } : {}),
      lastModified: new Date(meta.lastModified),
    };
  }

  private async readMeta(key: string): Promise<Meta | undefined> {
    try {
      return JSON.parse(await readFile(this.metaPath(key), 'utf8')) as Meta;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  private dataPath(key: string): string {
    return this.within(join(this.root, 'data'), key);
  }

  private metaPath(key: string): string {
    return this.within(join(this.root, 'meta'), key) + '.json';
  }

  /** Validates the key and proves the resolved path stays inside `dir` (defence in depth). */
  private within(dir: string, key: string): string {
    assertObjectKey(key);
    const path = resolve(dir, ...key.split('/'));
    if (!path.startsWith(dir + sep)) throw storageUnavailable('resolve', new Error(`key ${key} escapes ${dir}`));
    return path;
  }
}

async function atomicWrite(file: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
