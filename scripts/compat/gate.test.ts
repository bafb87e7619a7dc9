/**
 * The gate around the diff: a breaking change passes only with a major version bump of the spec
 * and a changelog section naming it; the checked-in specs pass against the released baseline.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkAll, RELEASED } from './check';
import { changelogSection, judge } from './gate';
import { findingKey, type Finding } from './rules';

const finding: Finding = { rule: 'response-property-became-optional', operation: 'POST /v1/runs', where: 'response 200 application/json billing', message: 'was required, now optional' };
const other: Finding = { rule: 'status-code-removed', operation: 'POST /v1/runs', where: 'response 429', message: 'no longer documented' };

test('a breaking change without a major bump fails and says which version and lines to add', () => {
  const v = judge('gateway', 'specs/gateway.openapi.yaml', '1.4.0', '1.5.0', [finding], '');
  assert.deepEqual(v.unacknowledged, [finding]);
  assert.match(v.advice!, /set info\.version in specs\/gateway\.openapi\.yaml to 2\.0\.0/);
  assert.ok(v.advice!.includes(`## gateway 2.0.0\n- ${findingKey(finding)}`));
});

test('a major bump without a changelog section naming the change still fails', () => {
  assert.deepEqual(judge('gateway', 's', '1.0.0', '2.0.0', [finding], '# Changelog\n').unacknowledged, [finding]);
  const wrongService = `## control-plane 2.0.0\n- ${findingKey(finding)}\n`;
  assert.deepEqual(judge('gateway', 's', '1.0.0', '2.0.0', [finding], wrongService).unacknowledged, [finding]);
});

test('a major bump with a changelog section naming every change passes; each unnamed one fails', () => {
  const changelog = `# Contract changelog\n\n## gateway 2.0.0\n- ${findingKey(finding)}\n\n## gateway 1.0.0\n- ${findingKey(other)}\n`;
  assert.deepEqual(judge('gateway', 's', '1.0.0', '2.0.0', [finding], changelog).unacknowledged, []);
  assert.deepEqual(judge('gateway', 's', '1.0.0', '2.0.0', [finding, other], changelog).unacknowledged, [other]);
});

test('an example heading inside a fenced block is not a changelog section', () => {
  const changelog = `Example:\n\`\`\`\n## gateway 2.0.0\n- ${findingKey(finding)}\n\`\`\`\n`;
  assert.equal(changelogSection(changelog, 'gateway', '2.0.0'), '');
  assert.deepEqual(judge('gateway', 's', '1.0.0', '2.0.0', [finding], changelog).unacknowledged, [finding]);
});

test('no findings pass whatever the version says', () => {
  assert.deepEqual(judge('gateway', 's', '3.0.0', '1.0.0', [], '').unacknowledged, []);
});

test('the specs in this repository pass against the released baseline (npm run compat exits 0)', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compat/check.ts'], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /gateway: no breaking change against specs\/released/);
});

test('end to end on a copy of specs/: a breaking edit fails naming the rule, then bump + changelog lets it through', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compat-'));
  try {
    cpSync('specs', dir, { recursive: true });
    const spec = join(dir, 'gateway.openapi.yaml');
    const changelogFile = join(dir, 'CHANGELOG.md');
    const edited = readFileSync(spec, 'utf8').replace('creditsCharged: { type: integer, format: int64, minimum: 0 }', 'creditsCharged: { type: number, format: int64, minimum: 0 }');
    assert.notEqual(edited, readFileSync(spec, 'utf8'), 'the fixture edit applies');
    writeFileSync(spec, edited);
    const options = { releasedDir: RELEASED, changelogFile, services: [{ name: 'gateway', spec }] };

    const [failing] = checkAll(options).verdicts;
    assert.deepEqual(failing.unacknowledged.map(findingKey), [
      'response-type-widened POST /v1/runs response 200 application/json billing.creditsCharged',
      'response-type-widened GET /v1/runs/{runId} response 200 application/json billing.creditsCharged',
    ]);

    writeFileSync(spec, edited.replace(/^  version: 1\.\d+\.\d+$/m, '  version: 2.0.0'));
    writeFileSync(changelogFile, `${readFileSync(changelogFile, 'utf8')}\n## gateway 2.0.0\n${failing.findings.map((f) => `- ${findingKey(f)}`).join('\n')}\n`);
    const [passing] = checkAll(options).verdicts;
    assert.equal(passing.findings.length, 2);
    assert.deepEqual(passing.unacknowledged, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a removed spec fails unless the changelog has "## <service> removed" naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compat-'));
  try {
    const changelogFile = join(dir, 'CHANGELOG.md');
    writeFileSync(changelogFile, '# Contract changelog\n');
    const options = { releasedDir: RELEASED, changelogFile, services: [{ name: 'gateway', spec: 'specs/gateway.openapi.yaml' }] };
    const removed = checkAll(options).verdicts.filter((v) => v.findings.some((f) => f.rule === 'spec-removed'));
    assert.deepEqual(removed.map((v) => v.service).sort(), ['connector-gateway', 'control-plane', 'provisioner', 'runner']);
    assert.ok(removed.every((v) => v.unacknowledged.length === 1));
    writeFileSync(changelogFile, '# Contract changelog\n\n## runner removed\n- spec-removed spec runner\n');
    const runner = checkAll(options).verdicts.find((v) => v.service === 'runner')!;
    assert.deepEqual(runner.unacknowledged, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
