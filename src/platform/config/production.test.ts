import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, type ServiceName } from './index';

/** A production configuration with every piece present (values are placeholders, not secrets). */
const complete: Record<string, string> = {
  APP_ENV: 'production',
  DATABASE_URL: 'postgres://agentstore@db:5432/agentstore',
  OIDC_ISSUER: 'https://keycloak.example.com/realms/agentstore',
  VAULT_ADDR: 'https://vault.example.com:8200',
  VAULT_ROLE_ID: 'role',
  VAULT_SECRET_ID: 'secret-id',
  S3_BUCKET: 'agentstore',
  S3_ACCESS_KEY_ID: 'access',
  S3_SECRET_ACCESS_KEY: 'secret',
  GITOPS_REMOTE_URL: 'https://git.example.com/agentstore/gitops.git',
  ARGOCD_WEBHOOK_TOKEN: 'x'.repeat(32),
  WIDGET_SESSION_SECRET: 'w'.repeat(32),
  GATEWAY_CLIENT_SECRET: 'g',
  CONNECTOR_GATEWAY_CLIENT_SECRET: 'c',
  RUNNER_CLIENT_SECRET: 'r',
  PROVISIONER_CLIENT_SECRET: 'p',
  SCHEDULER_CLIENT_SECRET: 's',
  SALEOR_API_URLS: 'https://shop.example.com/graphql/',
  LLM_BASE_URL: 'https://api.openai.com/v1',
  LLM_MODELS: 'gpt-4o-mini',
  LLM_API_KEY_SECRET: 'platform/llm/openai',
};

function missing(env: Record<string, string>, services?: ServiceName[]): string[] {
  try {
    loadConfig(env, { services });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => p.trim().split(':')[0]);
  }
  return [];
}

test('a complete production configuration starts', () => {
  const c = loadConfig(complete);
  assert.equal(c.env, 'production');
  assert.equal(c.vault.store, 'vault');
  assert.equal(c.gitops.reconciler, 'argocd');
});

test('APP_ENV=production with nothing else lists every missing piece by name, at once', () => {
  assert.deepEqual(missing({ APP_ENV: 'production' }).sort(), [
    'ARGOCD_WEBHOOK_TOKEN', 'CONNECTOR_GATEWAY_CLIENT_SECRET', 'DATABASE_URL', 'GATEWAY_CLIENT_SECRET', 'GITOPS_REMOTE_URL', 'LLM_BASE_URL', 'OIDC_ISSUER', 'PROVISIONER_CLIENT_SECRET', 'RUNNER_CLIENT_SECRET', 'S3_BUCKET', 'SALEOR_API_URLS',
    'SCHEDULER_CLIENT_SECRET', 'VAULT_ADDR', 'WIDGET_SESSION_SECRET',
  ]);
});

test('NODE_ENV=production without APP_ENV counts as production', () => {
  assert.ok(missing({ NODE_ENV: 'production' }).includes('VAULT_ADDR'));
  const { APP_ENV: _, ...rest } = complete;
  assert.equal(loadConfig({ ...rest, NODE_ENV: 'production' }).env, 'production');
  assert.equal(loadConfig({ NODE_ENV: 'production', APP_ENV: 'development' }).env, 'development', 'an explicit APP_ENV wins');
});

test('each piece is required on its own: removing one names exactly that variable', () => {
  for (const name of ['DATABASE_URL', 'OIDC_ISSUER', 'S3_BUCKET', 'GITOPS_REMOTE_URL', 'ARGOCD_WEBHOOK_TOKEN', 'WIDGET_SESSION_SECRET']) {
    const { [name]: _, ...rest } = complete;
    assert.deepEqual(missing(rest), [name], name);
  }
  const { VAULT_ADDR: _a, VAULT_ROLE_ID: _b, VAULT_SECRET_ID: _c, ...noVault } = complete;
  assert.deepEqual(missing(noVault), ['VAULT_ADDR']);
});

test('the local secret store is accepted in production only when chosen on purpose', () => {
  const { VAULT_ADDR: _a, VAULT_ROLE_ID: _b, VAULT_SECRET_ID: _c, ...noVault } = complete;
  assert.equal(loadConfig({ ...noVault, SECRET_STORE: 'local' }).vault.store, 'local');
});

test('the built-in reconciler is refused in production even with a remote', () => {
  assert.deepEqual(missing({ ...complete, GITOPS_RECONCILER: 'builtin' }), ['GITOPS_RECONCILER']);
});

test('more than one gateway replica needs Redis; one does not', () => {
  assert.deepEqual(missing({ ...complete, GATEWAY_REPLICAS: '3' }), ['REDIS_URL']);
  assert.deepEqual(missing({ ...complete, GATEWAY_REPLICAS: '3', REDIS_URL: 'redis://redis:6379' }), []);
  assert.deepEqual(missing({ ...complete, GATEWAY_REPLICAS: '1' }), []);
});

test('a Deployment running one service is checked for what that service uses', () => {
  const bare = { APP_ENV: 'production', OIDC_ISSUER: complete.OIDC_ISSUER };
  assert.deepEqual(missing(bare, ['runner']).sort(), ['LLM_BASE_URL', 'RUNNER_CLIENT_SECRET']);
  assert.deepEqual(missing(bare, ['gateway']).sort(), ['GATEWAY_CLIENT_SECRET', 'WIDGET_SESSION_SECRET']);
  assert.deepEqual(missing(bare, ['connector-gateway']).sort(), ['CONNECTOR_GATEWAY_CLIENT_SECRET', 'VAULT_ADDR']);
  assert.deepEqual(missing(bare, ['provisioner']).sort(), ['DATABASE_URL', 'PROVISIONER_CLIENT_SECRET', 'SALEOR_API_URLS']);
  assert.deepEqual(missing({ ...bare, DATABASE_URL: complete.DATABASE_URL, S3_BUCKET: 'agentstore', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 's', VAULT_ADDR: complete.VAULT_ADDR, VAULT_TOKEN: 't', GITOPS_REMOTE_URL: complete.GITOPS_REMOTE_URL, ARGOCD_WEBHOOK_TOKEN: 'x'.repeat(32) }, ['control-plane']).filter((n) => n === 'SCHEDULER_CLIENT_SECRET'), ['SCHEDULER_CLIENT_SECRET'], 'the control plane\'s scheduler needs its client');
  assert.deepEqual(missing({ ...bare, SCHEDULER_ENABLED: 'false' }, ['control-plane']).filter((n) => n === 'SCHEDULER_CLIENT_SECRET'), [], 'not with the scheduler off');
  assert.deepEqual(missing({ ...bare, GATEWAY_REPLICAS: '2', GATEWAY_CLIENT_SECRET: 'g', WIDGET_SESSION_SECRET: 'w'.repeat(32) }, ['gateway']), ['REDIS_URL']);
});

test('org webhooks to private addresses are refused in production, for the control plane', () => {
  assert.deepEqual(missing({ ...complete, NOTIFY_ALLOW_PRIVATE_TARGETS: '1' }), ['NOTIFY_ALLOW_PRIVATE_TARGETS']);
  assert.deepEqual(missing({ ...complete, NOTIFY_ALLOW_PRIVATE_TARGETS: '1' }, ['gateway']), [], 'a gateway delivers no org webhooks');
  assert.deepEqual(missing({ ...complete, NOTIFY_ALLOW_PRIVATE_TARGETS: '0' }), []);
});

test('a malformed variable is reported once, not also as missing', () => {
  const problems = missing({ ...complete, S3_BUCKET: 'Bad_Bucket', DATABASE_URL: 'mysql://x' });
  assert.deepEqual(problems.sort(), ['DATABASE_URL', 'S3_BUCKET']);
});
