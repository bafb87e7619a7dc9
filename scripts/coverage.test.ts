/**
 * The coverage gate catches what gen's skeletons leave behind: an operation answering 501 and a
 * capability whose hooks throw "not implemented". The skeletons are the ones gen really writes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { capabilityHandlers } from '../generated/capabilities/handler-registry';
import { handlers as gateway } from '../generated/gateway/handler-registry';
import { capabilityRegistry } from '../src/capabilities/registry';
import { notImplemented } from '../src/platform/http/not-implemented';
import { operationCoverage, unbuiltCapabilityHooks } from './coverage';
import { renderCapabilitySkeleton } from './gen/capabilities';

test('an operation whose handler is the 501 skeleton is reported; built ones are not', () => {
  const [first, ...rest] = Object.keys(gateway);
  const registry = { ...gateway, [first]: notImplemented(first) };
  assert.deepEqual(operationCoverage({ gateway: registry }), [{ service: 'gateway', total: rest.length + 1, unbuilt: [first] }]);
  assert.deepEqual(operationCoverage({ gateway }), [{ service: 'gateway', total: rest.length + 1, unbuilt: [] }]);
});

test("a capability left as gen's skeleton is reported hook by hook; the registry's handlers are all built", async () => {
  const cap = capabilityRegistry().capabilities.find((c) => c.id === 'multilingual')!;
  // gen's skeleton, placed where it would live, so its relative imports resolve
  const dir = mkdtempSync(join('capabilities', '.skeleton-'));
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'handler.ts');
    writeFileSync(file, renderCapabilitySkeleton(cap));
    const mod = await import(pathToFileURL(join(process.cwd(), file)).href);
    const found = unbuiltCapabilityHooks({ ...capabilityHandlers, multilingual: mod.multilingual });
    assert.deepEqual(found.map((f) => `${f.capability}.${f.hook}`), ['multilingual.validate', 'multilingual.desiredState', 'multilingual.meter']);
    assert.match(found[0].error, /not implemented/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(unbuiltCapabilityHooks(capabilityHandlers), []);
});

test('a stub hook that throws anything at all is reported too', () => {
  const stub = { ...capabilityHandlers.audit_trail, meter: () => { throw new Error('TODO'); } };
  assert.deepEqual(unbuiltCapabilityHooks({ audit_trail: stub }), [{ capability: 'audit_trail', hook: 'meter', error: 'TODO' }]);
});

test('npm run ops:coverage exits 0 on the built tree', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/ops-coverage.ts'], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /capabilities\s+16\/16 built/);
});
