/**
 * deploy/keycloak/realm.json against the platform: tokens shaped from the realm's own settings
 * (deploy/keycloak/realm-tokens.ts) pass the services' verifier, each service client's token
 * carries exactly the role the services check for it (the specs' `x-roles: service:<name>`),
 * user tokens carry the audience and the staff roles, and the client ids are the configuration's
 * defaults. Mutated copies show which setting each property depends on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { createTokenVerifier } from '../../src/identity/token-verifier';
import { createTestSigningKey, signTestToken } from '../../src/identity/testing';
import { loadConfig } from '../../src/platform/config';
import { projectPath } from '../../src/platform/paths';
import { accessTokenClaims, type Realm, type TokenUser } from './realm-tokens';

const realm = JSON.parse(readFileSync(projectPath('deploy', 'keycloak', 'realm.json'), 'utf8')) as Realm;
const BASE = 'https://keycloak.example.com';
const ISSUER = `${BASE}/realms/${realm.realm}`;
const config = loadConfig({ APP_ENV: 'test', OIDC_ISSUER: ISSUER });
const SERVICE_CLIENTS = {
  gateway: config.gateway.clientId,
  provisioner: config.provisioner.clientId,
  runner: config.runner.clientId,
  'connector-gateway': config.connectorGateway.clientId,
  scheduler: config.scheduler.clientId,
} as const;

/** operationIds per `service:<name>` in the specs' x-roles. */
function operationsFor(service: string): string[] {
  const ops: string[] = [];
  for (const spec of ['control-plane', 'gateway', 'connector-gateway', 'runner', 'provisioner']) {
    const doc = parse(readFileSync(projectPath('specs', `${spec}.openapi.yaml`), 'utf8')) as { paths: Record<string, Record<string, { operationId?: string; 'x-roles'?: string[] }>> };
    for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) if (op?.['x-roles']?.includes(`service:${service}`)) ops.push(op.operationId!);
  }
  return ops;
}

async function verify(r: Realm, clientId: string, user?: TokenUser) {
  const key = await createTestSigningKey('RS256');
  const verifier = createTokenVerifier({ issuer: ISSUER, audience: config.oidc.audience, jwks: { keys: [key.publicJwk] } });
  return verifier.verify(await signTestToken(key, accessTokenClaims(r, BASE, clientId, user)));
}
const copy = (): Realm => JSON.parse(JSON.stringify(realm));

test('the realm defines the API audience client, one confidential service-account client per calling service, and the staff roles', () => {
  const api = realm.clients.find((c) => c.clientId === config.oidc.audience);
  assert.ok(api?.bearerOnly, `the API client ${config.oidc.audience} (OIDC_AUDIENCE) exists and requests no tokens`);
  for (const clientId of Object.values(SERVICE_CLIENTS)) {
    const c = realm.clients.find((x) => x.clientId === clientId);
    assert.ok(c && c.serviceAccountsEnabled && !c.publicClient, `${clientId}: a confidential client with a service account`);
    assert.ok(!JSON.stringify(c).includes('"secret"'), `${clientId}: no secret in the export (Keycloak generates it; it goes to Vault)`);
  }
  assert.deepEqual(realm.roles.realm.map((r) => r.name).sort(), ['platform-operator', 'publisher-admin']);
  assert.deepEqual(realm.roles.client[config.oidc.audience]!.map((r) => r.name).sort(), Object.keys(SERVICE_CLIENTS).map((s) => `svc:${s}`).sort());
});

for (const [service, clientId] of Object.entries(SERVICE_CLIENTS)) {
  test(`${clientId}: its client-credentials token passes the verifier and carries svc:${service} only, which every operation it calls requires`, async () => {
    const p = await verify(realm, clientId);
    assert.equal(p.kind, 'service');
    assert.equal(p.clientId, clientId);
    assert.deepEqual([...p.roles].filter((r) => r.startsWith('svc:')), [`svc:${service}`]);
    const ops = operationsFor(service);
    assert.ok(ops.length > 0, `no operation names service:${service}`);
    assert.ok(p.roles.has(`svc:${service}`), ops.join(', '));
  });
}

test('a user token from the storefront carries the API audience; staff roles reach it, service roles never do', async () => {
  const user = { username: 'ops@example.com', email: 'ops@example.com', emailVerified: true, realmRoles: ['platform-operator'], clientRoles: { [config.oidc.audience]: ['svc:gateway'] } };
  const p = await verify(realm, 'storefront', user);
  assert.equal(p.kind, 'user');
  assert.equal(p.email, 'ops@example.com');
  assert.ok(p.roles.has('platform-operator'));
  assert.ok(!p.roles.has('svc:gateway'), 'the storefront client has no scope on service roles');
  const buyer = await verify(realm, 'storefront', { username: 'buyer@example.com', email: 'buyer@example.com', emailVerified: true });
  assert.deepEqual([...buyer.roles], []);
});

test('without an audience mapper (explicit, or resolved from its API roles) a service token is refused (wrong audience)', async () => {
  const r = copy();
  const gw = r.clients.find((c) => c.clientId === 'gateway')!;
  gw.protocolMappers = [];
  r.clientScopes.find((s) => s.name === 'roles')!.protocolMappers = r.clientScopes.find((s) => s.name === 'roles')!.protocolMappers!.filter((m) => m.protocolMapper !== 'oidc-audience-resolve-mapper');
  await assert.rejects(verify(r, 'gateway'), /wrong audience/);
});

test('without its client scope mapping a service token carries no service role (fullScopeAllowed is off)', async () => {
  const r = copy();
  r.clientScopeMappings![config.oidc.audience] = r.clientScopeMappings![config.oidc.audience]!.filter((m) => m.client !== 'runner');
  const p = await verify(r, 'runner');
  assert.ok(!p.roles.has('svc:runner'));
});
