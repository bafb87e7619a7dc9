/**
 * Connector bindings over HTTP (T6, control-plane half): the credential lands in the secret store,
 * the API answers only its reference; revoke deletes it; another tenant's binding is 404.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buyer, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const SECRET = 'sk_live_T6_never_shown_4242';

describe('connector bindings', () => {
  let stack: TestStack;
  let cp: string;
  let ann: Buyer;
  before(async () => {
    stack = await startTestStack(['control-plane'], { SEED_DEMO: '1' });
    cp = stack.url('control-plane');
    ann = await buyer(stack, 'ann-bindings@example.com');
  });
  after(async () => stack?.close());

  test('listConnectors is public and lists generic_http, a helpdesk and a CRM with their credential fields', async () => {
    const r = await http('GET', `${cp}/connectors`);
    assert.equal(r.status, 200);
    const ids = r.body.items.map((c: any) => c.id);
    for (const id of ['generic_http', 'zendesk', 'hubspot']) assert.ok(ids.includes(id), id);
    assert.ok(!JSON.stringify(r.body).includes('injection'));
  });

  test('T6: create stores the secret in the store; every answer carries only the reference; revoke deletes it', async () => {
    const created = await http('POST', `${cp}/connectors/bindings`, {
      token: ann.token,
      headers: { 'idempotency-key': 'bind-ann-1' },
      body: { connectorId: 'generic_http', projectId: ann.projectId, name: 'ACME orders', credential: { token: SECRET }, settings: { baseUrl: 'https://api.acme.example' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const b = created.body;
    assert.equal(b.vaultPath, `kv/data/connectors/${ann.orgId}/${ann.projectId}/${b.id}`);
    assert.equal(b.status, 'active');
    assert.equal(b.secretVersion, 1);
    // the credential is in the store (read through the store's own interface)
    const { LocalEncryptedSecretStore } = await import('../../src/secrets');
    const store = new LocalEncryptedSecretStore(path.join(stack.config.dataDir, 'secrets'));
    assert.deepEqual((await store.get(`connectors/${ann.orgId}/${ann.projectId}/${b.id}`)).data, { token: SECRET });
    // and nowhere in plain text on disk or in the database row
    const onDisk = await readFile(path.join(stack.config.dataDir, 'secrets/kv/connectors', ann.orgId, ann.projectId, `${b.id}.json`), 'utf8');
    assert.ok(!onDisk.includes(SECRET));
    const row = await stack.db!('connector_bindings').where({ id: b.id }).first();
    assert.ok(!JSON.stringify(row).includes(SECRET));

    const replay = await http('POST', `${cp}/connectors/bindings`, {
      token: ann.token,
      headers: { 'idempotency-key': 'bind-ann-1' },
      body: { connectorId: 'generic_http', projectId: ann.projectId, name: 'ACME orders', credential: { token: SECRET }, settings: { baseUrl: 'https://api.acme.example' } },
    });
    assert.equal(replay.body.id, b.id);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');

    const got = await http('GET', `${cp}/connectors/bindings/${b.id}`, { token: ann.token });
    const list = await http('GET', `${cp}/connectors/bindings?projectId=${ann.projectId}`, { token: ann.token });
    assert.equal(got.status, 200);
    assert.equal(list.body.items.length, 1);
    for (const r of [created, replay, got, list]) assert.ok(!JSON.stringify(r.body).includes(SECRET), 'no answer carries the secret');

    const revoked = await http('POST', `${cp}/connectors/bindings/${b.id}/revoke`, { token: ann.token, body: { reason: 'leaked' } });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.status, 'revoked');
    assert.ok(revoked.body.revokedAt);
    await assert.rejects(store.get(`connectors/${ann.orgId}/${ann.projectId}/${b.id}`), /No secret/);
    const again = await http('POST', `${cp}/connectors/bindings/${b.id}/revoke`, { token: ann.token });
    assert.equal(again.status, 200);
    assert.equal(again.body.revokedAt, revoked.body.revokedAt, 'revoking twice changes nothing');
    const active = await http('GET', `${cp}/connectors/bindings?projectId=${ann.projectId}&status=active`, { token: ann.token });
    assert.equal(active.body.items.length, 0);
  });

  test('a credential that does not match the connector type is 422 and nothing is stored', async () => {
    const before = await readdir(path.join(stack.config.dataDir, 'secrets/kv/connectors', ann.orgId, ann.projectId)).catch(() => []);
    const r = await http('POST', `${cp}/connectors/bindings`, {
      token: ann.token,
      body: { connectorId: 'zendesk', projectId: ann.projectId, name: 'Desk', credential: { apiToken: SECRET }, settings: { subdomain: 'acme' } },
    });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'UNPROCESSABLE');
    assert.ok(!JSON.stringify(r.body).includes(SECRET));
    const unknown = await http('POST', `${cp}/connectors/bindings`, { token: ann.token, body: { connectorId: 'nope_nope', projectId: ann.projectId, name: 'x', credential: { a: 'b' } } });
    assert.equal(unknown.status, 422);
    const afterFiles = await readdir(path.join(stack.config.dataDir, 'secrets/kv/connectors', ann.orgId, ann.projectId)).catch(() => []);
    assert.deepEqual(afterFiles, before);
  });

  test("another tenant's binding id is 404 on get and revoke, and cannot be created in its project", async () => {
    const mine = await http('POST', `${cp}/connectors/bindings`, { token: ann.token, body: { connectorId: 'hubspot', projectId: ann.projectId, name: 'CRM', credential: { privateAppToken: SECRET } } });
    assert.equal(mine.status, 201);
    const eve = await buyer(stack, 'eve-bindings@example.com');
    assert.equal((await http('GET', `${cp}/connectors/bindings/${mine.body.id}`, { token: eve.token })).status, 404);
    assert.equal((await http('POST', `${cp}/connectors/bindings/${mine.body.id}/revoke`, { token: eve.token })).status, 404);
    assert.equal((await http('GET', `${cp}/connectors/bindings?projectId=${ann.projectId}`, { token: eve.token })).status, 404);
    const intoAnn = await http('POST', `${cp}/connectors/bindings`, { token: eve.token, body: { connectorId: 'hubspot', projectId: ann.projectId, name: 'x', credential: { privateAppToken: 'y' } } });
    assert.equal(intoAnn.status, 404);
    // the connector gateway (a platform service) may read the reference
    const svc = await http('GET', `${cp}/connectors/bindings/${mine.body.id}`, { token: await stack.serviceToken('connector-gateway') });
    assert.equal(svc.status, 200);
  });
});
