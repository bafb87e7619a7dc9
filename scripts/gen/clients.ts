import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { header } from './header';

const run = promisify(execFile);
/** The wrapper version that ships its jar inside the npm package (runs offline on Java 17). */
const JAR = 'node_modules/@openapitools/openapi-generator-cli/bin/openapi-generator.jar';

/**
 * Generates a typescript-fetch client for one bundled spec into `outDir`; `source` is the spec's
 * path as the file headers name it (the stage folder is temporary).
 */
export async function generateClient(specFile: string, outDir: string, source: string): Promise<void> {
  await run('java', [
    '-jar', JAR, 'generate',
    '-i', specFile,
    '-g', 'typescript-fetch',
    '-o', outDir,
    '--additional-properties=typescriptThreePlus=true,supportsES6=true,withInterfaces=true',
    '--skip-validate-spec',
  ], { maxBuffer: 16 * 1024 * 1024 });
  for (const extra of ['.openapi-generator', '.openapi-generator-ignore']) rmSync(join(outDir, extra), { recursive: true, force: true });
  stampHeaders(outDir, source);
}

function stampHeaders(dir: string, source: string): void {
  for (const entry of readdirSync(dir)) {
    const file = join(dir, entry);
    if (statSync(file).isDirectory()) stampHeaders(file, source);
    else if (file.endsWith('.ts')) writeFileSync(file, header(`${source} (openapi-generator typescript-fetch 4.3.1)`) + readFileSync(file, 'utf8'));
  }
}
