/**
 * The services call each other through the generated clients, so the Control Plane's spec and
 * the gateway's code cannot drift apart silently. On a temporary copy of the tree (the working
 * tree is never touched) the bundled Control Plane spec is changed as a spec editor would, its
 * client regenerated with the real generator (Java), and the gateway type-checked:
 * - a path parameter renamed (`/instances/{instanceId}/entitlements` → `{id}`) and an operation
 *   renamed (`authorizeBudget` → `reserveBudget`) fail `tsc` in src/gateway/cp-client.ts;
 * - a literal path renamed (`/billing/settle` → `/billing/settlements`) needs no code change:
 *   the regenerated client sends the new path, which is what the server routes from the same spec;
 * - the Runner's `executeRun` renamed fails `tsc` in the gateway's streamed call
 *   (src/gateway/runner-stream.ts) as in its plain one, and the Connector Gateway's `invokeTool`
 *   renamed fails it in the Runner's tool client (src/connector-gateway/client.ts).
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

/** A temporary copy of the tree (src, generated, specs; node_modules linked). */
function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'clients-follow-spec-'));
  for (const d of ['src', 'generated', 'specs']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Rewrites one service's bundled spec with `edit` and regenerates its client in the copy. */
async function regenerate(dir: string, service: string, edit: (spec: any) => void): Promise<string> {
  const spec = YAML.parse(readFileSync(join(ROOT, `generated/openapi/${service}.openapi.yaml`), 'utf8'));
  edit(spec);
  const specFile = join(dir, `${service}.openapi.yaml`);
  writeFileSync(specFile, YAML.stringify(spec));
  const out = join(dir, `generated/clients/${service}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await generateClient(specFile, out, `generated/openapi/${service}.openapi.yaml`);
  return out;
}

/** `tsc` on `files` of the copy: its exit status and the error lines. */
function typecheck(dir: string, files: string[]): { status: number | null; errors: string[] } {
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), include: [], files }));
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
  return { status: tsc.status, errors: tsc.stdout.split('\n').filter((l) => l.includes('error TS')) };
}

test('renaming a Control Plane path parameter or operation fails tsc in the gateway; a renamed literal path is followed', { timeout: 600_000 }, async () => {
  const dir = copyTree();
  try {
    const out = await regenerate(dir, 'control-plane', (spec) => {
      const ent = spec.paths['/instances/{instanceId}/entitlements'];
      delete spec.paths['/instances/{instanceId}/entitlements'];
      ent.get.parameters = ent.get.parameters.map((p: { $ref?: string }) =>
        p.$ref === '#/components/parameters/InstanceId' ? { name: 'id', in: 'path', required: true, schema: { type: 'string' } } : p,
      );
      spec.paths['/instances/{id}/entitlements'] = ent;
      spec.paths['/billing/authorize'].post.operationId = 'reserveBudget';
      spec.paths['/billing/settlements'] = spec.paths['/billing/settle'];
      delete spec.paths['/billing/settle'];
    });
    assert.match(readFileSync(join(out, 'apis/BillingApi.ts'), 'utf8'), /path: `\/billing\/settlements`/, 'the client follows the renamed path');

    const { status, errors } = typecheck(dir, ['src/gateway/cp-client.ts']);
    assert.notEqual(status, 0, 'tsc must fail');
    assert.ok(errors.every((l) => l.startsWith('src/gateway/cp-client.ts')), errors.join('\n'));
    assert.ok(errors.some((l) => /authorizeBudgetRaw/.test(l)), `the renamed operation is reported:\n${errors.join('\n')}`);
    assert.ok(errors.some((l) => /instanceId/.test(l)), `the renamed path parameter is reported:\n${errors.join('\n')}`);
    assert.ok(!errors.some((l) => /settle/i.test(l)), 'the renamed literal path needs no code change');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('renaming the Runner\'s executeRun fails tsc in the streamed call; renaming the Connector Gateway\'s invokeTool fails it in the Runner\'s tool client', { timeout: 600_000 }, async () => {
  const dir = copyTree();
  try {
    await regenerate(dir, 'runner', (spec) => {
      spec.paths['/v1/runs'].post.operationId = 'startRun';
    });
    await regenerate(dir, 'connector-gateway', (spec) => {
      spec.paths['/v1/tools/invoke'].post.operationId = 'runTool';
    });
    const { status, errors } = typecheck(dir, ['src/gateway/runner-stream.ts', 'src/connector-gateway/client.ts']);
    assert.notEqual(status, 0, 'tsc must fail');
    const callers = ['src/gateway/runner-stream.ts', 'src/gateway/runner-client.ts', 'src/connector-gateway/client.ts'];
    assert.ok(errors.every((l) => callers.some((f) => l.startsWith(f))), `only the callers of the renamed operations fail:\n${errors.join('\n')}`);
    assert.ok(errors.some((l) => l.startsWith('src/gateway/runner-stream.ts') && /executeRunRaw/.test(l)), `the streamed call is reported:\n${errors.join('\n')}`);
    assert.ok(errors.some((l) => l.startsWith('src/connector-gateway/client.ts') && /invokeToolRaw/.test(l)), `the tool call is reported:\n${errors.join('\n')}`);
    assert.ok(!errors.some((l) => /callMcpToolRaw/.test(l)), 'the unchanged MCP call still type-checks');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
