import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configEffectProblems } from './config-effects';

const plan = { components: { schemas: { Plan: { properties: { includedCredits: { 'x-effect': 'test:a.test.ts' } } }, PlanLimits: { properties: {} } } } };
const cap = (props: Record<string, unknown>) => ({ capabilities: [{ id: 'demo', provisioning: { kinds: ['ConfigMap'] }, config_schema: { properties: props } }] });
const files: Record<string, string> = { 'a.test.ts': 'includedCredits and limit are proven here' };
const readFile = (p: string) => files[p];

test('a property with no x-effect, a test that does not name it, a missing file or a kind the capability does not provision is listed', () => {
  const problems = configEffectProblems({
    registry: cap({
      ok: { type: 'string', 'x-effect': 'desired-state:ConfigMap' },
      limit: { type: 'integer', 'x-effect': 'test:a.test.ts' },
      bare: { type: 'string' },
      unnamed: { type: 'string', 'x-effect': 'test:a.test.ts' },
      gone: { type: 'string', 'x-effect': 'test:b.test.ts' },
      kind: { type: 'string', 'x-effect': 'desired-state:AuditSink' },
      nested: { type: 'object', 'x-effect': 'desired-state:ConfigMap', properties: { inner: { type: 'string' } } },
    }),
    controlPlane: plan,
    readFile,
  });
  assert.deepEqual(problems.map((p) => p.split(':')[0]), ['demo.bare', 'demo.unnamed', 'demo.gone', 'demo.kind', 'demo.nested.inner']);
});

test('the registry and the plan schema as they are pass', async () => {
  const { readFileSync, existsSync } = await import('node:fs');
  const { parse } = await import('yaml');
  assert.deepEqual(configEffectProblems({
    registry: parse(readFileSync('specs/capability-registry.yaml', 'utf8')),
    controlPlane: parse(readFileSync('specs/control-plane.openapi.yaml', 'utf8')),
    readFile: (p) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined),
  }), []);
});
