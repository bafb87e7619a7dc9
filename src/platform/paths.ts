/**
 * Files the services read at run time (bundled specs, the capability registry, CRDs, the GitOps
 * seed, demo flows) live beside the code in the project folder. The same code runs from
 * TypeScript sources (`src/…` through tsx) and from the build (`dist/start.js`), so paths are
 * resolved from the project root — the nearest folder above this module holding the project's
 * package.json — never from the module's own location.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'agent-store-platform';

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
      } catch {
        // not ours: keep looking
      }
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} folder above ${start}`);
  }
}

let root: string | undefined;

/** The project folder (holds package.json, specs/, generated/, gitops/, demo/, dist/). */
export function projectRoot(): string {
  root ??= findRoot(dirname(fileURLToPath(import.meta.url)));
  return root;
}

/** A path inside the project folder: `projectPath('specs', 'capability-registry.yaml')`. */
export function projectPath(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}
