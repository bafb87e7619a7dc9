import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { projectPath } from '../src/platform/paths';

const semver = createRequire(import.meta.url)('semver') as { satisfies(v: string, range: string): boolean; minVersion(range: string): { version: string } | null };

const pkg = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(projectPath('package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }> };

test('engines states the Node the project runs on, and this Node satisfies it', () => {
  assert.ok(semver.satisfies(process.versions.node, pkg.engines.node), `running ${process.versions.node}, engines says ${pkg.engines.node}`);
  assert.equal(semver.minVersion(pkg.engines.node)?.version, '20.19.0');
});

test('every locked package supports the oldest Node engines allows (overrides included)', () => {
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  const refusing = Object.entries(lock.packages)
    .filter(([path, p]) => path && p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.satisfies(oldest, p.engines.node))
    .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')} needs ${(p.engines as { node: string }).node}`);
  assert.deepEqual(refusing, []);
});
