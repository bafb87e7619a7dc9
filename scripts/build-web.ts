/**
 * `npm run build:widget`: bundles the browser code in web/ with esbuild into web/dist/ (checked
 * in, like generated/, so `npm start` serves it on a fresh clone):
 *
 *   web/dist/widget.js     the embeddable widget (web/widget/widget.ts), served at /widget.js and,
 *                          immutable, at /widget/<hash>.js
 *   web/dist/chat.js       the hosted chat page's script (web/chat/chat.ts), served at /chat/app.js
 *   web/dist/manifest.json version, sha384 integrity (SRI), raw and gzip sizes of each bundle
 *
 * Deterministic (pinned esbuild, no timestamps): `--check` rebuilds in memory and fails when
 * web/dist differs, which the drift test (scripts/build-web.test.ts) runs in `npm test`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}web/dist`;

export interface BundleInfo {
  file: string;
  immutablePath: string;
  integrity: string;
  bytes: number;
  gzipBytes: number;
}
export interface WebManifest {
  generatedBy: string;
  version: string;
  bundles: Record<'widget' | 'chat', BundleInfo>;
}

const ENTRIES = { widget: 'web/widget/widget.ts', chat: 'web/chat/chat.ts' } as const;

export async function buildWeb(): Promise<{ files: Record<string, string>; manifest: WebManifest }> {
  const version = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
  const files: Record<string, string> = {};
  const bundles = {} as WebManifest['bundles'];
  for (const [name, entry] of Object.entries(ENTRIES) as [keyof typeof ENTRIES, string][]) {
    const out = await build({
      entryPoints: [`${root}${entry}`],
      bundle: true,
      minify: true,
      format: 'iife',
      target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
      platform: 'browser',
      write: false,
      legalComments: 'none',
      charset: 'utf8',
      banner: { js: `/*! Agent Store ${name} ${version} — built by npm run build:widget from ${entry}; do not edit */` },
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    const bytes = Buffer.from(code, 'utf8');
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    files[`${name}.js`] = code;
    bundles[name] = {
      file: `${name}.js`,
      immutablePath: name === 'widget' ? `/widget/${hash}.js` : `/chat/app-${hash}.js`,
      integrity: `sha384-${createHash('sha384').update(bytes).digest('base64')}`,
      bytes: bytes.length,
      gzipBytes: gzipSync(bytes, { level: 9 }).length,
    };
  }
  const manifest: WebManifest = { generatedBy: 'npm run build:widget (scripts/build-web.ts); do not edit', version, bundles };
  files['manifest.json'] = JSON.stringify(manifest, null, 2) + '\n';
  return { files, manifest };
}

/** Files in web/dist that differ from a fresh build (empty when up to date). */
export async function staleWebFiles(): Promise<string[]> {
  const { files } = await buildWeb();
  return Object.entries(files)
    .filter(([name, text]) => {
      try {
        return readFileSync(`${dist}/${name}`, 'utf8') !== text;
      } catch {
        return true;
      }
    })
    .map(([name]) => `web/dist/${name}`);
}

async function main() {
  if (process.argv.includes('--check')) {
    const stale = await staleWebFiles();
    if (stale.length) {
      console.error(`build:widget: ${stale.join(', ')} out of date — run \`npm run build:widget\` and commit web/dist`);
      process.exit(1);
    }
    console.log('build:widget: web/dist is up to date');
    return;
  }
  const { files, manifest } = await buildWeb();
  mkdirSync(dist, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(`${dist}/${name}`, text);
  for (const [name, b] of Object.entries(manifest.bundles)) {
    console.log(`build:widget: web/dist/${b.file}  ${b.bytes} B (gzip ${b.gzipBytes} B)  ${b.integrity}  ${name === 'widget' ? b.immutablePath : ''}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
