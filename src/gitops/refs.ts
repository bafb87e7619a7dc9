/**
 * Reads a ref of a local repository from its files, as git itself stores them
 * (gitrepository-layout(5), git-update-ref(1)): `.git/HEAD` holds a commit id or
 * `ref: refs/heads/<branch>`; a ref is a loose file `.git/<ref>` holding its commit id, else a
 * line `<id> <ref>` of `.git/packed-refs`. Git writes loose refs by renaming a lock file over
 * them, so a read sees the old or the new id, never half of one.
 *
 * Why: polling `git rev-parse HEAD` once a second forks the service's process for each poll,
 * which stalls its event loop for milliseconds on a large heap. A repository in the reftable
 * format, or a ref spelled any other way, answers `undefined` here: the caller asks git.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const REF_NAME = /^refs\/[A-Za-z0-9._/-]+$/;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function packedRef(gitDir: string, ref: string): Promise<string | undefined> {
  const packed = await readText(join(gitDir, 'packed-refs'));
  for (const line of packed?.split('\n') ?? []) {
    if (line.startsWith('#') || line.startsWith('^')) continue;
    const [id, name] = line.trim().split(' ');
    if (name === ref && id && OBJECT_ID.test(id)) return id;
  }
  return undefined;
}

export type RefRead = { kind: 'id'; id: string } | { kind: 'missing' } | { kind: 'ask-git' };

/** `HEAD` or a full `refs/…` name, resolved through symbolic refs (at most 5 deep). */
export async function readRef(gitDir: string, name: string): Promise<RefRead> {
  if (existsSync(join(gitDir, 'reftable'))) return { kind: 'ask-git' };
  let ref = name;
  for (let depth = 0; depth < 5; depth++) {
    if (ref !== 'HEAD' && !REF_NAME.test(ref)) return { kind: 'ask-git' };
    if (ref.split('/').includes('..')) return { kind: 'ask-git' };
    const loose = (await readText(join(gitDir, ref)))?.trim();
    if (loose === undefined) {
      if (ref === 'HEAD') return { kind: 'ask-git' };
      const id = await packedRef(gitDir, ref);
      return id ? { kind: 'id', id } : { kind: 'missing' };
    }
    if (OBJECT_ID.test(loose)) return { kind: 'id', id: loose };
    if (!loose.startsWith('ref: ')) return { kind: 'ask-git' };
    ref = loose.slice(5).trim();
  }
  return { kind: 'ask-git' };
}
