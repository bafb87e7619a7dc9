/**
 * The services call each other through the generated clients, so the Control Plane's spec and
 * the gateway's code cannot drift apart silently. On a temporary copy of the tree (the working
 * tree is never touched) the bundled Control Plane spec is changed as a spec editor would, its
 * client regenerated with the real generator (Java), and the gateway type-checked:
 * - a path parameter renamed (`/instances/{instanceId}/entitlements` → `{id}`) and an operation
 *   renamed (`authorizeBudget` → `reserveBudget`) fail `tsc` in src/gateway/cp-client.ts;
 * - a literal path renamed (`/billing/settle` → `/billing/settlements`) needs no code change:
 *   the regenerated client sends the new path, which is what the server routes from the same spec.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { generateClient } from './clients';

const ROOT = resolve(import.meta.dirname, '../..');

test('renaming a Control Plane path parameter or operation fails tsc in the gateway; a renamed literal path is followed', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clients-follow-spec-'));
  try {
    for (const d of ['src', 'generated', 'specs']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const spec = YAML.parse(readFileSync(join(ROOT, 'generated/openapi/control-plane.openapi.yaml'), 'utf8'));

    const ent = spec.paths['/instances/{instanceId}/entitlements'];
    delete spec.paths['/instances/{instanceId}/entitlements'];
    ent.get.parameters = ent.get.parameters.map((p: { $ref?: string }) =>
      p.$ref === '#/components/parameters/InstanceId' ? { name: 'id', in: 'path', required: true, schema: { type: 'string' } } : p,
    );
    spec.paths['/instances/{id}/entitlements'] = ent;
    spec.paths['/billing/authorize'].post.operationId = 'reserveBudget';
    spec.paths['/billing/settlements'] = spec.paths['/billing/settle'];
    delete spec.paths['/billing/settle'];

    const specFile = join(dir, 'control-plane.openapi.yaml');
    writeFileSync(specFile, YAML.stringify(spec));
    const out = join(dir, 'generated/clients/control-plane');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    await generateClient(specFile, out, 'generated/openapi/control-plane.openapi.yaml');
    assert.match(readFileSync(join(out, 'apis/BillingApi.ts'), 'utf8'), /path: `\/billing\/settlements`/, 'the client follows the renamed path');

    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), include: [], files: ['src/gateway/cp-client.ts'] }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
    const errors = tsc.stdout.split('\n').filter((l) => l.includes('error TS'));
    assert.notEqual(tsc.status, 0, 'tsc must fail');
    assert.ok(errors.every((l) => l.startsWith('src/gateway/cp-client.ts')), errors.join('\n'));
    assert.ok(errors.some((l) => /authorizeBudgetRaw/.test(l)), `the renamed operation is reported:\n${errors.join('\n')}`);
    assert.ok(errors.some((l) => /instanceId/.test(l)), `the renamed path parameter is reported:\n${errors.join('\n')}`);
    assert.ok(!errors.some((l) => /settle/i.test(l)), 'the renamed literal path needs no code change');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
