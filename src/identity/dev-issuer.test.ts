import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader } from 'jose';
import {
  createDevIssuer,
  createDevIssuerHandler,
  DEFAULT_DEV_ISSUER,
  DevIssuerInProductionError,
  devUserSubject,
  isProductionEnv,
} from './dev-issuer';
import { SERVICE_ROLES } from './principal';
import { createTokenVerifier } from './token-verifier';

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'dev-issuer-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

const AUDIENCE = 'agent-store';

describe('dev issuer', () => {
  test('first start writes a private key file with mode 0600; later starts reuse the same key', async () => {
    const a = await createDevIssuer({ dataDir, appEnv: 'development' });
    const file = path.join(dataDir, 'dev-issuer', 'signing-key.json');
    const info = await stat(file);
    assert.equal(info.mode & 0o777, 0o600);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    assert.ok(stored.keys[0].d, 'the private exponent is stored');
    const b = await createDevIssuer({ dataDir, appEnv: 'development' });
    assert.equal(a.kid, b.kid);
  });

  test('concurrent first starts agree on one key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dev-issuer-race-'));
    try {
      const issuers = await Promise.all(Array.from({ length: 6 }, () => createDevIssuer({ dataDir: dir, appEnv: 'development' })));
      assert.equal(new Set(issuers.map((i) => i.kid)).size, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('jwks() holds public keys only, kid = RFC 7638 thumbprint', async () => {
    const dev = await createDevIssuer({ dataDir, appEnv: 'development' });
    const { keys } = dev.jwks();
    assert.equal(keys.length, 1);
    const [k] = keys;
    for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal((k as Record<string, unknown>)[privateMember], undefined);
    assert.equal(k!.kid, await calculateJwkThumbprint({ kty: k!.kty, n: k!.n, e: k!.e }));
    assert.equal(k!.alg, 'RS256');
    assert.equal(k!.use, 'sig');
  });

  test('minted user token is Keycloak-shaped and passes the production verifier', async () => {
    const dev = await createDevIssuer({ dataDir, appEnv: 'development' });
    const subject = devUserSubject('alice@example.com');
    const token = await dev.mint({ kind: 'user', subject, email: 'alice@example.com', name: 'Alice', roles: ['publisher'], audience: AUDIENCE });
    const header = decodeProtectedHeader(token);
    assert.deepEqual(header, { alg: 'RS256', typ: 'JWT', kid: dev.kid });
    const claims = decodeJwt(token);
    for (const c of ['iss', 'sub', 'aud', 'azp', 'exp', 'iat', 'jti', 'scope', 'realm_access', 'resource_access', 'preferred_username', 'email', 'typ']) {
      assert.ok(c in claims, `claim ${c}`);
    }
    assert.equal(claims.iss, DEFAULT_DEV_ISSUER);
    assert.equal(claims.typ, 'Bearer');
    assert.equal(claims.exp! - claims.iat!, 300);

    const p = await createTokenVerifier({ issuer: dev.issuer, audience: AUDIENCE, jwks: dev.jwks() }).verify(token);
    assert.equal(p.kind, 'user');
    assert.equal(p.subject, subject);
    assert.equal(p.email, 'alice@example.com');
    assert.ok(p.roles.has('publisher'));
  });

  test('minted service token → service principal with client_id and its svc role', async () => {
    const dev = await createDevIssuer({ dataDir, appEnv: 'development' });
    const token = await dev.mint({ kind: 'service', subject: 'service-account-gateway', clientId: 'gateway', roles: [SERVICE_ROLES.gateway], audience: AUDIENCE, ttlSeconds: 60 });
    const claims = decodeJwt(token);
    assert.equal(claims.client_id, 'gateway');
    assert.equal(claims.preferred_username, 'service-account-gateway');
    const p = await createTokenVerifier({ issuer: dev.issuer, audience: AUDIENCE, jwks: dev.jwks() }).verify(token);
    assert.equal(p.kind, 'service');
    assert.equal(p.clientId, 'gateway');
    assert.ok(p.roles.has('svc:gateway'));
  });

  test('refuses production (APP_ENV=production)', async () => {
    await assert.rejects(createDevIssuer({ dataDir, appEnv: 'production' }), DevIssuerInProductionError);
    await assert.rejects(createDevIssuer({ dataDir, appEnv: 'production' }), /disabled in production/);
  });

  test('refuses production read from the environment', async () => {
    const saved = process.env.APP_ENV;
    process.env.APP_ENV = 'production';
    try {
      await assert.rejects(createDevIssuer({ dataDir }), DevIssuerInProductionError);
    } finally {
      if (saved === undefined) delete process.env.APP_ENV;
      else process.env.APP_ENV = saved;
    }
  });

  test('isProductionEnv: APP_ENV wins; NODE_ENV=production counts only when APP_ENV is unset', () => {
    assert.equal(isProductionEnv('production', undefined), true);
    assert.equal(isProductionEnv('development', 'production'), false);
    assert.equal(isProductionEnv(undefined, 'production'), true);
    assert.equal(isProductionEnv(undefined, 'test'), false);
  });

  test('handler serves discovery and JWKS at the Keycloak paths under the issuer path, nothing else', async () => {
    const dev = await createDevIssuer({ dataDir, appEnv: 'development', issuer: 'http://localhost:8080/dev-oidc/realms/agent-store/' });
    assert.equal(dev.issuer, 'http://localhost:8080/dev-oidc/realms/agent-store');
    const handle = createDevIssuerHandler(dev);
    const discovery = handle('/dev-oidc/realms/agent-store/.well-known/openid-configuration');
    assert.equal(discovery?.status, 200);
    const doc = discovery!.body as Record<string, unknown>;
    assert.equal(doc.issuer, dev.issuer);
    assert.equal(doc.jwks_uri, `${dev.issuer}/protocol/openid-connect/certs`);
    const certs = handle('/dev-oidc/realms/agent-store/protocol/openid-connect/certs?x=1');
    assert.deepEqual(certs?.body, dev.jwks());
    assert.equal(certs?.headers['content-type'], 'application/json');
    assert.equal(handle('/dev-oidc/realms/agent-store/protocol/openid-connect/token'), undefined);
    assert.equal(handle('/realms/agent-store/protocol/openid-connect/certs'), undefined);
  });

  test('devUserSubject is stable per email, case-insensitive, UUID-shaped', () => {
    const s = devUserSubject('Alice@Example.com');
    assert.equal(s, devUserSubject('alice@example.com'));
    assert.notEqual(s, devUserSubject('bob@example.com'));
    assert.match(s, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
