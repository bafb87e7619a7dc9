/** readRef answers what `git rev-parse --verify` answers, for loose, packed and symbolic refs. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRef } from './refs';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } }).trim();

test('readRef: HEAD and branches, loose and packed, as git resolves them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'refs-'));
  try {
    git(dir, 'init', '-q', '-b', 'main');
    const gitDir = join(dir, '.git');
    assert.equal((await readRef(gitDir, 'HEAD')).kind, 'missing', 'an unborn branch has no id');
    writeFileSync(join(dir, 'a'), '1');
    git(dir, 'add', 'a');
    git(dir, 'commit', '-q', '-m', 'one');
    assert.deepEqual(await readRef(gitDir, 'HEAD'), { kind: 'id', id: git(dir, 'rev-parse', 'HEAD') });
    git(dir, 'branch', 'other');
    writeFileSync(join(dir, 'a'), '2');
    git(dir, 'commit', '-q', '-am', 'two');
    git(dir, 'pack-refs', '--all');
    assert.deepEqual(await readRef(gitDir, 'HEAD'), { kind: 'id', id: git(dir, 'rev-parse', 'HEAD') }, 'packed');
    assert.deepEqual(await readRef(gitDir, 'refs/heads/other'), { kind: 'id', id: git(dir, 'rev-parse', 'other') });
    writeFileSync(join(dir, 'a'), '3');
    git(dir, 'commit', '-q', '-am', 'three');
    assert.deepEqual(await readRef(gitDir, 'HEAD'), { kind: 'id', id: git(dir, 'rev-parse', 'HEAD') }, 'a loose ref over a packed one');
    assert.deepEqual(await readRef(gitDir, 'refs/remotes/origin/main'), { kind: 'missing' });
    for (const odd of ['HEAD^{commit}', 'main', '../../etc/passwd', 'refs/heads/../../x']) assert.equal((await readRef(gitDir, odd)).kind, 'ask-git', odd);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
