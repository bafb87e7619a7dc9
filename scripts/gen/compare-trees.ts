import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeChange {
  /** `M` differs, `A` gen would create it, `D` gen would delete it. */
  kind: 'M' | 'A' | 'D';
  file: string;
}

function files(root: string, dir = ''): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const rel = dir ? `${dir}/${name}` : name;
    return statSync(join(root, rel)).isDirectory() ? files(root, rel) : [rel];
  });
}

/**
 * Compares a freshly generated tree (`expected`) with the checked-out one (`actual`) file by file:
 * changed, missing (gen would create it) and extra (gen would delete it: gen owns the whole tree).
 * Paths in the result are prefixed with `label`.
 */
export function compareTrees(expected: string, actual: string, label: string): TreeChange[] {
  const want = new Set(files(expected));
  const have = new Set(files(actual));
  const changes: TreeChange[] = [];
  for (const f of [...new Set([...want, ...have])].sort()) {
    if (!have.has(f)) changes.push({ kind: 'A', file: `${label}/${f}` });
    else if (!want.has(f)) changes.push({ kind: 'D', file: `${label}/${f}` });
    else if (!readFileSync(join(expected, f)).equals(readFileSync(join(actual, f)))) changes.push({ kind: 'M', file: `${label}/${f}` });
  }
  return changes;
}
