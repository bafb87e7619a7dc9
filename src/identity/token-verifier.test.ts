import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { SignJWT, type JSONWebKeySet } from 'jose';
import { AppError } from '../platform/errors';
import { SERVICE_ROLES } from './principal';
import { createTokenVerifier, type TokenVerifierOptions } from './token-verifier';
import { createTestSigningKey, keycloakUserClaims, signTestToken, type TestSigningKey } from './testing';

const ISSUER = 'https://kc.example.test/realms/agent-store';
const AUDIENCE = 'agent-store';

let key: TestSigningKey;
let ecKey: TestSigningKey;
let jwks: JSONWebKeySet;

before(async () => {
  key = await createTestSigningKey('RS256');
  ecKey = await createTestSigningKey('ES256');
  jwks = { keys: [key.publicJwk, ecKey.publicJwk] };
});

function verifier(extra: Partial<TokenVerifierOptions> = {}) {
  return createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, ...extra });
}

const userClaims = (extra: Parameters<typeof keycloakUserClaims>[0] extends infer O ? Partial<O> : never = {}) =>
  keycloakUserClaims({ issuer: ISSUER, audience: AUDIENCE, ...extra });

async function rejects(promise: Promise<unknown>, message: string | RegExp, code = 'UNAUTHENTICATED') {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('createTokenVerifier', () => {
  test('valid user token → user principal with realm roles, this API client roles, scopes', async () => {
    const claims = userClaims({
      subject: 'f3c0a7e2-1111-4222-8333-444455556666',
      realmRoles: ['offline_access', 'publisher'],
      extra: { resource_access: { [AUDIENCE]: { roles: ['catalog-editor'] }, account: { roles: ['manage-account'] } } },
    });
    const p = await verifier().verify(await signTestToken(key, claims));
    assert.equal(p.kind, 'user');
    assert.equal(p.subject, 'f3c0a7e2-1111-4222-8333-444455556666');
    assert.equal(p.email, 'alice@example.com');
    assert.equal(p.name, 'Alice Example');
    assert.deepEqual(p.realmRoles, ['offline_access', 'publisher']);
    assert.deepEqual(p.clientRoles, { [AUDIENCE]: ['catalog-editor'], account: ['manage-account'] });
    assert.deepEqual([...p.roles].sort(), ['catalog-editor', 'offline_access', 'publisher']);
    assert.ok(!p.roles.has('manage-account'), "another client's roles grant nothing");
    assert.equal(p.clientId, 'agent-store-web');
    assert.deepEqual(p.scopes, ['openid', 'profile', 'email']);
    assert.equal(p.tokenId, claims.jti);
  });

  test('ES256 token from the same key set → accepted', async () => {
    const p = await verifier().verify(await signTestToken(ecKey, userClaims()));
    assert.equal(p.kind, 'user');
  });

  for (const claimName of ['client_id', 'clientId'] as const) {
    test(`service token with ${claimName} claim → service principal with svc role`, async () => {
      const claims = userClaims({ realmRoles: [SERVICE_ROLES.gateway] });
      delete claims.email;
      delete claims.name;
      claims.azp = 'gateway';
      claims.preferred_username = 'service-account-gateway';
      claims[claimName] = 'gateway';
      const p = await verifier().verify(await signTestToken(key, claims));
      assert.equal(p.kind, 'service');
      assert.equal(p.clientId, 'gateway');
      assert.ok(p.roles.has('svc:gateway'));
      assert.equal(p.email, undefined);
    });
  }

  test('client id claim without email and without service-account username → still a service', async () => {
    const claims = userClaims();
    delete claims.email;
    claims.preferred_username = 'robot';
    claims.client_id = 'provisioner';
    const p = await verifier().verify(await signTestToken(key, claims));
    assert.equal(p.kind, 'service');
    assert.equal(p.clientId, 'provisioner');
  });

  test('aud as a string → accepted', async () => {
    await verifier().verify(await signTestToken(key, userClaims({ audience: AUDIENCE })));
  });

  test('aud as an array containing the audience → accepted', async () => {
    await verifier().verify(await signTestToken(key, userClaims({ audience: ['account', AUDIENCE] })));
  });

  test('wrong issuer → 401 wrong issuer', async () => {
    const token = await signTestToken(key, userClaims({ issuer: 'https://kc.example.test/realms/other' }));
    await rejects(verifier().verify(token), 'wrong issuer');
  });

  test('wrong audience (string) → 401 wrong audience', async () => {
    await rejects(verifier().verify(await signTestToken(key, userClaims({ audience: 'account' }))), 'wrong audience');
  });

  test('wrong audience (array) → 401 wrong audience', async () => {
    await rejects(verifier().verify(await signTestToken(key, userClaims({ audience: ['account', 'broker'] }))), 'wrong audience');
  });

  test('azp equal to the audience without aud → refused by default, accepted when opted in', async () => {
    const claims = userClaims({ audience: 'account', extra: { azp: AUDIENCE } });
    const token = await signTestToken(key, claims);
    await rejects(verifier().verify(token), 'wrong audience');
    const p = await verifier({ acceptAzpAsAudience: true }).verify(token);
    assert.equal(p.clientId, AUDIENCE);
  });

  test('expired beyond the skew → 401 token expired', async () => {
    await rejects(verifier().verify(await signTestToken(key, userClaims({ expiresIn: -31, issuedAgo: 400 }))), 'token expired');
  });

  test('expired within the skew → accepted', async () => {
    await verifier().verify(await signTestToken(key, userClaims({ expiresIn: -20, issuedAgo: 400 })));
  });

  test('nbf in the future beyond the skew → 401 not yet valid', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 120;
    await rejects(verifier().verify(await signTestToken(key, userClaims({ extra: { nbf } }))), 'token not yet valid');
  });

  test('older than maxTokenAgeSeconds → 401 too old', async () => {
    const token = await signTestToken(key, userClaims({ issuedAgo: 3600, expiresIn: 3600 }));
    await rejects(verifier({ maxTokenAgeSeconds: 600 }).verify(token), 'token is too old');
  });

  test('no exp claim → 401', async () => {
    const claims = userClaims();
    delete claims.exp;
    await rejects(verifier().verify(await signTestToken(key, claims)), 'token has no expiry');
  });

  test('alg none → 401 algorithm not allowed', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: key.kid })}.${b64(userClaims())}.`;
    await rejects(verifier().verify(token), 'signing algorithm not allowed');
  });

  test('HS256 signed with the public key bytes (key confusion) → 401 algorithm not allowed', async () => {
    const pem = createPublicKey({ key: key.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    for (const secret of [pem, JSON.stringify(key.publicJwk), key.publicJwk.n!]) {
      const token = await new SignJWT(userClaims())
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: key.kid })
        .sign(new TextEncoder().encode(secret));
      await rejects(verifier().verify(token), 'signing algorithm not allowed');
    }
  });

  test('HS* or none in the configured allow-list → construction fails', () => {
    for (const alg of ['HS256', 'none', 'HS512']) {
      assert.throws(() => verifier({ algorithms: ['RS256', alg] }), /not allowed/);
    }
  });

  test('algorithm outside a narrowed allow-list → 401', async () => {
    await rejects(verifier({ algorithms: ['RS256'] }).verify(await signTestToken(ecKey, userClaims())), 'signing algorithm not allowed');
  });

  test('unknown kid → 401 unknown signing key', async () => {
    const stranger = await createTestSigningKey('RS256');
    await rejects(verifier().verify(await signTestToken(stranger, userClaims())), 'unknown signing key');
  });

  test('known kid but signed by another key → 401 bad signature', async () => {
    const stranger = await createTestSigningKey('RS256');
    const token = await signTestToken(stranger, userClaims(), { kid: key.kid });
    await rejects(verifier().verify(token), 'bad signature');
  });

  test('no kid → 401', async () => {
    const token = await new SignJWT(userClaims()).setProtectedHeader({ alg: 'RS256' }).sign(key.privateKey);
    await rejects(verifier().verify(token), 'token has no key id');
  });

  test('tampered payload (roles added after signing) → 401 bad signature', async () => {
    const token = await signTestToken(key, userClaims());
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.realm_access.roles.push('svc:gateway');
    await rejects(verifier().verify(`${h}.${b64(payload)}.${s}`), 'bad signature');
  });

  for (const [label, token] of [
    ['empty', ''],
    ['garbage', 'not-a-token'],
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.e30'],
    ['header not JSON', `${Buffer.from('{{').toString('base64url')}.e30.sig`],
    ['illegal characters', 'a.b+c.d'],
  ] as const) {
    test(`malformed token (${label}) → 401 and the message never echoes it`, async () => {
      await assert.rejects(verifier().verify(token), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'UNAUTHENTICATED');
        if (token.length > 3) assert.ok(!err.message.includes(token));
        return true;
      });
    });
  }

  test('payload that is not JSON but correctly signed → 401 malformed', async () => {
    const { CompactSign } = await import('jose');
    const token = await new CompactSign(new TextEncoder().encode('hello'))
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .sign(key.privateKey);
    await rejects(verifier().verify(token), 'malformed token');
  });

  test('oversized token → 401 malformed', async () => {
    await rejects(verifier().verify(`${'a'.repeat(20000)}.b.c`), 'malformed token');
  });

  test('ID token (typ ID) presented as an access token → 401', async () => {
    await rejects(verifier().verify(await signTestToken(key, userClaims({ extra: { typ: 'ID' } }))), 'not an access token');
  });

  test('missing sub → 401', async () => {
    const claims = userClaims();
    delete claims.sub;
    await rejects(verifier().verify(await signTestToken(key, claims)), /sub/);
  });

  test('error messages never contain the token', async () => {
    const token = await signTestToken(key, userClaims({ audience: 'nope' }));
    await assert.rejects(verifier().verify(token), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.ok(!err.message.includes(token) && !JSON.stringify(err.details ?? {}).includes(token));
      return true;
    });
  });

  describe('verified tokens are remembered, never past their limits', () => {
    /** A JWKS endpoint that counts its fetches and serves whatever `keys` holds now. */
    async function jwksServer(keys: JSONWebKeySet['keys']) {
      const { createServer } = await import('node:http');
      const state = { fetches: 0 };
      const srv = createServer((_req, res) => {
        state.fetches++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys }));
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const url = new URL(`http://127.0.0.1:${(srv.address() as { port: number }).port}/certs`);
      return { url, state, close: () => new Promise((r) => srv.close(r)) };
    }

    test('a token verified once is taken again without a key lookup, within the cache time', async () => {
      const keys = [key.publicJwk];
      const server = await jwksServer(keys);
      try {
        // The key set is never fresh (max age 0): every signature check fetches it.
        const remembering = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: server.url, jwksCacheMaxAgeMs: 0, jwksCooldownMs: 0, verifiedCacheSeconds: 30 });
        const token = await signTestToken(key, userClaims());
        for (let i = 0; i < 5; i++) assert.equal((await remembering.verify(token)).kind, 'user');
        assert.equal(server.state.fetches, 1);
        const forgetting = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: server.url, jwksCacheMaxAgeMs: 0, jwksCooldownMs: 0, verifiedCacheSeconds: 0 });
        for (let i = 0; i < 3; i++) await forgetting.verify(token);
        assert.equal(server.state.fetches, 4, 'with the cache off, each call checks the signature');
      } finally {
        await server.close();
      }
    });

    test('a remembered token is refused once it expires (exp + clock tolerance)', async () => {
      let now = Date.now();
      const v = verifier({ now: () => new Date(now), clockToleranceSeconds: 5, verifiedCacheSeconds: 600 });
      const token = await signTestToken(key, userClaims({ expiresIn: 60 }));
      await v.verify(token);
      now += 60_000 + 4_000;
      await v.verify(token);
      now += 2_000;
      await rejects(v.verify(token), 'token expired');
    });

    test('a remembered token is checked again after the cache time: a key removed from the set stops it', async () => {
      const keys = [key.publicJwk];
      const server = await jwksServer(keys);
      try {
        let now = Date.now();
        const v = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: server.url, jwksCacheMaxAgeMs: 0, jwksCooldownMs: 0, now: () => new Date(now), verifiedCacheSeconds: 10 });
        const token = await signTestToken(key, userClaims({ expiresIn: 3600 }));
        await v.verify(token);
        keys.length = 0;
        now += 9_000;
        assert.equal((await v.verify(token)).kind, 'user', 'still remembered');
        now += 2_000;
        await rejects(v.verify(token), 'unknown signing key');
      } finally {
        await server.close();
      }
    });

    test('maxTokenAge bounds a remembered token like a fresh one', async () => {
      let now = Date.now();
      const v = verifier({ now: () => new Date(now), clockToleranceSeconds: 0, maxTokenAgeSeconds: 20, verifiedCacheSeconds: 600 });
      const token = await signTestToken(key, userClaims({ expiresIn: 3600 }));
      await v.verify(token);
      now += 21_000;
      await rejects(v.verify(token), 'token is too old');
    });

    test('a forged variant of a remembered token is verified on its own (and refused)', async () => {
      const v = verifier();
      const token = await signTestToken(key, userClaims());
      await v.verify(token);
      const [h, , sig] = token.split('.');
      const forged = `${h}.${b64({ ...userClaims(), sub: 'someone-else' })}.${sig}`;
      await rejects(v.verify(forged), 'bad signature');
    });
  });
});
