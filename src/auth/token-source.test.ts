import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDevIssuer, createTokenVerifier } from '../identity';
import { clientCredentialsTokenSource, devIssuerTokenSource, TokenEndpointError } from './token-source';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('Keycloak client credentials: Basic auth + grant_type=client_credentials at the realm token endpoint, cached until shortly before expiry', async () => {
  const requests: { path: string; auth?: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    requests.push({ path: req.url ?? '', auth: req.headers.authorization, body });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: `tok-${requests.length}`, expires_in: 300, token_type: 'Bearer' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/agent-store`;
  let clock = 0;
  const source = clientCredentialsTokenSource({ issuer, clientId: 'provisioner', clientSecret: 's3cr3t-value', now: () => clock });
  try {
    assert.equal(await source.token(), 'tok-1');
    assert.equal(await source.token(), 'tok-1');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.path, '/realms/agent-store/protocol/openid-connect/token');
    assert.equal(requests[0]!.auth, `Basic ${Buffer.from('provisioner:s3cr3t-value').toString('base64')}`);
    assert.equal(requests[0]!.body, 'grant_type=client_credentials');
    clock += 271_000; // within 30 s of expiry
    assert.equal(await source.token(), 'tok-2');
    source.invalidate();
    assert.equal(await source.token(), 'tok-3');
  } finally {
    server.close();
  }
});

test('a refused client-credentials grant names the error but never the secret', async () => {
  const server = createServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/x`;
  try {
    const source = clientCredentialsTokenSource({ issuer, clientId: 'provisioner', clientSecret: 'wrong-secret-123' });
    await assert.rejects(source.token(), (err: unknown) => {
      assert.ok(err instanceof TokenEndpointError);
      assert.equal(err.httpStatus, 401);
      assert.match(err.message, /unauthorized_client/);
      assert.doesNotMatch(err.message, /wrong-secret-123/);
      return true;
    });
  } finally {
    server.close();
  }
});

test('development: the dev issuer mints a service token (provisioner, gateway) the platform verifier accepts', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'prov-token-'));
  dirs.push(dataDir);
  const issuer = await createDevIssuer({ dataDir, appEnv: 'test' });
  const source = devIssuerTokenSource(issuer, { service: 'provisioner', audience: 'agent-store' });
  const token = await source.token();
  assert.equal(await source.token(), token, 'cached');
  const principal = await createTokenVerifier({ issuer: issuer.issuer, audience: 'agent-store', jwks: issuer.jwks() }).verify(token);
  assert.equal(principal.kind, 'service');
  assert.equal(principal.clientId, 'provisioner');
  assert.ok(principal.roles.has('svc:provisioner'));
  const gateway = await devIssuerTokenSource(issuer, { service: 'gateway', audience: 'agent-store' }).token();
  const gw = await createTokenVerifier({ issuer: issuer.issuer, audience: 'agent-store', jwks: issuer.jwks() }).verify(gateway);
  assert.equal(gw.clientId, 'gateway');
  assert.deepEqual([...gw.roles], ['svc:gateway']);
});
