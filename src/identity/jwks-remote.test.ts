import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { JWK } from 'jose';
import { AppError } from '../platform/errors';
import { createTokenVerifier } from './token-verifier';
import { createTestSigningKey, keycloakUserClaims, signTestToken, type TestSigningKey } from './testing';

const REALM_PATH = '/realms/agent-store';
const CERTS_PATH = `${REALM_PATH}/protocol/openid-connect/certs`;
const AUDIENCE = 'agent-store';

let server: Server;
let issuer: string;
let served: JWK[] = [];
let status = 200;
const requests: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.method === 'GET' && req.url === CERTS_PATH) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify({ keys: served }) : '{"error":"down"}');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${REALM_PATH}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function reset(keys: TestSigningKey[]) {
  served = keys.map((k) => k.publicJwk);
  status = 200;
  requests.length = 0;
}

const claims = () => keycloakUserClaims({ issuer, audience: AUDIENCE });
const certsFetches = () => requests.filter((r) => r === CERTS_PATH).length;

describe('remote JWKS at the Keycloak path', () => {
  test('jwks defaults to {issuer}/protocol/openid-connect/certs and is fetched once for many tokens', async () => {
    const a = await createTestSigningKey();
    reset([a]);
    const v = createTokenVerifier({ issuer, audience: AUDIENCE });
    for (let i = 0; i < 5; i++) assert.equal((await v.verify(await signTestToken(a, claims()))).kind, 'user');
    assert.equal(certsFetches(), 1);
    assert.deepEqual(requests, [CERTS_PATH]);
  });

  test('key rotation: a new kid appears → verified after one refetch', async () => {
    const a = await createTestSigningKey();
    const b = await createTestSigningKey();
    reset([a]);
    const v = createTokenVerifier({ issuer, audience: AUDIENCE, jwks: new URL(`${issuer}/protocol/openid-connect/certs`), jwksCooldownMs: 0 });
    await v.verify(await signTestToken(a, claims()));
    assert.equal(certsFetches(), 1);

    served = [a.publicJwk, b.publicJwk]; // Keycloak publishes the new key beside the old one
    await v.verify(await signTestToken(b, claims()));
    assert.equal(certsFetches(), 2);
    await v.verify(await signTestToken(a, claims()));
    assert.equal(certsFetches(), 2, 'old key still served, no refetch');

    served = [b.publicJwk]; // old key retired
    await v.verify(await signTestToken(b, claims()));
    assert.equal(certsFetches(), 2);
  });

  test('unknown kid within the cooldown → 401 without hammering the JWKS endpoint', async () => {
    const a = await createTestSigningKey();
    const stranger = await createTestSigningKey();
    reset([a]);
    const v = createTokenVerifier({ issuer, audience: AUDIENCE }); // default 30 s cooldown
    await v.verify(await signTestToken(a, claims()));
    for (let i = 0; i < 3; i++) {
      await assert.rejects(v.verify(await signTestToken(stranger, claims())), (e: unknown) => e instanceof AppError && e.message === 'unknown signing key');
    }
    assert.equal(certsFetches(), 1);
  });

  test('unknown kid after the cooldown → one refetch, still 401 when the key is not there', async () => {
    const a = await createTestSigningKey();
    const stranger = await createTestSigningKey();
    reset([a]);
    const v = createTokenVerifier({ issuer, audience: AUDIENCE, jwksCooldownMs: 0 });
    await v.verify(await signTestToken(a, claims()));
    await assert.rejects(v.verify(await signTestToken(stranger, claims())), (e: unknown) => e instanceof AppError && e.code === 'UNAUTHENTICATED');
    assert.equal(certsFetches(), 2);
  });

  test('JWKS endpoint answering 503 → DEPENDENCY_UNAVAILABLE (fail closed, not a token fault)', async () => {
    const a = await createTestSigningKey();
    reset([a]);
    status = 503;
    const v = createTokenVerifier({ issuer, audience: AUDIENCE });
    await assert.rejects(v.verify(await signTestToken(a, claims())), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(e.status, 503);
      return true;
    });
  });

  test('JWKS host unreachable → DEPENDENCY_UNAVAILABLE', async () => {
    const a = await createTestSigningKey();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const deadIssuer = `http://127.0.0.1:${port}${REALM_PATH}`;
    const v = createTokenVerifier({ issuer: deadIssuer, audience: AUDIENCE, jwksTimeoutMs: 1000 });
    const token = await signTestToken(a, keycloakUserClaims({ issuer: deadIssuer, audience: AUDIENCE }));
    await assert.rejects(v.verify(token), (e: unknown) => e instanceof AppError && e.code === 'DEPENDENCY_UNAVAILABLE');
  });

  test('a token with a foreign algorithm never triggers a JWKS fetch', async () => {
    const a = await createTestSigningKey();
    reset([a]);
    const v = createTokenVerifier({ issuer, audience: AUDIENCE, algorithms: ['ES256'] });
    await assert.rejects(v.verify(await signTestToken(a, claims())), (e: unknown) => e instanceof AppError && e.code === 'UNAUTHENTICATED');
    assert.equal(certsFetches(), 0);
  });
});
