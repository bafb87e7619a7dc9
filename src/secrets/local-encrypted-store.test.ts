import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalEncryptedSecretStore } from './local-encrypted-store';
import { SecretMissingError } from './secret-store';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'secrets-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('LocalEncryptedSecretStore', () => {
  test('round-trips a secret; the file holds only ciphertext; the key file is 0600', async () => {
    const store = new LocalEncryptedSecretStore(dir);
    assert.equal(await store.put('connectors/o/p/bind_1', { token: 'sk_plain_marker' }), 1);
    assert.deepEqual(await store.get('connectors/o/p/bind_1'), { data: { token: 'sk_plain_marker' }, version: 1 });
    const file = await readFile(path.join(dir, 'kv/connectors/o/p/bind_1.json'), 'utf8');
    assert.ok(!file.includes('sk_plain_marker'));
    assert.equal((await stat(path.join(dir, 'master.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, 'kv/connectors/o/p/bind_1.json'))).mode & 0o777, 0o600);
    // a new instance over the same folder reads it (the key persists)
    assert.deepEqual((await new LocalEncryptedSecretStore(dir).get('connectors/o/p/bind_1')).data, { token: 'sk_plain_marker' });
  });

  test('delete makes it missing and keeps the version; a file moved to another path does not decrypt', async () => {
    const store = new LocalEncryptedSecretStore(dir);
    await store.put('connectors/o/p/bind_2', { token: 'a' });
    await store.put('connectors/o/p/bind_3', { token: 'b' });
    await store.delete('connectors/o/p/bind_2');
    await assert.rejects(store.get('connectors/o/p/bind_2'), SecretMissingError);
    assert.equal(await store.put('connectors/o/p/bind_2', { token: 'c' }), 2);
    const moved = await readFile(path.join(dir, 'kv/connectors/o/p/bind_3.json'));
    await writeFile(path.join(dir, 'kv/connectors/o/p/bind_2.json'), moved);
    await assert.rejects(store.get('connectors/o/p/bind_2'));
    assert.ok((await readdir(path.join(dir, 'kv/connectors/o/p'))).every((f) => !f.endsWith('.tmp')));
  });
});
