import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/support/db';
import { hashApiKey } from '../identity/api-keys';
import type { Principal } from '../identity/principal';
import { AppError } from '../platform/errors';
import { createOrgAuto, type Workspace } from './orgs';
import { createApiKey, listApiKeys, revokeApiKey, verifyApiKey } from './project-api-keys';
import { userPrincipal } from './testing';
import { decide } from '../platform/policy/engine';

/** What policy/ decides for a member of the org with `role` (the service asks it before the domain runs). */
const policyAllows = (role: string, operationId: string, kind: 'org' | 'project' = 'org') =>
  decide({ kind: 'user', subject: 'u', roles: new Set(), scheme: 'bearerAuth' }, operationId, { kind, id: 'x', orgId: 'org_x', projectId: kind === 'project' ? 'prj_x' : undefined, role }).allow;

let t: TestDb;
let owner: Principal;
let ws: Workspace;
before(async () => {
  t = await openTestDb();
  owner = userPrincipal('Owner');
  ws = await createOrgAuto(t.db, owner);
});
after(() => t.close());

const isCode = (code: string, message?: RegExp) => (e: unknown) => e instanceof AppError && e.code === code && (!message || message.test(e.message));

describe('project API keys', () => {
  test('create returns the secret once; only its sha256 and prefix are stored', async () => {
    const { apiKey, secret } = await createApiKey(t.db, owner, { projectId: ws.project.id, name: 'CI' });
    assert.match(secret, /^ask_[0-9A-Z]{26}_[0-9A-Za-z]{32}$/);
    assert.equal(apiKey.status, 'active');
    assert.ok(secret.startsWith(apiKey.prefix));
    assert.deepEqual(apiKey.instanceIds, []);
    const row = await t.db('api_keys').where({ id: apiKey.id }).first();
    assert.equal(row.hash, hashApiKey(secret));
    assert.equal(row.org_id, ws.org.id);
    assert.ok(!JSON.stringify(row).includes(secret.slice(-32)), 'the secret part is nowhere in the row');
    const list = await listApiKeys(t.db, owner, ws.project.id);
    assert.ok(list.items.some((k) => k.id === apiKey.id));
    assert.ok(!JSON.stringify(list).includes(secret.slice(-32)));
    assert.ok(!('hash' in list.items[0]!));
  });

  test('verifyApiKey → org, project, key id and instance restriction; records last use', async () => {
    await assert.rejects(
      createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Runner', instanceIds: ['inst_ABCDEFGH1234'] }),
      isCode('NOT_FOUND'),
      'an instance outside the project cannot be named',
    );
    await t.db('instances').insert({
      id: 'inst_ABCDEFGH1234', org_id: ws.org.id, project_id: ws.project.id, offering_id: 'off_X', version_id: 'ov_X', plan_id: 'starter',
      wallet_id: ws.wallet.id, name: 'x', state: 'active', source: 'api',
    });
    const { apiKey, secret } = await createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Runner', instanceIds: ['inst_ABCDEFGH1234'] });
    const v = await verifyApiKey(t.db, secret);
    assert.deepEqual(v, { keyId: apiKey.id, orgId: ws.org.id, projectId: ws.project.id, instanceIds: ['inst_ABCDEFGH1234'] });
    const row = await t.db('api_keys').where({ id: apiKey.id }).first();
    assert.ok(row.last_used_at instanceof Date);
  });

  test('tampered, unknown and malformed keys → the same 401 Invalid API key', async () => {
    const { secret } = await createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Tamper' });
    const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    for (const bad of [flipped, 'ask_01JB2Q8R5X7N3K4M6P9T2V0W1Y_' + 'a'.repeat(32), 'not-a-key', '']) {
      await assert.rejects(verifyApiKey(t.db, bad), isCode('UNAUTHENTICATED', /^Invalid API key$/));
    }
  });

  test('revoked key → 401 revoked; revoking again returns the same revoked key', async () => {
    const { apiKey, secret } = await createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Revoke me' });
    const r1 = await revokeApiKey(t.db, owner, { projectId: ws.project.id, keyId: apiKey.id });
    assert.equal(r1.status, 'revoked');
    const r2 = await revokeApiKey(t.db, owner, { projectId: ws.project.id, keyId: apiKey.id });
    assert.deepEqual(r2.revokedAt, r1.revokedAt);
    await assert.rejects(verifyApiKey(t.db, secret), isCode('UNAUTHENTICATED', /revoked/));
    assert.ok((await listApiKeys(t.db, owner, ws.project.id, { status: 'revoked' })).items.some((k) => k.id === apiKey.id));
    assert.ok(!(await listApiKeys(t.db, owner, ws.project.id, { status: 'active' })).items.some((k) => k.id === apiKey.id));
  });

  test('expired key → 401 expired; expiry in the past at creation → UNPROCESSABLE', async () => {
    const now = new Date();
    const { secret } = await createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Short', expiresAt: new Date(now.getTime() + 1000) });
    await assert.rejects(verifyApiKey(t.db, secret, { now: new Date(now.getTime() + 2000) }), isCode('UNAUTHENTICATED', /expired/));
    await assert.rejects(createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Past', expiresAt: new Date(now.getTime() - 1000) }), isCode('UNPROCESSABLE'));
  });

  test("another tenant: create/list/revoke on someone else's project → NOT_FOUND", async () => {
    const mallory = userPrincipal('Mallory');
    await createOrgAuto(t.db, mallory);
    const { apiKey } = await createApiKey(t.db, owner, { projectId: ws.project.id, name: 'Target' });
    await assert.rejects(createApiKey(t.db, mallory, { projectId: ws.project.id, name: 'x' }), isCode('NOT_FOUND'));
    await assert.rejects(listApiKeys(t.db, mallory, ws.project.id), isCode('NOT_FOUND'));
    await assert.rejects(revokeApiKey(t.db, mallory, { projectId: ws.project.id, keyId: apiKey.id }), isCode('NOT_FOUND'));
  });

  test("a key id from another project of the caller's → NOT_FOUND (key and project must match)", async () => {
    const other = userPrincipal('Other');
    const wsOther = await createOrgAuto(t.db, other);
    const { apiKey } = await createApiKey(t.db, other, { projectId: wsOther.project.id, name: 'Theirs' });
    await assert.rejects(revokeApiKey(t.db, owner, { projectId: ws.project.id, keyId: apiKey.id }), isCode('NOT_FOUND'));
    assert.equal((await t.db('api_keys').where({ id: apiKey.id }).first()).revoked_at, null);
  });

  test('a member (not admin) may not create, list or revoke keys (policy/)', () => {
    for (const op of ['createApiKey', 'listApiKeys', 'revokeApiKey']) {
      assert.equal(policyAllows('member', op, 'project'), false, op);
      assert.equal(policyAllows('admin', op, 'project'), true, op);
    }
  });

  test('bad instance ids → VALIDATION_FAILED', async () => {
    await assert.rejects(createApiKey(t.db, owner, { projectId: ws.project.id, name: 'x', instanceIds: ['wal_123'] }), isCode('VALIDATION_FAILED'));
  });
});
