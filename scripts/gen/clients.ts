import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { header } from './header';

const run = promisify(execFile);
/** The wrapper version that ships its jar inside the npm package (runs offline on Java 17). */
const JAR = 'node_modules/@openapitools/openapi-generator-cli/bin/openapi-generator.jar';
/**
 * Four of the generator's typescript-fetch templates, adapted so the clients run in Node and
 * carry the wire's own values (the other templates come from the jar):
 * - runtime.mustache: `FetchAPI` is `(url, init) => Promise<Response>` and the default is
 *   `globalThis.fetch` (the stock template reads `window.fetch`, which throws in Node);
 * - modelGeneric.mustache / apis.mustache: `date` and `date-time` values stay ISO strings
 *   (with the `DateTime`/`date` → `string` type mappings below), exactly as the services'
 *   own types (generated/<service>/types.ts) and JSON carry them, instead of `Date` objects;
 * - free-form objects (`type: object`, `additionalProperties: {}`) are `any` maps, like the
 *   services' `{ [k: string]: unknown }`, not `object` maps that refuse strings and numbers;
 * - modelEnum / modelGeneric / apis: an enum is a `const` object plus the union of its values,
 *   so a plain `'user'` from the services' types is accepted where the client wants the enum.
 */
const TEMPLATES = 'scripts/gen/templates/typescript-fetch';

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
    '-t', TEMPLATES,
    '--additional-properties=typescriptThreePlus=true,supportsES6=true,withInterfaces=true,modelPropertyNaming=original',
    '--type-mappings=DateTime=string,date=string,object=any',
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
