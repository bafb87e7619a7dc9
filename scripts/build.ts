/**
 * `npm run build`: the services as JavaScript in dist/ (what `npm start` and the container image
 * run; `npm run dev` keeps running the TypeScript through tsx).
 *
 * 1. `npm run build:widget` first, when package.json has it (browser assets; its own output).
 * 2. `npm run typecheck` is not repeated here: CI runs it as its own step.
 * 3. esbuild bundles each entry point with the project's own modules inlined and every npm
 *    package left as an import (resolved from node_modules at run time, so the image installs
 *    them with `npm ci --omit=dev`). Files the services read at run time (generated/openapi,
 *    specs/, gitops/, demo/) stay in the project folder: src/platform/paths.ts finds them from
 *    dist/ as it does from src/.
 *
 * `--outdir <dir>` builds elsewhere (tests); the directory is emptied first.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { projectPath, projectRoot } from '../src/platform/paths';

/** What dist/ holds: the stack (all five services, or the ones named) and the image's health check. */
export const ENTRY_POINTS = { start: 'scripts/start.ts', healthcheck: 'scripts/healthcheck.ts' } as const;

export async function buildDist(outdir = projectPath('dist'), opts: { widget?: boolean; quiet?: boolean } = {}): Promise<string[]> {
  const root = projectRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; engines?: { node?: string } };
  if ((opts.widget ?? true) && pkg.scripts?.['build:widget']) {
    execFileSync('npm', ['run', '--silent', 'build:widget'], { cwd: root, stdio: opts.quiet ? 'ignore' : 'inherit' });
  }
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, file]) => [name, join(root, file)])),
    outdir,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: opts.quiet ? 'silent' : 'warning',
    metafile: true,
  });
  // dist/ is ESM whatever the nearest package.json says.
  writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
  return Object.keys(result.metafile.outputs).map((f) => relative(root, join(root, f)));
}

if (process.argv[1] && /scripts[\\/]build\.ts$/.test(process.argv[1])) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const started = Date.now();
  buildDist(values.outdir ? join(process.cwd(), values.outdir) : undefined)
    .then((files) => console.log(`build: ${files.filter((f) => f.endsWith('.js')).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`))
    .catch((err) => {
      console.error('build failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
