import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../platform/errors';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { flattenedVerify, importJWK } from 'jose';
import { generateSaleorKey, pythonJsonDumps, saleorHeaders, saleorHmac, saleorJwks, type SaleorJwsForm, type SaleorSigningKey } from './saleor-dev';
import { createSaleorSignatureVerifier, type SaleorVerifierOptions } from './signature';

const API_URL = 'https://shop.example.com/graphql/';
const ORIGIN = 'https://shop.example.com';
const BODY = Buffer.from('{"order":{"id":"T3JkZXI6MQ==","lines":[]}}  \n'); // trailing bytes are part of what is signed

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

let keyA: SaleorSigningKey;
let keyB: SaleorSigningKey;
const keys = async () => {
  keyA ??= await generateSaleorKey();
  keyB ??= await generateSaleorKey();
  return { keyA, keyB };
};

/** A verifier whose JWKS "server" serves `served()` and counts fetches. */
function verifierWith(served: () => unknown, extra: Partial<SaleorVerifierOptions> = {}) {
  const fetches: string[] = [];
  let clock = 1_000_000;
  const verifier = createSaleorSignatureVerifier({
    apiUrls: [API_URL],
    fetchJwks: async (url) => {
      fetches.push(url);
      return served();
    },
    now: () => clock,
    ...extra,
  });
  return { verifier, fetches, advance: (ms: number) => (clock += ms) };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${err}`);
    return err;
  }
  assert.fail('expected the webhook to be refused');
}

describe('Saleor signature: JWS with detached payload (RS256, JWKS)', () => {
  test('a webhook signed by the instance key is accepted, the JWKS fetched from the domain root', async () => {
    const { keyA } = await keys();
    const { verifier, fetches } = verifierWith(() => saleorJwks(keyA));
    const verified = await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY);
    assert.deepEqual(verified, { apiUrl: API_URL, origin: ORIGIN, method: 'jws', kid: keyA.kid, jwsHeader: 'crit' });
    assert.deepEqual(fetches, [`${ORIGIN}/.well-known/jwks.json`]);
  });

  test('the JWKS is cached: a second webhook fetches nothing', async () => {
    const { keyA } = await keys();
    const { verifier, fetches } = verifierWith(() => saleorJwks(keyA));
    for (let i = 0; i < 3; i++) await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY);
    assert.equal(fetches.length, 1);
  });

  test('a tampered body (one byte, or re-serialized JSON) → 401 SIGNATURE_INVALID', async () => {
    const { keyA } = await keys();
    const { verifier } = verifierWith(() => saleorJwks(keyA));
    const signature = await keyA.sign(BODY);
    const tampered = Buffer.from(BODY);
    tampered[20] = tampered[20]! ^ 1;
    for (const body of [tampered, Buffer.from(JSON.stringify(JSON.parse(BODY.toString())))]) {
      const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature }), body));
      assert.equal(err.status, 401);
      assert.equal(err.code, 'SIGNATURE_INVALID');
    }
  });

  test('a signature by another key (same kid claimed or its own) → 401', async () => {
    const { keyA, keyB } = await keys();
    const { verifier } = verifierWith(() => saleorJwks(keyA));
    const own = await keyB.sign(BODY);
    const claimingA = await keyB.sign(BODY, { header: { kid: keyA.kid } });
    for (const signature of [own, claimingA]) {
      const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature }), BODY));
      assert.equal(err.code, 'SIGNATURE_INVALID');
    }
  });

  test('JWS headers other than RS256 + b64:false (+ crit ["b64"] or no crit) are refused before any key is used', async () => {
    const { keyA } = await keys();
    const { verifier, fetches } = verifierWith(() => saleorJwks(keyA));
    const good = await keyA.sign(BODY);
    const sig = good.split('..')[1]!;
    const cases: [string, Record<string, unknown>, string][] = [
      ['b64 true', { alg: 'RS256', kid: keyA.kid }, 'b64'],
      ['b64 true, explicit', { alg: 'RS256', b64: true, crit: ['b64'], kid: keyA.kid }, 'b64'],
      ['alg none', { alg: 'none', b64: false, crit: ['b64'], kid: keyA.kid }, 'algorithm'],
      ['HS256 (key confusion)', { alg: 'HS256', b64: false, crit: ['b64'], kid: keyA.kid }, 'algorithm'],
      ['crit naming another extension', { alg: 'RS256', b64: false, crit: ['b64', 'exp'], kid: keyA.kid }, 'crit'],
      ['crit not a list', { alg: 'RS256', b64: false, crit: 'b64', kid: keyA.kid }, 'crit'],
      ['b64 false without crit, but a string', { alg: 'RS256', b64: 'false', kid: keyA.kid }, 'b64'],
      ['no kid', { alg: 'RS256', b64: false, crit: ['b64'] }, 'kid'],
    ];
    for (const [name, header, reason] of cases) {
      const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: `${b64(header)}..${sig}` }), BODY));
      assert.equal(err.status, 401, name);
      assert.equal(err.code, 'SIGNATURE_INVALID', name);
      assert.equal(err.details?.reason, reason, name);
    }
    // An attached-payload (compact) JWS is not Saleor's form either.
    const compact = good.replace('..', `.${Buffer.from(BODY).toString('base64url')}.`);
    assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: compact }), BODY))).details?.reason, 'malformed');
    assert.equal(fetches.length, 0, 'malformed headers never reach the JWKS');
  });

  test('a missing or garbage Saleor-Signature → 401 SIGNATURE_INVALID', async () => {
    const { verifier } = verifierWith(() => ({ keys: [] }));
    const headers = saleorHeaders({ apiUrl: API_URL, signature: 'x' });
    delete headers['saleor-signature'];
    assert.equal((await refusal(verifier.verify(headers, BODY))).code, 'SIGNATURE_INVALID');
    for (const signature of ['not-a-jws', 'a.b.c', '..', 'eyJ9..%%%']) {
      assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature }), BODY))).code, 'SIGNATURE_INVALID', signature);
    }
  });

  test('an unknown Saleor-Api-Url → 403 FORBIDDEN, and its JWKS is never fetched', async () => {
    const { keyA } = await keys();
    const { verifier, fetches } = verifierWith(() => saleorJwks(keyA));
    for (const apiUrl of ['https://evil.example/graphql/', 'http://shop.example.com/graphql/', 'https://shop.example.com:8443/graphql/', 'https://shop.example.com/other/graphql/', 'not a url']) {
      const err = await refusal(verifier.verify(saleorHeaders({ apiUrl, domain: 'shop.example.com', signature: await keyA.sign(BODY) }), BODY));
      assert.equal(err.status, 403, apiUrl);
      assert.equal(err.code, 'FORBIDDEN', apiUrl);
    }
    assert.equal(fetches.length, 0);
  });

  test('a Saleor-Domain that disagrees with Saleor-Api-Url → 403 FORBIDDEN', async () => {
    const { keyA } = await keys();
    const { verifier } = verifierWith(() => saleorJwks(keyA));
    const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, domain: 'evil.example', signature: await keyA.sign(BODY) }), BODY));
    assert.equal(err.status, 403);
    assert.equal(err.details?.reason, 'domain_mismatch');
  });

  test('a wrong or missing Saleor-Event → 400 VALIDATION_FAILED (the value is exact and lowercase)', async () => {
    const { keyA } = await keys();
    const { verifier } = verifierWith(() => saleorJwks(keyA));
    for (const event of ['order_created', 'ORDER_FULLY_PAID', '']) {
      const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, event, signature: await keyA.sign(BODY) }), BODY));
      assert.equal(err.status, 400, event);
      assert.equal(err.code, 'VALIDATION_FAILED', event);
    }
    // Header names are case-insensitive.
    const mixed = { 'Saleor-Event': 'order_fully_paid', 'Saleor-Api-Url': API_URL, 'SALEOR-SIGNATURE': await keyA.sign(BODY) };
    assert.equal((await verifier.verify(mixed, BODY)).method, 'jws');
  });

  test('key rotation: a new kid triggers exactly one JWKS refetch and is accepted', async () => {
    const { keyA, keyB } = await keys();
    let served = saleorJwks(keyA);
    const { verifier, fetches, advance } = verifierWith(() => served, { refetchCooldownMs: 10_000 });
    await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY);
    served = saleorJwks(keyB); // Saleor rotated its key
    advance(10_000);
    const verified = await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY);
    assert.equal(verified.kid, keyB.kid);
    assert.equal(fetches.length, 2);
    await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY);
    assert.equal(fetches.length, 2, 'the rotated key is cached');
  });

  test('forged signatures cannot make the Provisioner hammer Saleor: refetches are rate-limited', async () => {
    const { keyA, keyB } = await keys();
    const { verifier, fetches, advance } = verifierWith(() => saleorJwks(keyA), { refetchCooldownMs: 10_000 });
    await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY);
    advance(10_000);
    const forged = await keyB.sign(BODY);
    await Promise.all(Array.from({ length: 20 }, () => refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: forged }), BODY))));
    assert.equal(fetches.length, 2, 'one refetch for 20 forged requests');
    advance(10_000);
    await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: forged }), BODY));
    assert.equal(fetches.length, 3, 'one more after the cooldown');
  });

  test('Saleor\'s JWKS unreachable → 503 DEPENDENCY_UNAVAILABLE (Saleor redelivers), not a signature refusal', async () => {
    const { keyA } = await keys();
    const { verifier } = verifierWith(() => {
      throw new Error('connect ECONNREFUSED');
    });
    const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY));
    assert.equal(err.status, 503);
    assert.equal(err.code, 'DEPENDENCY_UNAVAILABLE');
  });
});

describe('Saleor signature: both header forms Saleor releases send', () => {
  const FORMS: [SaleorJwsForm, string, string][] = [
    ['crit', 'Saleor 3.20+ / 3.19.1 / backports', '{"alg":"RS256","b64":false,"crit":["b64"],"kid":"%KID%","typ":"JWT"}'],
    ['no-crit', 'Saleor 3.19.0 and earlier (pyjwt 2.4.1+, sorted)', '{"alg":"RS256","b64":false,"kid":"%KID%","typ":"JWT"}'],
    ['no-crit-unsorted', 'Saleor on pyjwt 2.4.0 (insertion order)', '{"typ":"JWT","alg":"RS256","kid":"%KID%","b64":false}'],
  ];
  // Saleor's bytes: a subscription payload as json.dumps writes it (spaces, \u-escaped non-ASCII).
  const PAYLOAD = Buffer.from(pythonJsonDumps({ issuedAt: '2025-01-17T08:00:00+00:00', version: '3.19.0', order: { id: 'T3JkZXI6MQ==', userEmail: 'zoë@example.com', lines: [] } }));

  for (const [form, who, headerJson] of FORMS) {
    test(`${who}: the protected header is ${headerJson.replace('%KID%', '…')} and the webhook is accepted`, async () => {
      const { keyA } = await keys();
      const { verifier } = verifierWith(() => saleorJwks(keyA));
      const signature = await keyA.sign(PAYLOAD, { form });
      assert.equal(Buffer.from(signature.split('..')[0]!, 'base64url').toString(), headerJson.replace('%KID%', keyA.kid));
      const verified = await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature }), PAYLOAD);
      assert.equal(verified.kid, keyA.kid);
      assert.equal(verified.jwsHeader, form === 'crit' ? 'crit' : 'no-crit');
      // Byte-exact: one changed byte of the body or of the header breaks either form.
      const altered = Buffer.concat([PAYLOAD, Buffer.from(' ')]);
      assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature }), altered))).code, 'SIGNATURE_INVALID');
      const [h, , sig] = signature.split('.');
      const reordered = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(h!, 'base64url').toString()), Object.keys(JSON.parse(Buffer.from(h!, 'base64url').toString())).reverse())).toString('base64url');
      assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: `${reordered}..${sig}` }), PAYLOAD))).code, 'SIGNATURE_INVALID');
    });
  }

  test('jose verifies the crit form but cannot read the form without crit (why crypto.verify does it)', async () => {
    const { keyA } = await keys();
    const pub = await importJWK(keyA.publicJwk, 'RS256');
    const [h1, , s1] = (await keyA.sign(PAYLOAD, { form: 'crit' })).split('.');
    await flattenedVerify({ protected: h1!, payload: PAYLOAD, signature: s1! }, pub, { algorithms: ['RS256'] });
    const [h2, , s2] = (await keyA.sign(PAYLOAD, { form: 'no-crit' })).split('.');
    await assert.rejects(flattenedVerify({ protected: h2!, payload: PAYLOAD, signature: s2! }, pub, { algorithms: ['RS256'] }));
  });

  test('the signatures are byte for byte what pyjwt makes (checked with the python3-jwt on this machine)', async (t) => {
    const python = '/usr/bin/python3';
    const probe = spawnSync(python, ['-c', 'import jwt, cryptography'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      t.skip('pyjwt is not installed for /usr/bin/python3 (Debian: apt-get install python3-jwt)');
      return;
    }
    const { keyA } = await keys();
    const pem = createPrivateKey({ key: keyA.privateJwk as never, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }).toString();
    // jwt_manager.jws_encode, with and without crit (pyjwt sorts the header since 2.4.1); the
    // unsorted form is pyjwt 2.4.0's encode step by step: same header dict, json.dumps unsorted.
    const script = [
      'import sys, json, jwt',
      'from jwt import api_jws',
      'pem, kid, body = sys.argv[1].encode(), sys.argv[2], sys.stdin.buffer.read()',
      'out = {}',
      'out["crit"] = api_jws.encode(body, key=pem, algorithm="RS256", headers={"kid": kid, "crit": ["b64"]}, is_payload_detached=True)',
      'out["no-crit"] = api_jws.encode(body, key=pem, algorithm="RS256", headers={"kid": kid}, is_payload_detached=True)',
      'from jwt.algorithms import RSAAlgorithm',
      'from jwt.utils import base64url_encode',
      'alg = RSAAlgorithm(RSAAlgorithm.SHA256)',
      'h = base64url_encode(json.dumps({"typ": "JWT", "alg": "RS256", "kid": kid, "b64": False}, separators=(",", ":")).encode())',
      'out["no-crit-unsorted"] = (h + b".." + base64url_encode(alg.sign(h + b"." + body, alg.prepare_key(pem)))).decode()',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync(python, ['-c', script, pem, keyA.kid], { input: PAYLOAD, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const made = JSON.parse(run.stdout) as Record<SaleorJwsForm, string>;
    const { verifier } = verifierWith(() => saleorJwks(keyA));
    for (const [form] of FORMS) {
      assert.equal(await keyA.sign(PAYLOAD, { form }), made[form], form);
      await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: made[form] }), PAYLOAD);
    }
  });
});

describe('Saleor signature: what is on our side answers 5xx (Saleor redelivers)', () => {
  test('an unknown kid while the JWKS refetch cools down → 503 with Retry-After; after the cooldown the rotated key is accepted', async () => {
    const { keyA, keyB } = await keys();
    let served = saleorJwks(keyA);
    const { verifier, fetches, advance } = verifierWith(() => served, { refetchCooldownMs: 10_000 });
    await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY); // initial fetch, now cooling down
    served = saleorJwks(keyA, keyB); // Saleor rotated
    const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY));
    assert.equal(err.status, 503);
    assert.equal(err.code, 'DEPENDENCY_UNAVAILABLE');
    assert.equal(err.details?.reason, 'jwks_refetch_cooldown');
    assert.equal(err.headers?.['Retry-After'], '10');
    assert.equal(fetches.length, 1);
    advance(10_000); // Saleor's first retry comes 10 s later
    assert.equal((await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY)).kid, keyB.kid);
  });

  test('an unknown kid when the refetch fails → 503; a kid still unknown after a successful refetch → 401', async () => {
    const { keyA, keyB } = await keys();
    let up = true;
    const { verifier, advance } = verifierWith(() => {
      if (!up) throw new Error('connect ECONNREFUSED');
      return saleorJwks(keyA);
    });
    await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY);
    advance(10_000);
    up = false;
    assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY))).status, 503);
    // The cached key still verifies its own signatures while Saleor's JWKS is down.
    await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyA.sign(BODY) }), BODY);
    advance(10_000);
    up = true;
    const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY));
    assert.equal(err.status, 401);
    assert.equal(err.details?.reason, 'unknown_kid');
  });

  test('a kid missing from keys fetched for this very request → 401 at once (no second fetch)', async () => {
    const { keyA, keyB } = await keys();
    const { verifier, fetches } = verifierWith(() => saleorJwks(keyA));
    const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: await keyB.sign(BODY) }), BODY));
    assert.equal(err.status, 401);
    assert.equal(fetches.length, 1);
  });
});

describe('Saleor signature: legacy HMAC-SHA256', () => {
  const SECRET = 'legacy-webhook-secret-0123';

  test('a valid lowercase hex HMAC of the raw body is accepted when the instance has a secret', async () => {
    const { verifier, fetches } = verifierWith(() => ({ keys: [] }), { webhookSecrets: { [ORIGIN]: SECRET } });
    const verified = await verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: saleorHmac(BODY, SECRET) }), BODY);
    assert.equal(verified.method, 'hmac');
    assert.equal(fetches.length, 0);
  });

  test('a wrong secret, a tampered body, or no configured secret → 401 SIGNATURE_INVALID', async () => {
    const { verifier } = verifierWith(() => ({ keys: [] }), { webhookSecrets: { [ORIGIN]: SECRET } });
    const wrongSecret = saleorHmac(BODY, 'another-secret-456');
    assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: wrongSecret }), BODY))).code, 'SIGNATURE_INVALID');
    const tampered = Buffer.concat([BODY, Buffer.from(' ')]);
    assert.equal((await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature: saleorHmac(BODY, SECRET) }), tampered))).code, 'SIGNATURE_INVALID');
    const noSecret = verifierWith(() => ({ keys: [] })).verifier;
    const err = await refusal(noSecret.verify(saleorHeaders({ apiUrl: API_URL, signature: saleorHmac(BODY, SECRET) }), BODY));
    assert.equal(err.code, 'SIGNATURE_INVALID');
    assert.equal(err.details?.reason, 'hmac_not_configured');
  });

  test('refusals never echo the secret or the signature', async () => {
    const { verifier } = verifierWith(() => ({ keys: [] }), { webhookSecrets: { [ORIGIN]: SECRET } });
    const signature = saleorHmac(BODY, 'another-secret-456');
    const err = await refusal(verifier.verify(saleorHeaders({ apiUrl: API_URL, signature }), BODY));
    const text = JSON.stringify({ message: err.message, details: err.details });
    assert.doesNotMatch(text, new RegExp(`${SECRET}|${signature}`));
  });
});
