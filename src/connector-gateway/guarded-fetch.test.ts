/** The MCP client's fetch, against a local HTTPS server reached through "public" test names. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { generate } from 'selfsigned';
import { AppError } from '../platform/errors';
import { FetchNetworkError, guardedFetch, type GuardedFetchOptions } from './guarded-fetch';
import type { Resolver } from '../platform/net-guard';

let server: Server;
let port: number;
let ca: string;
const hits: string[] = [];
before(async () => {
  const pems = await generate([{ name: 'commonName', value: 'api.acme.example' }], {
    keyType: 'ec',
    curve: 'P-256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'api.acme.example' }, { type: 2, value: 'cdn.acme.example' }] }],
  });
  ca = pems.cert;
  server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    hits.push(req.url!);
    if (req.url === '/moved') return void res.writeHead(307, { location: `https://api.acme.example:${port}/echo` }).end();
    if (req.url === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(4096));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ auth: req.headers.authorization ?? null, method: req.method }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const resolver: Resolver = async (host) => {
  if (host === 'api.acme.example' || host === 'cdn.acme.example') return [{ address: '93.184.216.34', family: 4 }];
  throw new Error('ENOTFOUND');
};

function fetcher(over: Partial<GuardedFetchOptions> = {}) {
  return guardedFetch({
    allowedHosts: ['api.acme.example', 'cdn.acme.example'],
    allowPrivateNetworks: false,
    resolver,
    dial: () => '127.0.0.1',
    ca,
    credentialHeaders: { authorization: 'Bearer sk_mcp' },
    credentialHost: `api.acme.example:${port}`,
    maxBytes: 1024,
    ...over,
  });
}

async function refused(p: Promise<unknown>, reason: string) {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof AppError, `refused, got ${err}`);
  assert.equal(err.code, 'POLICY_DENIED');
  assert.equal(err.details?.reason, reason);
}

describe('guarded fetch', () => {
  test('the credential goes to the credential host only', async () => {
    const f = fetcher();
    assert.deepEqual(await (await f(`https://api.acme.example:${port}/echo`, { method: 'POST', body: '{}', headers: new Headers({ 'content-type': 'application/json' }) })).json(), { auth: 'Bearer sk_mcp', method: 'POST' });
    assert.deepEqual(await (await f(`https://cdn.acme.example:${port}/echo`)).json(), { auth: null, method: 'GET' });
  });

  test('a redirect is returned as it is, never followed here (the SDK follows same-origin ones through this fetch again)', async () => {
    const before = hits.length;
    const r = await fetcher()(`https://api.acme.example:${port}/moved`, { redirect: 'follow' });
    assert.equal(r.status, 307);
    assert.equal(r.headers.get('location'), `https://api.acme.example:${port}/echo`);
    assert.deepEqual(hits.slice(before), ['/moved']);
  });

  test('http, hosts off the list, and private IP literals are refused before any connection', async () => {
    const before = hits.length;
    await refused(fetcher()(`http://api.acme.example:${port}/echo`), 'insecure_scheme');
    await refused(fetcher()(`https://evil.example:${port}/echo`), 'host_not_allowed');
    await refused(fetcher({ allowedHosts: ['127.0.0.1', '169.254.169.254'] })(`https://127.0.0.1:${port}/echo`), 'private_network');
    await refused(fetcher({ allowedHosts: ['169.254.169.254'] })('https://169.254.169.254/latest/meta-data/'), 'private_network');
    assert.equal(hits.length, before);
  });

  test('an unknown certificate, an unresolvable name and a body over maxBytes are network errors', async () => {
    await assert.rejects(fetcher({ ca: undefined })(`https://api.acme.example:${port}/echo`), (e: any) => e instanceof FetchNetworkError);
    await assert.rejects(fetcher({ allowedHosts: ['nowhere.acme.example'] })(`https://nowhere.acme.example:${port}/echo`), (e: any) => e instanceof FetchNetworkError && e.reason === 'ENOTFOUND');
    const big = await fetcher()(`https://api.acme.example:${port}/big`);
    assert.equal(big.status, 200);
    await assert.rejects(big.text());
    const small = await fetcher({ maxBytes: 1 << 20 })(`https://api.acme.example:${port}/big`);
    assert.equal((await small.text()).length, 4096);
  });
});
