import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config';

test('defaults give a working development configuration', () => {
  const c = loadConfig({});
  assert.equal(c.env, 'development');
  assert.equal(c.ports.controlPlane, 8080);
  assert.equal(c.urls.gateway, 'http://127.0.0.1:8081');
  assert.equal(c.databaseUrl, undefined);
});

test('every problem is reported at once, by variable name', () => {
  assert.throws(() => loadConfig({ CP_PORT: 'eighty', APP_ENV: 'staging', DATABASE_URL: 'mysql://x' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 3);
    assert.match(err.message, /CP_PORT: must be an integer/);
    assert.match(err.message, /APP_ENV: must be development, test or production/);
    assert.match(err.message, /DATABASE_URL: must be a postgres: or postgresql: URL/);
    return true;
  });
});

test('production requires a real database and a real issuer', () => {
  assert.throws(() => loadConfig({ APP_ENV: 'production' }), /DATABASE_URL: is required in production[\s\S]*OIDC_ISSUER: is required/);
});

test('credentials inside a URL are never echoed in an error', () => {
  assert.throws(() => loadConfig({ DATABASE_URL: 'http://admin:hunter2@db:5432/x' }), (err: unknown) => {
    assert.doesNotMatch(String(err), /hunter2/);
    return true;
  });
});
