import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeVault, type FakeVault } from '../../test/support/vault-kv-server';
import { SecretForbiddenError, SecretMissingError, SecretStoreUnavailableError } from './secret-store';
import { VaultKvStore } from './vault-kv-store';

let vault: FakeVault;
before(async () => {
  vault = await startFakeVault();
});
after(() => vault.close());
beforeEach(() => {
  vault.sealed = false;
  vault.fail503 = 0;
  vault.delayMs = 0;
  vault.requests.length = 0;
});

const SECRET = { token: 'sk_live_never_log_me_123' };

describe('VaultKvStore against a local KV v2 server', () => {
  test('put writes data under /v1/kv/data/<path> with X-Vault-Token and answers the version; get reads it back', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv' });
    assert.equal(await store.put('connectors/org_a/prj_a/bind_1', SECRET), 1);
    assert.equal(await store.put('connectors/org_a/prj_a/bind_1', { token: 'v2' }), 2);
    assert.deepEqual(await store.get('connectors/org_a/prj_a/bind_1'), { data: { token: 'v2' }, version: 2 });
    assert.equal(vault.requests[0]!.path, '/v1/kv/data/connectors/org_a/prj_a/bind_1');
    assert.equal(vault.requests[0]!.token, vault.rootToken);
  });

  test('delete is a soft delete of the current version: get then answers missing, metadata stays', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv' });
    await store.put('connectors/o/p/bind_del', SECRET);
    await store.delete('connectors/o/p/bind_del');
    await assert.rejects(store.get('connectors/o/p/bind_del'), SecretMissingError);
    assert.ok(vault.store.has('kv/connectors/o/p/bind_del'), 'metadata kept for audit');
    await store.delete('connectors/o/p/bind_del'); // idempotent
    await store.delete('connectors/o/p/never_written');
  });

  test('a missing secret is SecretMissingError; a refused token is SecretForbiddenError', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv' });
    await assert.rejects(store.get('connectors/o/p/none'), SecretMissingError);
    const bad = new VaultKvStore({ addr: vault.url, token: 'wrong', mount: 'kv' });
    await assert.rejects(bad.get('connectors/o/p/none'), SecretForbiddenError);
  });

  test('503s are retried twice; a third 503 fails closed', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv', backoffMs: 1 });
    await store.put('connectors/o/p/bind_r', SECRET);
    vault.requests.length = 0;
    vault.fail503 = 2;
    assert.deepEqual((await store.get('connectors/o/p/bind_r')).data, SECRET);
    assert.equal(vault.requests.length, 3);
    vault.requests.length = 0;
    vault.fail503 = 3;
    await assert.rejects(store.get('connectors/o/p/bind_r'), SecretStoreUnavailableError);
    assert.equal(vault.requests.length, 3);
  });

  test('sealed Vault fails closed with an error that carries no secret and no token', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv', backoffMs: 1 });
    vault.sealed = true;
    const err = await store.put('connectors/o/p/bind_s', SECRET).catch((e) => e);
    assert.ok(err instanceof SecretStoreUnavailableError);
    assert.ok(!String(err.message).includes(SECRET.token) && !String(err.message).includes(vault.rootToken));
  });

  test('a slow Vault times out per attempt (timeout, 2 retries) and fails closed', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv', timeoutMs: 100, backoffMs: 1 });
    vault.delayMs = 400;
    const started = Date.now();
    await assert.rejects(store.get('connectors/o/p/slow'), (e: Error) => e instanceof SecretStoreUnavailableError && /timeout/.test(e.message));
    assert.ok(Date.now() - started < 1500, 'three attempts of 100 ms, not the server delay');
  });

  test('Vault unreachable fails closed', async () => {
    const store = new VaultKvStore({ addr: 'http://127.0.0.1:1', token: 't', mount: 'kv', backoffMs: 1 });
    await assert.rejects(store.get('connectors/o/p/x'), SecretStoreUnavailableError);
  });

  test('AppRole: logs in once, caches the token until the lease ends, sends X-Vault-Namespace', async () => {
    const ns = await startFakeVault({ namespace: 'team-a' });
    try {
      let now = 1_000_000;
      const store = new VaultKvStore({ addr: ns.url, roleId: ns.roleId, secretId: ns.secretId, namespace: 'team-a', mount: 'kv', now: () => now });
      ns.leaseSeconds = 60;
      await store.put('connectors/o/p/bind_a', SECRET);
      await store.get('connectors/o/p/bind_a');
      assert.equal(ns.logins, 1);
      assert.ok(ns.requests.every((r) => r.namespace === 'team-a'));
      now += 61_000;
      await store.get('connectors/o/p/bind_a');
      assert.equal(ns.logins, 2, 'logged in again after the lease');
    } finally {
      await ns.close();
    }
  });

  test('paths with traversal are refused before any request', async () => {
    const store = new VaultKvStore({ addr: vault.url, token: vault.rootToken, mount: 'kv' });
    await assert.rejects(store.get('connectors/../sys/x'), /Invalid secret path/);
    assert.equal(vault.requests.length, 0);
  });
});
