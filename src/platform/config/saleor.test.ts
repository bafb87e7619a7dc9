import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './index';
import { DEV_SALEOR_API_URL } from './index';

test('provisioner defaults: port 8084, the demo Saleor allowed in development only', () => {
  const dev = loadConfig({});
  assert.equal(dev.ports.provisioner, 8084);
  assert.equal(dev.urls.provisioner, 'http://127.0.0.1:8084');
  assert.deepEqual(dev.saleor.apiUrls, [DEV_SALEOR_API_URL]);
  assert.deepEqual(loadConfig({ APP_ENV: 'test' }).saleor.apiUrls, []);
  assert.equal(dev.provisioner.clientId, 'provisioner');
});

test('SALEOR_API_URLS and SALEOR_WEBHOOK_SECRETS in both forms (pairs, JSON), keyed by Saleor origin', () => {
  const c = loadConfig({
    APP_ENV: 'test',
    SALEOR_API_URLS: 'https://shop.example.com/graphql/, https://other.example:8443/graphql/',
    SALEOR_WEBHOOK_SECRETS: 'https://shop.example.com/graphql/=abc=def=123',
  });
  assert.deepEqual(c.saleor.apiUrls, ['https://shop.example.com/graphql/', 'https://other.example:8443/graphql/']);
  assert.deepEqual(c.saleor.webhookSecrets, { 'https://shop.example.com': 'abc=def=123' });
  const j = loadConfig({
    APP_ENV: 'test',
    SALEOR_API_URLS: 'https://shop.example.com/graphql/',
    SALEOR_WEBHOOK_SECRETS: JSON.stringify({ 'https://shop.example.com/graphql/': 'with,a,comma' }),
  });
  assert.deepEqual(j.saleor.webhookSecrets, { 'https://shop.example.com': 'with,a,comma' });
});

test('bad Saleor settings are listed by variable name, never echoing a secret', () => {
  assert.throws(
    () => loadConfig({
      APP_ENV: 'test',
      SALEOR_API_URLS: 'https://shop.example.com/api/,ftp://x/graphql/',
      SALEOR_WEBHOOK_SECRETS: 'https://unknown.example/graphql/=supersecretvalue',
      SALEOR_JWKS_TTL_SECONDS: '0',
    }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.filter((p) => p.trim().startsWith('SALEOR_API_URLS:')).length, 2);
      assert.match(err.message, /SALEOR_WEBHOOK_SECRETS: names a Saleor instance that is not in SALEOR_API_URLS/);
      assert.match(err.message, /SALEOR_JWKS_TTL_SECONDS/);
      assert.doesNotMatch(err.message, /supersecretvalue/);
      return true;
    },
  );
});
