import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AppError } from '../platform/errors';
import { createArtifactFetcher, redactArtifactUri, sha256Hex } from './artifacts';
import { LruCache } from '../platform/lru-cache';

const objects = new Map<string, Buffer>();
let hits: string[] = [];
let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    hits.push(path);
    if (path === '/hang') return;
    if (path === '/chunked-big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 8; i++) res.write(Buffer.alloc(1024, 'a'));
      return res.end();
    }
    const body = objects.get(path);
    if (!body) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      return res.end('<Error><Code>NoSuchKey</Code></Error>');
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  hits = [];
});

function put(path: string, content: string): { uri: string; sha256: string } {
  const bytes = Buffer.from(content);
  objects.set(path, bytes);
  return { uri: `${base}${path}?X-Amz-Signature=deadbeef&X-Amz-Expires=300`, sha256: sha256Hex(bytes) };
}

const isCode = (code: string, check?: (e: AppError) => void) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  check?.(e);
  return true;
};

describe('artifact fetcher', () => {
  test('fetches over a presigned URL, verifies sha256, then serves verified bytes from the cache', async () => {
    const fetcher = createArtifactFetcher();
    const a = put('/flows/a.json', '{"data":{"nodes":[],"edges":[]}}');
    const first = await fetcher.fetch(a);
    assert.equal(first.cacheHit, false);
    assert.equal(first.bytes.toString(), '{"data":{"nodes":[],"edges":[]}}');
    assert.equal(first.sha256, a.sha256);
    const second = await fetcher.fetch({ ...a, uri: `${base}/flows/a.json?another=presign` });
    assert.equal(second.cacheHit, true);
    assert.deepEqual(hits, ['/flows/a.json']);
  });

  test('tampered bytes → ARTIFACT_INTEGRITY_FAILED with expected and actual digests only, and nothing cached', async () => {
    const fetcher = createArtifactFetcher();
    const good = put('/flows/t.json', '{"data":{"nodes":[],"edges":[]}}');
    objects.set('/flows/t.json', Buffer.from('{"data":{"nodes":[],"edges":[]}} '));
    const actual = sha256Hex(objects.get('/flows/t.json')!);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(fetcher.fetch(good), isCode('ARTIFACT_INTEGRITY_FAILED', (e) => {
        assert.deepEqual(e.details, { expected: good.sha256, actual });
        assert.equal(e.status, 422);
      }));
    }
    assert.equal(hits.length, 2, 'a refused artifact is never cached');
  });

  test('a missing object or unreachable storage → STORAGE_UNAVAILABLE', async () => {
    const fetcher = createArtifactFetcher();
    await assert.rejects(fetcher.fetch({ uri: `${base}/flows/missing.json`, sha256: 'a'.repeat(64) }), isCode('STORAGE_UNAVAILABLE', (e) => {
      assert.equal(e.details?.status, 404);
      assert.equal(e.status, 503);
    }));
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(fetcher.fetch({ uri: `http://127.0.0.1:${port}/x.json`, sha256: 'a'.repeat(64) }), isCode('STORAGE_UNAVAILABLE'));
  });

  test('artifacts over the size cap are refused, by Content-Length or while streaming', async () => {
    const fetcher = createArtifactFetcher({ maxBytes: 4096 });
    const big = put('/flows/big.json', 'x'.repeat(5000));
    await assert.rejects(fetcher.fetch(big), isCode('ARTIFACT_INTEGRITY_FAILED', (e) => assert.equal(e.details?.reason, 'too_large')));
    await assert.rejects(fetcher.fetch({ uri: `${base}/chunked-big`, sha256: 'b'.repeat(64) }), isCode('ARTIFACT_INTEGRITY_FAILED', (e) => assert.equal(e.details?.reason, 'too_large')));
  });

  test('storage that hangs → DEPENDENCY_TIMEOUT', async () => {
    const fetcher = createArtifactFetcher({ timeoutMs: 150 });
    await assert.rejects(fetcher.fetch({ uri: `${base}/hang`, sha256: 'c'.repeat(64) }), isCode('DEPENDENCY_TIMEOUT', (e) => assert.equal(e.details?.dependency, 'object-storage')));
  });

  test('concurrent runs of one artifact share one download', async () => {
    const fetcher = createArtifactFetcher();
    const a = put('/flows/c.json', '{"data":{"nodes":[],"edges":[]},"n":3}');
    const results = await Promise.all([fetcher.fetch(a), fetcher.fetch(a), fetcher.fetch(a)]);
    assert.deepEqual(hits, ['/flows/c.json']);
    assert.ok(results.every((r) => r.bytes.equals(results[0].bytes)));
  });

  test('the cache is an LRU bounded by entries', async () => {
    const fetcher = createArtifactFetcher({ cache: { maxEntries: 2 } });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => put(`/flows/lru-${n}.json`, `{"n":"${n}"}`));
    await fetcher.fetch(a);
    await fetcher.fetch(b);
    await fetcher.fetch(a); // a is now the most recent
    await fetcher.fetch(c); // evicts b
    assert.equal((await fetcher.fetch(a)).cacheHit, true);
    assert.equal((await fetcher.fetch(b)).cacheHit, false);
  });

  test('object-store addresses go through the injected reader; without one they are refused clearly', async () => {
    const bytes = Buffer.from('{"data":{"nodes":[],"edges":[]}}');
    const reader = { uri: (key: string) => `s3://agentstore-artifacts/${key}`, get: async (key: string) => (key === 'flows/x.json' ? { bytes } : undefined) };
    const art = { uri: 's3://agentstore-artifacts/flows/x.json', sha256: sha256Hex(bytes) };
    const got = await createArtifactFetcher({ objectReader: reader }).fetch(art);
    assert.ok(got.bytes.equals(bytes));
    await assert.rejects(createArtifactFetcher().fetch(art), isCode('STORAGE_UNAVAILABLE', (e) => assert.equal(e.details?.reason, 'no_reader')));
    await assert.rejects(createArtifactFetcher().fetch({ uri: 'file:///etc/passwd', sha256: art.sha256 }), isCode('UNPROCESSABLE'));
  });

  test('URIs are logged without their presigned signature', () => {
    assert.equal(redactArtifactUri('https://minio:9000/bucket/flows/a.json?X-Amz-Signature=abc&X-Amz-Credential=k'), 'https://minio:9000/bucket/flows/a.json');
    assert.equal(redactArtifactUri('https://user:pw@host/a.json?sig=1'), 'https://host/a.json');
  });
});

describe('LruCache', () => {
  test('evicts least recently used entries beyond the size bound; refuses entries larger than the bound', () => {
    const c = new LruCache<string>({ maxEntries: 10, maxSize: 10 });
    c.set('a', 'a', 4);
    c.set('b', 'b', 4);
    c.get('a');
    c.set('c', 'c', 4);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 'a');
    assert.equal(c.totalSize, 8);
    c.set('huge', 'h', 11);
    assert.equal(c.get('huge'), undefined);
  });
});
