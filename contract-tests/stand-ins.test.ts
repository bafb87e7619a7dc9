/**
 * The stand-ins of the Newman run behave as the collection relies on: Vault seals and unseals over
 * its HTTP API (sealed → every other call 503), and the upstream API counts calls per path.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeVault, type FakeVault } from '../test/support/vault-kv-server';
import { startUpstreamApi, type UpstreamApi } from './upstream-api';

let vault: FakeVault;
let upstream: UpstreamApi;
before(async () => {
  vault = await startFakeVault();
  upstream = await startUpstreamApi();
});
after(async () => {
  await vault?.close();
  await upstream?.close();
});

const call = (method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
  fetch(`${vault.url}${path}`, {
    method,
    headers: { ...(opts.token ? { 'x-vault-token': opts.token } : {}), ...(opts.body ? { 'content-type': 'application/json' } : {}) },
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });

test('Vault: sealing needs the root token; sealed, KV answers 503 and seal-status says so; the right unseal key opens it', async () => {
  assert.equal((await call('POST', '/v1/kv/data/connectors/a', { token: vault.rootToken, body: { data: { token: 'x' } } })).status, 200);
  assert.equal((await call('PUT', '/v1/sys/seal', { token: 'not-root' })).status, 403);
  assert.equal((await call('PUT', '/v1/sys/seal', { token: vault.rootToken })).status, 204);
  assert.equal((await call('GET', '/v1/kv/data/connectors/a', { token: vault.rootToken })).status, 503);
  assert.equal(((await (await call('GET', '/v1/sys/seal-status')).json()) as any).sealed, true);
  assert.equal((await call('PUT', '/v1/sys/unseal', { body: { key: 'wrong' } })).status, 400);
  const unsealed = await call('PUT', '/v1/sys/unseal', { body: { key: vault.unsealKey } });
  assert.equal(unsealed.status, 200);
  assert.equal(((await unsealed.json()) as any).sealed, false);
  assert.equal((await call('GET', '/v1/kv/data/connectors/a', { token: vault.rootToken })).status, 200);
});

test('upstream API: orders echo the Authorization header, /always503 fails, /_hits counts per path', async () => {
  const order = await fetch(`${upstream.url}/orders/7`, { headers: { authorization: 'Bearer t' } });
  assert.deepEqual(await order.json(), { id: '7', status: 'shipped', sawAuth: 'Bearer t' });
  assert.equal((await fetch(`${upstream.url}/always503/w`, { method: 'POST', body: '{}' })).status, 503);
  assert.equal((await fetch(`${upstream.url}/always503/w`, { method: 'POST', body: '{}' })).status, 503);
  assert.deepEqual(await (await fetch(`${upstream.url}/_hits?path=/always503/w`)).json(), { path: '/always503/w', hits: 2 });
  assert.deepEqual(await (await fetch(`${upstream.url}/_hits?path=/never`)).json(), { path: '/never', hits: 0 });
});
