/** Orgs, projects, members, teams and API keys through the control plane's HTTP API. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
let alice: string;
let bob: string;
before(async () => {
  stack = await startTestStack(['control-plane']);
  cp = stack.url('control-plane');
  alice = await stack.userToken('alice@example.com');
  bob = await stack.userToken('bob@example.com');
});
after(async () => stack?.close());

test('POST /orgs/auto creates a personal org, default project and a wallet with granted starter credits, once', async () => {
  const first = await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} });
  assert.equal(first.status, 201, JSON.stringify(first.body));
  const { org, project, wallet } = first.body;
  assert.equal(org.personal, true);
  assert.equal(org.myRole, 'owner');
  assert.equal(project.orgId, org.id);
  assert.equal(project.isDefault, true);
  assert.equal(wallet.orgId, org.id);
  assert.ok(wallet.balance > 0);
  assert.equal(wallet.grantedBalance, wallet.balance, 'starter credits are granted, not paid');
  assert.equal(wallet.paidBalance, 0);

  const again = await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} });
  assert.equal(again.status, 200);
  assert.equal(again.body.created, false);
  assert.equal(again.body.org.id, org.id);
  assert.equal(again.body.wallet.balance, wallet.balance, 'no second grant');
});

test('concurrent POST /orgs/auto for a new user creates one workspace', async () => {
  const carol = await stack.userToken('carol@example.com');
  const answers = await Promise.all(Array.from({ length: 6 }, () => http('POST', `${cp}/orgs/auto`, { token: carol, body: {} })));
  assert.ok(answers.every((a) => a.status === 200 || a.status === 201), JSON.stringify(answers.map((a) => a.body)));
  assert.equal(new Set(answers.map((a) => a.body.org.id)).size, 1);
  assert.equal(answers.filter((a) => a.status === 201).length, 1);
});

test('an Idempotency-Key on /orgs/auto replays the first answer', async () => {
  const dave = await stack.userToken('dave@example.com');
  const headers = { 'idempotency-key': 'orgs-auto-dave-0001' };
  const a = await http('POST', `${cp}/orgs/auto`, { token: dave, body: { name: 'Dave Co' }, headers });
  const b = await http('POST', `${cp}/orgs/auto`, { token: dave, body: { name: 'Dave Co' }, headers });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(b.body, a.body);
  const c = await http('POST', `${cp}/orgs/auto`, { token: dave, body: { name: 'Other' }, headers });
  assert.equal(c.status, 409);
  assert.equal(c.body.error.code, 'IDEMPOTENCY_PAYLOAD_MISMATCH');
});

test('orgs and projects: mine are listed and readable, another tenant\'s answer 404', async () => {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  const list = await http('GET', `${cp}/orgs`, { token: alice });
  assert.ok(list.body.items.some((o: any) => o.id === ws.org.id));
  assert.equal((await http('GET', `${cp}/orgs/${ws.org.id}`, { token: alice })).status, 200);
  const p = await http('POST', `${cp}/orgs/${ws.org.id}/projects`, { token: alice, body: { name: 'Research', description: 'R&D' } });
  assert.equal(p.status, 201);
  assert.equal((await http('GET', `${cp}/projects/${p.body.id}`, { token: alice })).body.name, 'Research');
  assert.equal((await http('GET', `${cp}/orgs/${ws.org.id}/projects`, { token: alice })).body.items.length, 2);

  for (const path of [`/orgs/${ws.org.id}`, `/projects/${p.body.id}`, `/orgs/${ws.org.id}/projects`, `/orgs/${ws.org.id}/members`]) {
    const res = await http('GET', `${cp}${path}`, { token: bob });
    assert.equal(res.status, 404, `${path} → ${res.status}`);
    assert.equal(res.body.error.code, 'NOT_FOUND');
  }
  const write = await http('POST', `${cp}/orgs/${ws.org.id}/projects`, { token: bob, body: { name: 'sneaky' } });
  assert.equal(write.status, 404);
});

test('members: add, change role, the last owner can neither leave nor be demoted', async () => {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  await http('POST', `${cp}/orgs/auto`, { token: bob, body: {} }); // bob has signed in
  const add = await http('POST', `${cp}/orgs/${ws.org.id}/members`, { token: alice, body: { email: 'bob@example.com', role: 'viewer' } });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  const bobId = add.body.userId;
  assert.equal((await http('GET', `${cp}/orgs/${ws.org.id}`, { token: bob })).body.myRole, 'viewer');
  const denied = await http('POST', `${cp}/orgs/${ws.org.id}/projects`, { token: bob, body: { name: 'x' } });
  assert.equal(denied.status, 403, 'a viewer is a member: 403, not 404');

  const promote = await http('PATCH', `${cp}/orgs/${ws.org.id}/members/${encodeURIComponent(bobId)}`, { token: alice, body: { role: 'admin' } });
  assert.equal(promote.status, 200);
  assert.equal(promote.body.role, 'admin');

  const ownerId = ws.org.ownerUserId;
  const demote = await http('PATCH', `${cp}/orgs/${ws.org.id}/members/${encodeURIComponent(ownerId)}`, { token: alice, body: { role: 'member' } });
  assert.equal(demote.status, 409);
  const leave = await http('DELETE', `${cp}/orgs/${ws.org.id}/members/${encodeURIComponent(ownerId)}`, { token: alice });
  assert.equal(leave.status, 409);

  const remove = await http('DELETE', `${cp}/orgs/${ws.org.id}/members/${encodeURIComponent(bobId)}`, { token: alice });
  assert.equal(remove.status, 204);
  assert.equal((await http('GET', `${cp}/orgs/${ws.org.id}`, { token: bob })).status, 404);
});

test('teams: created with projects and members, listed', async () => {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  const t = await http('POST', `${cp}/orgs/${ws.org.id}/teams`, { token: alice, body: { name: 'Support', projectIds: [ws.project.id], memberUserIds: [ws.org.ownerUserId] } });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  const list = await http('GET', `${cp}/orgs/${ws.org.id}/teams`, { token: alice });
  assert.ok(list.body.items.some((x: any) => x.id === t.body.id && x.projectIds[0] === ws.project.id));
});

test('API keys: the secret is shown once, listed without it, revoked idempotently', async () => {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  const created = await http('POST', `${cp}/projects/${ws.project.id}/api-keys`, { token: alice, body: { name: 'ci' } });
  assert.equal(created.status, 201);
  assert.match(created.body.secret, /^ask_/);
  const list = await http('GET', `${cp}/projects/${ws.project.id}/api-keys`, { token: alice });
  assert.equal(list.status, 200);
  assert.ok(!JSON.stringify(list.body).includes(created.body.secret), 'the secret never appears again');
  const keyId = created.body.apiKey.id;
  const revoked = await http('POST', `${cp}/projects/${ws.project.id}/api-keys/${keyId}/revoke`, { token: alice });
  assert.equal(revoked.body.status, 'revoked');
  assert.equal((await http('POST', `${cp}/projects/${ws.project.id}/api-keys/${keyId}/revoke`, { token: alice })).body.status, 'revoked');
  const other = await http('GET', `${cp}/projects/${ws.project.id}/api-keys`, { token: bob });
  assert.equal(other.status, 404);
});

test('names with control characters (a NUL byte included) answer 400 VALIDATION_FAILED, never 500; nothing is stored', async () => {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  for (const name of ['bad\u0000name', 'line\nbreak', 'bell\u0007', 'del\u007f']) {
    for (const [path, body] of [
      [`/orgs/${ws.org.id}/projects`, { name }],
      [`/orgs/${ws.org.id}/teams`, { name }],
      [`/projects/${ws.project.id}/api-keys`, { name }],
    ] as const) {
      const r = await http('POST', `${cp}${path}`, { token: alice, body });
      assert.equal(r.status, 400, `${path} ${JSON.stringify(name)} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'VALIDATION_FAILED');
    }
  }
  assert.equal((await http('GET', `${cp}/orgs/${ws.org.id}/projects`, { token: alice })).body.items.length >= 1, true);
  const fresh = await stack.userToken('nul-workspace@example.com');
  const auto = await http('POST', `${cp}/orgs/auto`, { token: fresh, body: { name: 'Acme\u0000Corp' } });
  assert.equal(auto.status, 400, JSON.stringify(auto.body));
});

test('add-by-email reaches only a verified, signed-in account; otherwise it is an invitation claimed at the first verified sign-in', async () => {
  const ws = (await http('POST', `${cp}/orgs/auto`, { token: alice, body: {} })).body;
  // An admin elsewhere plants a subject with this address: it must not capture the invitation.
  const mallory = await stack.userToken('mallory-planter@example.com');
  const theirs = (await http('POST', `${cp}/orgs/auto`, { token: mallory, body: {} })).body;
  const planted = await http('POST', `${cp}/orgs/${theirs.org.id}/members`, { token: mallory, body: { email: 'ivy@example.com', userId: 'mallory-sock-puppet', role: 'member' } });
  assert.equal(planted.status, 201, JSON.stringify(planted.body));

  const invited = await http('POST', `${cp}/orgs/${ws.org.id}/members`, { token: alice, body: { email: 'ivy@example.com', role: 'admin' } });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  assert.equal(invited.body.pending, true);
  assert.notEqual(invited.body.userId, 'mallory-sock-puppet');

  const ivy = await stack.userToken('ivy@example.com');
  const orgs = await http('GET', `${cp}/orgs`, { token: ivy });
  assert.equal(orgs.body.items.find((o: any) => o.id === ws.org.id)?.myRole, 'admin', 'the verified sign-in claimed the invitation');
  const members = await http('GET', `${cp}/orgs/${ws.org.id}/members`, { token: alice });
  assert.deepEqual(members.body.items.filter((m: any) => m.email === 'ivy@example.com').map((m: any) => [m.userId, m.pending]), [['user-ivy@example.com', false]]);
});
