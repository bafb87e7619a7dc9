import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasServiceRole, isServiceName, principalFromClaims, SERVICE_ROLES } from './principal';

describe('principalFromClaims', () => {
  test('a user carrying a svc:* role is still a user and fails hasServiceRole', () => {
    const p = principalFromClaims({ sub: 'u1', email: 'a@x.test', realm_access: { roles: ['svc:gateway'] } }, 'agent-store');
    assert.equal(p.kind, 'user');
    assert.equal(hasServiceRole(p, SERVICE_ROLES.gateway), false);
  });

  test('service-account-* username → service even with an email claim', () => {
    const p = principalFromClaims({ sub: 's1', preferred_username: 'service-account-runner', email: 'x@y.test', azp: 'runner', realm_access: { roles: ['svc:runner'] } }, 'agent-store');
    assert.equal(p.kind, 'service');
    assert.equal(p.clientId, 'runner');
    assert.equal(hasServiceRole(p, SERVICE_ROLES.runner), true);
  });

  test('client_id wins over clientId and azp', () => {
    const p = principalFromClaims({ sub: 's', client_id: 'new', clientId: 'old', azp: 'azp' }, 'a');
    assert.equal(p.clientId, 'new');
  });

  test('garbage role claims are ignored, not trusted', () => {
    const p = principalFromClaims({ sub: 'u', realm_access: { roles: 'admin' }, resource_access: { a: { roles: [1, 'ok'] }, b: null }, scope: 42 }, 'a');
    assert.deepEqual(p.realmRoles, []);
    assert.deepEqual(p.clientRoles, { a: ['ok'] });
    assert.deepEqual([...p.roles], ['ok']);
    assert.deepEqual(p.scopes, []);
  });

  test('service names are exactly the five platform services', () => {
    assert.deepEqual(Object.values(SERVICE_ROLES).sort(), ['svc:argocd', 'svc:connector-gateway', 'svc:gateway', 'svc:provisioner', 'svc:runner', 'svc:scheduler']);
    assert.equal(isServiceName('gateway'), true);
    assert.equal(isServiceName('toString'), false);
  });
});
