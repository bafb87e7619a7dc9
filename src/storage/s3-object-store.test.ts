import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startFakeS3, TEST_S3_CREDENTIALS, type FakeS3 } from '../../test/support/s3-sigv4-server';
import { AppError } from '../platform/errors';
import { S3ObjectStore } from './s3-object-store';

let s3: FakeS3;
let store: S3ObjectStore;
const bucket = 'agentstore-artifacts';

before(async () => {
  s3 = await startFakeS3({ buckets: [bucket] });
  store = new S3ObjectStore({ endpoint: s3.url, bucket, ...TEST_S3_CREDENTIALS });
});
after(async () => s3?.close());

function rawRequest(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the SigV4-verifying test server itself', () => {
  // AWS's published examples (Signature V4 for S3, "GET Object" and "presigned URL"), so the
  // verifier is checked against AWS, not only against the SDK it is meant to catch.
  test('accepts AWS\'s documented header-signed GET (signature passes, then the bucket is unknown)', async () => {
    const fixed = await startFakeS3({ buckets: ['examplebucket'], now: () => Date.UTC(2013, 4, 24, 0, 5) });
    try {
      const status = await rawRequest(`${fixed.url}/test.txt`, {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      });
      assert.equal(fixed.log.at(-1)?.error, 'NoSuchBucket', JSON.stringify(fixed.log));
      assert.equal(status, 404);
    } finally {
      await fixed.close();
    }
  });

  test('accepts AWS\'s documented presigned GET and refuses it once expired or altered', async () => {
    let clock = Date.UTC(2013, 4, 24, 1, 0);
    const fixed = await startFakeS3({ buckets: ['examplebucket'], now: () => clock });
    const query =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    try {
      await rawRequest(`${fixed.url}/test.txt?${query}`, { host: 'examplebucket.s3.amazonaws.com' });
      assert.equal(fixed.log.at(-1)?.error, 'NoSuchBucket', JSON.stringify(fixed.log.at(-1)));
      assert.equal(await rawRequest(`${fixed.url}/test.txt?${query.replace('86400', '86401')}`, { host: 'examplebucket.s3.amazonaws.com' }), 403);
      assert.equal(fixed.log.at(-1)?.error, 'SignatureDoesNotMatch');
      clock = Date.UTC(2013, 4, 25, 0, 0, 1);
      assert.equal(await rawRequest(`${fixed.url}/test.txt?${query}`, { host: 'examplebucket.s3.amazonaws.com' }), 403);
      assert.equal(fixed.log.at(-1)?.error, 'AccessDenied');
    } finally {
      await fixed.close();
    }
  });
});

describe('S3ObjectStore against a SigV4-verifying server', () => {
  test('put, head, get and delete round-trip with header-signed requests', async () => {
    const bytes = Buffer.from(JSON.stringify({ hello: 'world' }));
    const put = await store.put('artifacts/sha256/abc.json', bytes, { contentType: 'application/json' });
    assert.equal(put.size, bytes.length);
    assert.equal(s3.log.at(-1)?.auth, 'header');
    assert.equal(s3.log.at(-1)?.status, 200);

    const head = await store.head('artifacts/sha256/abc.json');
    assert.equal(head?.size, bytes.length);
    assert.equal(head?.contentType, 'application/json');

    const got = await store.get('artifacts/sha256/abc.json');
    assert.deepEqual(got?.bytes, bytes);
    assert.equal(got?.contentType, 'application/json');

    await store.delete('artifacts/sha256/abc.json');
    assert.equal(await store.get('artifacts/sha256/abc.json'), undefined);
    assert.equal(await store.head('artifacts/sha256/abc.json'), undefined);
    assert.ok(s3.log.every((e) => e.error === undefined || e.error === 'NoSuchKey'), JSON.stringify(s3.log));
  });

  test('keys with S3-safe punctuation survive signing (path encoding matches the server)', async () => {
    const key = "rag/org_1/prj_1/report(2025)!'final'=v1+x@a,b.txt";
    await store.put(key, Buffer.from('x'), { contentType: 'text/plain' });
    assert.equal((await store.get(key))?.bytes.toString(), 'x');
  });

  test('a presigned PUT uploads with the signed content type, and a presigned GET downloads', async () => {
    const put = await store.presignPut('rag/org_1/prj_1/doc.txt', { contentType: 'text/plain', expiresInSeconds: 300 });
    assert.match(put.url, /X-Amz-Signature=/);
    assert.match(put.url, /^http:\/\/127\.0\.0\.1:\d+\/agentstore-artifacts\/rag\/org_1\/prj_1\/doc\.txt\?/);
    assert.doesNotMatch(put.url, /x-amz-checksum/i, 'no checksum of an empty body baked into the URL');
    const up = await fetch(put.url, { method: 'PUT', headers: put.headers, body: 'hello presigned' });
    assert.equal(up.status, 200, await up.text());
    assert.equal(s3.log.at(-1)?.auth, 'query');

    const get = await store.presignGet('rag/org_1/prj_1/doc.txt', { expiresInSeconds: 60 });
    const down = await fetch(get.url);
    assert.equal(down.status, 200);
    assert.equal(await down.text(), 'hello presigned');
    assert.ok(get.expiresAt.getTime() > Date.now());
  });

  test('a presigned PUT with another content type, or a tampered URL, is refused by the server', async () => {
    const put = await store.presignPut('rag/org_1/prj_1/doc2.txt', { contentType: 'text/plain', expiresInSeconds: 300 });
    const wrongType = await fetch(put.url, { method: 'PUT', headers: { 'content-type': 'application/pdf' }, body: 'x' });
    assert.equal(wrongType.status, 403);
    const get = await store.presignGet('rag/org_1/prj_1/doc.txt', { expiresInSeconds: 60 });
    const tampered = await fetch(get.url.replace('doc.txt', 'doc2.txt'));
    assert.equal(tampered.status, 403);
    assert.equal(s3.log.at(-1)?.error, 'SignatureDoesNotMatch');
  });

  test('a signing mistake (wrong secret) fails: the server refuses it and the store answers STORAGE_UNAVAILABLE', async () => {
    const wrong = new S3ObjectStore({ endpoint: s3.url, bucket, ...TEST_S3_CREDENTIALS, secretAccessKey: 'not-the-secret' });
    await assert.rejects(wrong.put('x.json', Buffer.from('{}'), { contentType: 'application/json' }), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      assert.equal(err.status, 503);
      return true;
    });
    assert.equal(s3.log.at(-1)?.error, 'SignatureDoesNotMatch');
  });

  test('an unreachable server is STORAGE_UNAVAILABLE (503), and a missing object is undefined', async () => {
    const down = new S3ObjectStore({ endpoint: 'http://127.0.0.1:1', bucket, ...TEST_S3_CREDENTIALS, maxAttempts: 1 });
    await assert.rejects(down.get('a.json'), (err: unknown) => err instanceof AppError && err.code === 'STORAGE_UNAVAILABLE');
    await assert.rejects(down.head('a.json'), (err: unknown) => err instanceof AppError && err.code === 'STORAGE_UNAVAILABLE');
    assert.equal(await store.get('never/written.json'), undefined);
  });

  test('an unknown bucket is a misconfiguration (STORAGE_UNAVAILABLE), not a missing object', async () => {
    const other = new S3ObjectStore({ endpoint: s3.url, bucket: 'no-such-bucket', ...TEST_S3_CREDENTIALS });
    await assert.rejects(other.get('a.json'), (err: unknown) => err instanceof AppError && err.code === 'STORAGE_UNAVAILABLE');
  });

  test('object keys that could escape a prefix are refused before any request', async () => {
    for (const key of ['../etc/passwd', 'a/../b', '/abs', 'a//b', 'a/./b', '', 'sp ace']) {
      await assert.rejects(store.put(key, Buffer.from('x'), { contentType: 'text/plain' }), (err: unknown) => err instanceof AppError && err.code === 'VALIDATION_FAILED', key);
    }
  });
});
