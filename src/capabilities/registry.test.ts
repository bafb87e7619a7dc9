import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { capabilityIds } from '../../generated/capabilities/index';
import { capabilityRegistry, loadCapabilityRegistry, REGISTRY_FILE, RegistryError } from './registry';

const original = () => parse(readFileSync(REGISTRY_FILE, 'utf8'));

function problemsOf(mutate: (reg: any) => void): string[] {
  const reg = original();
  mutate(reg);
  try {
    loadCapabilityRegistry({ source: stringify(reg) });
  } catch (err) {
    assert.ok(err instanceof RegistryError, String(err));
    return err.problems;
  }
  assert.fail('the registry was accepted');
}

test('the registry loads with its 16 capabilities in generated order', () => {
  const reg = loadCapabilityRegistry();
  assert.match(reg.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(
    reg.capabilities.map((c) => c.id),
    [...capabilityIds],
  );
  assert.equal(reg.capabilities.length, 16);
  for (const c of reg.capabilities) {
    assert.equal(c.provisioning.handler, `${c.id}.v${c.v}`);
    assert.equal(c.configSchema.type, 'object');
    assert.ok(c.provisioning.kinds.length > 0);
  }
  assert.equal(reg.get('web_widget')?.saleorValue, 'web-widget');
  assert.equal(reg.get('nope'), undefined);
  assert.throws(() => reg.require('nope'), /unknown capability/);
});

test('the cached registry is one frozen instance', () => {
  const a = capabilityRegistry();
  assert.equal(capabilityRegistry(), a);
  assert.ok(Object.isFrozen(a.capabilities));
  assert.ok(Object.isFrozen(a.capabilities[0]!.configSchema));
  assert.throws(() => {
    (a.capabilities[0] as any).title = 'changed';
  }, TypeError);
});

test('a registry that breaks its JSON Schema is refused with the path', () => {
  const problems = problemsOf((reg) => {
    delete reg.capabilities[0].title;
  });
  assert.ok(problems.some((p) => p.includes('/capabilities/0') && p.includes('title')), problems.join('\n'));
});

test('a duplicate capability id is refused', () => {
  const problems = problemsOf((reg) => {
    reg.capabilities[1].id = reg.capabilities[0].id;
    reg.capabilities[1].provisioning.handler = `${reg.capabilities[0].id}.v1`;
    reg.capabilities[1].metering.dimensions = [];
  });
  assert.ok(problems.some((p) => p.includes('duplicate capability id prompt_orchestrator')), problems.join('\n'));
});

test('a provisioning.handler other than <id>.v<v> is refused', () => {
  const problems = problemsOf((reg) => {
    reg.capabilities[0].provisioning.handler = 'prompt_orchestrator.v2';
  });
  assert.ok(problems.some((p) => p.includes('must be prompt_orchestrator.v1')), problems.join('\n'));
});

test('metering dimension names must be unique within a capability and across the registry', () => {
  const within = problemsOf((reg) => {
    reg.capabilities[0].metering.dimensions.push({ ...reg.capabilities[0].metering.dimensions[0] });
  });
  assert.ok(within.some((p) => p.includes('tokens_in is listed twice')), within.join('\n'));
  const across = problemsOf((reg) => {
    reg.capabilities[1].metering.dimensions[0].name = 'tokens_in';
  });
  assert.ok(across.some((p) => p.includes('tokens_in is already used by prompt_orchestrator')), across.join('\n'));
});

test('a config_schema that does not compile is refused', () => {
  const problems = problemsOf((reg) => {
    reg.capabilities[0].config_schema.properties.model.pattern = '([unclosed';
  });
  assert.ok(problems.some((p) => p.includes('config_schema does not compile')), problems.join('\n'));
});

test('registry ids that differ from generated/ ask for npm run gen', () => {
  const reg = original();
  reg.capabilities.pop();
  assert.throws(() => loadCapabilityRegistry({ source: stringify(reg), checkGenerated: true }), /run npm run gen/);
});
