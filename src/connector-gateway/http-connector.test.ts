/** The SSRF guard of the generic HTTP connector, on a real local HTTP server. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../platform/errors';
import { executeHttp, type HttpCall } from './http-connector';
import { hostAllowed, isBlockedAddress, type Resolver } from '../platform/net-guard';

let server: Server;
let port: number;
const hits: string[] = [];
before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/to-loopback') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/secret-admin` });
      return res.end();
    }
    if (req.url === '/to-other-host') {
      res.writeHead(302, { location: `http://evil.example:${port}/x` });
      return res.end();
    }
    if (req.url === '/to-self') {
      res.writeHead(302, { location: `/ok` });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization ?? null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** Names a test can resolve: "public" ones are dialled at the local server (see dial). */
const names: Record<string, string[]> = {
  'public.acme.example': ['93.184.216.34'],
  'loopy.acme.example': ['127.0.0.1'],
  'mixed.acme.example': ['93.184.216.34', '10.1.2.3'],
  'meta.acme.example': ['169.254.169.254'],
  'v6loop.acme.example': ['::1'],
  'mapped.acme.example': ['::ffff:127.0.0.1'],
};
const resolver: Resolver = async (host) => {
  const a = names[host];
  if (!a) throw new Error('ENOTFOUND');
  return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const dial = () => '127.0.0.1';

function call(url: string, over: Partial<HttpCall> = {}): Promise<unknown> {
  return executeHttp({
    method: 'GET',
    url,
    headers: {},
    credentialHeaders: { authorization: 'Bearer sk_test' },
    timeoutMs: 2000,
    allowedHosts: Object.keys(names).concat(['127.0.0.1', '10.0.0.5', '169.254.169.254']),
    allowPrivateNetworks: false,
    resolver,
    dial,
    ...over,
  });
}

async function denied(p: Promise<unknown>, reason?: string) {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof AppError, `refused, got ${err}`);
  assert.equal(err.code, 'POLICY_DENIED');
  if (reason) assert.equal(err.details?.reason, reason);
}

describe('SSRF guard', () => {
  test('loopback, private, link-local/metadata and mapped addresses are blocked; public ones are not', () => {
    for (const a of ['127.0.0.1', '127.5.5.5', '10.0.0.1', '172.16.3.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1', '224.0.0.1']) {
      assert.equal(isBlockedAddress(a), true, a);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) assert.equal(isBlockedAddress(a), false, a);
  });

  test('allowed hosts: exact names, and *.x for subdomains only', () => {
    assert.ok(hostAllowed('api.acme.example', ['api.acme.example']));
    assert.ok(hostAllowed('a.b.acme.example', ['*.acme.example']));
    assert.ok(!hostAllowed('acme.example', ['*.acme.example']));
    assert.ok(!hostAllowed('evilacme.example', ['*.acme.example']));
    assert.ok(!hostAllowed('api.acme.example.evil.test', ['api.acme.example']));
  });

  test('127.0.0.1, 10.x and 169.254.169.254 targets are refused before any connection', async () => {
    const before = hits.length;
    await denied(call(`http://127.0.0.1:${port}/x`), 'private_network');
    await denied(call(`http://10.0.0.5:${port}/x`), 'private_network');
    await denied(call(`http://169.254.169.254/latest/meta-data/`), 'private_network');
    assert.equal(hits.length, before, 'nothing reached the server');
  });

  test('a hostname resolving to loopback, metadata, ::1, a mapped address, or to a mix with one private address is refused', async () => {
    const before = hits.length;
    for (const h of ['loopy', 'meta', 'v6loop', 'mapped', 'mixed']) await denied(call(`http://${h}.acme.example:${port}/x`), 'private_network');
    assert.equal(hits.length, before);
  });

  test('a public target is reached; a redirect to loopback is refused; a redirect to a host off the list is refused', async () => {
    const ok = (await call(`http://public.acme.example:${port}/ok`)) as any;
    assert.equal(ok.status, 200);
    assert.equal(ok.body.auth, 'Bearer sk_test');
    await denied(call(`http://public.acme.example:${port}/to-loopback`), 'private_network');
    assert.ok(!hits.includes('/secret-admin'));
    await denied(call(`http://public.acme.example:${port}/to-other-host`), 'host_not_allowed');
    const self = (await call(`http://public.acme.example:${port}/to-self`)) as any;
    assert.equal(self.body.path, '/ok');
  });

  test('with allowPrivateNetworks a 127.0.0.1 target is reached', async () => {
    const r = (await call(`http://127.0.0.1:${port}/private-ok`, { allowPrivateNetworks: true })) as any;
    assert.equal(r.status, 200);
    assert.equal(r.body.path, '/private-ok');
  });

  test('non-http schemes and hosts off the list are refused', async () => {
    await denied(call('file:///etc/passwd'));
    await denied(call(`http://not-listed.example/x`), 'host_not_allowed');
  });
});
