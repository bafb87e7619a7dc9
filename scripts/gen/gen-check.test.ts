/**
 * The drift gate and the generator's failure modes: gen:check compares a generated copy with the
 * checked-out tree without writing to it, ignores files gen does not own, and `npm run gen`
 * without Java stops before touching generated/ and says what to install.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { genCheck } from './check';
import { compareTrees } from './compare-trees';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tree-'));
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), content);
  }
  return root;
}

function fingerprint(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

test('compareTrees reports changed, missing and stale files and nothing for identical trees', () => {
  const expected = tree({ 'a.ts': 'one', 'sub/b.ts': 'two', 'sub/new.ts': 'three' });
  const actual = tree({ 'a.ts': 'one', 'sub/b.ts': 'TWO', 'sub/old.ts': 'gone' });
  assert.deepEqual(compareTrees(expected, actual, 'generated'), [
    { kind: 'M', file: 'generated/sub/b.ts' },
    { kind: 'A', file: 'generated/sub/new.ts' },
    { kind: 'D', file: 'generated/sub/old.ts' },
  ]);
  assert.deepEqual(compareTrees(expected, expected, 'generated'), []);
});

test('gen:check passes on the checked-out tree, ignores a file gen does not own and writes nothing', async () => {
  const note = join('handlers', 'gateway', `untracked-${process.pid}.md`);
  writeFileSync(note, 'an engineer\'s note beside the handlers\n');
  try {
    const before = [fingerprint('generated'), fingerprint('handlers'), fingerprint('capabilities')];
    assert.deepEqual(await genCheck(), []);
    assert.deepEqual([fingerprint('generated'), fingerprint('handlers'), fingerprint('capabilities')], before);
  } finally {
    rmSync(note, { force: true });
  }
});

test('npm run gen without Java fails with what to install and leaves generated/ untouched', () => {
  const bin = mkdtempSync(join(tmpdir(), 'no-java-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const before = fingerprint('generated');
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen/index.ts'], { env: { ...process.env, PATH: bin }, encoding: 'utf8' });
  assert.equal(res.status, 1, res.stdout + res.stderr);
  assert.match(res.stderr, /no `java` on PATH/);
  assert.match(res.stderr, /apt-get install -y openjdk-17-jre-headless/);
  assert.match(res.stderr, /generated\/ was left untouched/);
  assert.equal(fingerprint('generated'), before);
  rmSync(bin, { recursive: true, force: true });
});
