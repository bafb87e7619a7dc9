import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Koa from 'koa';
import { AppError } from '../platform/errors';
import { LocalObjectStore } from './local-object-store';
import { localObjectRoute } from './local-object-route';

let dir: string;
let server: Server;
let base = '';
let clock = Date.now();
let store: LocalObjectStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'objects-'));
  store = new LocalObjectStore({ root: join(dir, 'objects'), baseUrl: () => base, now: () => clock });
  const koa = new Koa();
  const route = localObjectRoute(store);
  koa.use(async (k) => {
    k.set('X-Request-Id', 'req-test');
    if (await route(k)) return;
    k.status = 404;
  });
  server = createServer(koa.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('LocalObjectStore', () => {
  test('put, head, get and delete round-trip through files under the data dir', async () => {
    const info = await store.put('artifacts/sha256/aa.json', Buffer.from('{"a":1}'), { contentType: 'application/json' });
    assert.equal(info.size, 7);
    assert.ok(existsSync(join(dir, 'objects', 'data', 'artifacts', 'sha256', 'aa.json')));
    assert.equal((await store.head('artifacts/sha256/aa.json'))?.contentType, 'application/json');
    assert.equal((await store.get('artifacts/sha256/aa.json'))?.bytes.toString(), '{"a":1}');
    await store.delete('artifacts/sha256/aa.json');
    assert.equal(await store.get('artifacts/sha256/aa.json'), undefined);
    await store.delete('artifacts/sha256/aa.json'); // deleting a missing object is fine
  });

  test('keys that try to traverse out of the store are refused', async () => {
    for (const key of ['../signing.key', 'a/../../x', '/etc/passwd', 'a\\b', 'a//b', '.', 'a/%2e%2e/b']) {
      await assert.rejects(store.put(key, Buffer.from('x'), { contentType: 'text/plain' }), (e: unknown) => e instanceof AppError && e.code === 'VALIDATION_FAILED', key);
      await assert.rejects(store.get(key), (e: unknown) => e instanceof AppError && e.code === 'VALIDATION_FAILED', key);
    }
  });

  test('a presigned GET URL downloads the object with its content type', async () => {
    await store.put('artifacts/sha256/bb.json', Buffer.from('{"b":2}'), { contentType: 'application/json' });
    const link = await store.presignGet('artifacts/sha256/bb.json', { expiresInSeconds: 60 });
    assert.ok(link.url.startsWith(`${base}/objects/artifacts/sha256/bb.json?`));
    const res = await fetch(link.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await res.text(), '{"b":2}');
    const head = await fetch(link.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '7');
  });

  test('an expired presigned URL answers 403 FORBIDDEN in the canonical error body', async () => {
    const link = await store.presignGet('artifacts/sha256/bb.json', { expiresInSeconds: 5 });
    clock += 6_000;
    try {
      const res = await fetch(link.url);
      assert.equal(res.status, 403);
      const body = await res.json();
      assert.equal(body.error.code, 'FORBIDDEN');
      assert.equal(body.error.details.reason, 'expired');
      assert.equal(body.error.traceId, 'req-test');
    } finally {
      clock -= 6_000;
    }
  });

  test('a tampered presigned URL (other key, later expiry, forged signature, no signature) answers 403', async () => {
    await store.put('artifacts/sha256/cc.json', Buffer.from('{}'), { contentType: 'application/json' });
    const link = await store.presignGet('artifacts/sha256/bb.json', { expiresInSeconds: 60 });
    const u = new URL(link.url);
    const variants = [
      link.url.replace('bb.json', 'cc.json'),
      link.url.replace(/expires=(\d+)/, (_m, e) => `expires=${Number(e) + 1000}`),
      link.url.replace(/sig=[^&]+/, 'sig=AAAA'),
      `${u.origin}${u.pathname}`,
    ];
    for (const url of variants) {
      const res = await fetch(url);
      assert.equal(res.status, 403, url);
      assert.equal((await res.json()).error.code, 'FORBIDDEN');
    }
    // A GET signature is no licence to PUT.
    const put = await fetch(link.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"evil":1}' });
    assert.equal(put.status, 403);
    assert.equal((await store.get('artifacts/sha256/bb.json'))?.bytes.toString(), '{"b":2}');
  });

  test('a presigned PUT uploads with the signed content type and size limit', async () => {
    const link = await store.presignPut('rag/org_1/prj_1/doc.txt', { contentType: 'text/plain', expiresInSeconds: 60, maxBytes: 16 });
    assert.equal(link.method, 'PUT');
    const ok = await fetch(link.url, { method: 'PUT', headers: link.headers, body: 'hello' });
    assert.equal(ok.status, 200);
    assert.equal((await store.get('rag/org_1/prj_1/doc.txt'))?.bytes.toString(), 'hello');

    const wrongType = await fetch(link.url, { method: 'PUT', headers: { 'content-type': 'application/pdf' }, body: 'hello' });
    assert.equal(wrongType.status, 403);
    const tooBig = await fetch(link.url, { method: 'PUT', headers: link.headers, body: 'x'.repeat(17) });
    assert.equal(tooBig.status, 413);
    assert.equal((await tooBig.json()).error.code, 'PAYLOAD_TOO_LARGE');
    const raisedLimit = await fetch(link.url.replace('max=16', 'max=1000'), { method: 'PUT', headers: link.headers, body: 'x'.repeat(17) });
    assert.equal(raisedLimit.status, 403);
    assert.equal((await store.get('rag/org_1/prj_1/doc.txt'))?.bytes.toString(), 'hello');
  });

  test('the signing key persists in the data dir: URLs stay valid across restarts', async () => {
    const link = await store.presignGet('artifacts/sha256/bb.json', { expiresInSeconds: 60 });
    const again = new LocalObjectStore({ root: join(dir, 'objects'), baseUrl: base, now: () => clock });
    const q = new URL(link.url).searchParams;
    assert.deepEqual(again.verify({ method: 'GET', key: 'artifacts/sha256/bb.json', expires: q.get('expires')!, sig: q.get('sig')! }), { ok: true });
  });
});
