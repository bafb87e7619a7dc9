import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigProblems, EnvReader } from './define';
import { ConfigError, loadConfig, SECTIONS } from './index';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => p.trim());
  }
  assert.fail('the configuration was accepted');
};
const names = (problems: string[]) => problems.map((p) => p.split(':')[0]);

test('defaults give a working development configuration', () => {
  const c = loadConfig({});
  assert.equal(c.env, 'development');
  assert.equal(c.ports.controlPlane, 8080);
  assert.equal(c.urls.gateway, 'http://127.0.0.1:8081');
  assert.equal(c.databaseUrl, undefined);
  assert.deepEqual(c.storage, { kind: 'local', root: '.data/objects' });
  assert.equal(c.gitops.reconciler, 'builtin');
  assert.equal(c.gitops.dir, '.data/gitops');
  assert.equal(c.vault.store, 'local');
  assert.equal(c.vault.mount, 'kv');
  assert.equal(c.rag.maxUploadBytes, 25 * 1024 * 1024);
  assert.equal(c.gateway.replicas, 1);
});

test('every problem of every section is reported at once, by variable name', () => {
  const problems = problemsOf({
    CP_PORT: 'eighty',
    APP_ENV: 'staging',
    DATABASE_URL: 'mysql://x',
    GITOPS_AUTH_SCHEME: 'digest',
    GITOPS_REMOTE_URL: 'not a url',
    S3_BUCKET: 'Bad_Bucket',
    RAGFLOW_URL: 'http://ragflow:9380',
    RAG_MAX_UPLOAD_BYTES: 'lots',
    VAULT_KV_MOUNT: 'kv/../sys',
    SALEOR_JWKS_TTL_SECONDS: '0',
    GATEWAY_REPLICAS: '0',
  });
  assert.deepEqual(names(problems).sort(), [
    'APP_ENV', 'CP_PORT', 'DATABASE_URL', 'GATEWAY_REPLICAS', 'GITOPS_AUTH_SCHEME', 'GITOPS_REMOTE_URL',
    'RAGFLOW_API_KEY', 'RAG_MAX_UPLOAD_BYTES', 'S3_ACCESS_KEY_ID', 'S3_BUCKET', 'S3_SECRET_ACCESS_KEY',
    'SALEOR_JWKS_TTL_SECONDS', 'VAULT_KV_MOUNT',
  ]);
  assert.ok(problems.includes('CP_PORT: must be an integer from 0 to 65535 (got "eighty")'));
  assert.ok(problems.includes('APP_ENV: must be development, test or production (got "staging")'));
  assert.ok(problems.includes('DATABASE_URL: must be a postgres: or postgresql: URL'), 'a secret variable never echoes its value');
});

test('a bad RAG_MAX_UPLOAD_BYTES is refused instead of silently falling back', () => {
  for (const bad of ['lots', '-1', '0', '1.5', String(100 * 1024 * 1024 + 1), '1e6']) {
    assert.deepEqual(names(problemsOf({ APP_ENV: 'test', RAG_MAX_UPLOAD_BYTES: bad })), ['RAG_MAX_UPLOAD_BYTES'], bad);
  }
  assert.equal(loadConfig({ APP_ENV: 'test', RAG_MAX_UPLOAD_BYTES: '1048576' }).rag.maxUploadBytes, 1048576);
});

test('sections read their settings into one tree (gitops, storage, rag, vault, runner)', () => {
  const c = loadConfig({
    APP_ENV: 'test',
    DATA_DIR: '/srv/as',
    GITOPS_REMOTE_URL: 'https://git.example.com/gitops.git',
    GITOPS_TOKEN: 'tok-123456',
    S3_BUCKET: 'agentstore',
    S3_ENDPOINT: 'http://minio:9000',
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'example-secret',
    RAGFLOW_URL: 'http://ragflow:9380',
    RAGFLOW_API_KEY: 'rag-key',
    VAULT_ADDR: 'https://vault:8200',
    VAULT_TOKEN: 'hvs.x',
    VAULT_KV_MOUNT: 'secret',
    RUNNER_CLIENT_SECRET: 'runner-secret',
  });
  assert.equal(c.gitops.dir, '/srv/as/gitops');
  assert.equal(c.gitops.reconciler, 'argocd');
  assert.deepEqual(c.gitops.remote?.credentials, { username: undefined, password: 'tok-123456', scheme: 'basic' });
  assert.equal(c.storage.kind, 's3');
  assert.equal(c.storage.kind === 's3' && c.storage.accessKeyId, 'AKIAEXAMPLE');
  assert.deepEqual(c.rag.ragflow, { url: 'http://ragflow:9380', apiKey: 'rag-key' });
  assert.equal(c.vault.store, 'vault');
  assert.equal(c.vault.mount, 'secret');
  assert.deepEqual(c.runner, { clientId: 'runner', clientSecret: 'runner-secret' });
});

test('SECRET_STORE: an explicit choice must be consistent with VAULT_ADDR', () => {
  assert.deepEqual(names(problemsOf({ APP_ENV: 'test', SECRET_STORE: 'vault' })), ['VAULT_ADDR']);
  assert.deepEqual(names(problemsOf({ APP_ENV: 'test', SECRET_STORE: 'local', VAULT_ADDR: 'https://v:8200', VAULT_TOKEN: 't' })), ['SECRET_STORE']);
  assert.deepEqual(names(problemsOf({ APP_ENV: 'test', VAULT_ADDR: 'https://v:8200' })), ['VAULT_ADDR']);
  const local = loadConfig({ APP_ENV: 'test', SECRET_STORE: 'local' });
  assert.equal(local.vault.store, 'local');
  assert.equal(local.vault.explicit, true);
});

test('credentials inside a URL are never echoed in an error', () => {
  assert.throws(() => loadConfig({ DATABASE_URL: 'http://admin:hunter2@db:5432/x', GITOPS_REMOTE_URL: 'ftp://u:hunter3@h/x' }), (err: unknown) => {
    assert.doesNotMatch(String(err), /hunter2|hunter3/);
    return true;
  });
});

test('a section that reads a variable it did not declare is a programming error', () => {
  const r = new EnvReader<'DECLARED'>({ DECLARED: 'x', OTHER: 'y' }, new ConfigProblems(), { DECLARED: { doc: 'd' } }, 'demo');
  assert.equal(r.str('DECLARED'), 'x');
  assert.throws(() => r.str('OTHER' as 'DECLARED'), /demo reads OTHER without declaring it/);
});

test('no variable is declared by two sections', () => {
  const seen = new Map<string, string>();
  for (const s of SECTIONS) {
    for (const name of Object.keys(s.vars)) {
      assert.ok(!seen.has(name), `${name} is declared by ${seen.get(name)} and ${s.id}`);
      seen.set(name, s.id);
    }
  }
  assert.ok(seen.size >= 60, `only ${seen.size} variables declared`);
});
