import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderEnvExample } from '../../../scripts/gen/env-example';
import { loadConfig, SECTIONS } from './index';

const file = fileURLToPath(new URL('../../../.env.example', import.meta.url));

test('the checked-in .env.example is what the configuration tree generates (run npm run gen)', () => {
  assert.equal(readFileSync(file, 'utf8'), renderEnvExample());
});

test('.env.example names every declared variable once, and shows no secret value', () => {
  const text = readFileSync(file, 'utf8');
  for (const s of SECTIONS) {
    for (const [name, v] of Object.entries(s.vars)) {
      const lines = text.split('\n').filter((l) => l.startsWith(`#${name}=`));
      assert.equal(lines.length, 1, name);
      if (v.secret) assert.equal(lines[0], `#${name}=`, `${name} is a secret: no value in the example`);
    }
  }
});

test('uncommenting every line of .env.example gives a valid configuration', () => {
  const env = Object.fromEntries(
    readFileSync(file, 'utf8').split('\n').filter((l) => /^#[A-Z][A-Z0-9_]*=/.test(l)).map((l) => {
      const at = l.indexOf('=');
      return [l.slice(1, at), l.slice(at + 1)];
    }),
  );
  // The example's sample values switch the real adapters on; their credentials are secrets the
  // example leaves empty, so supply placeholders for exactly those.
  const c = loadConfig({ ...env, APP_ENV: 'test', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b', RAGFLOW_API_KEY: 'k', VAULT_TOKEN: 't' });
  assert.equal(c.ports.controlPlane, 8080);
  assert.equal(c.storage.kind, 's3');
});
