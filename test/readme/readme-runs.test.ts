/**
 * The README runs as written: its shell blocks (```bash, except those marked
 * `<!-- readme-test: skip — why -->`) run in order, in one bash session, against a stack started
 * by `npm run dev` on non-default ports with a fresh DATA_DIR. `curl` fails on any HTTP error
 * (`--fail-with-body`), so an example that the stack refuses fails the test with its answer.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

/** The runnable blocks of a markdown text, in order. */
export function shellBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /(<!-- readme-test: skip[^>]*-->\n)?```bash\n([\s\S]*?)```/g;
  for (let m; (m = re.exec(markdown)); ) if (!m[1]) blocks.push(m[2]!);
  return blocks;
}

async function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => r(port));
    });
  });
}

let stack: ChildProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'readme-data-'));
after(() => {
  if (stack?.pid) try { process.kill(-stack.pid, 'SIGTERM'); } catch { /* gone */ }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(join(ROOT, 'returns.md'), { force: true });
});

test('the skip marker and block extraction', () => {
  const md = 'a\n```bash\necho one\n```\n<!-- readme-test: skip — no -->\n```bash\necho two\n```\n```json\n{}\n```\n```bash\necho three\n```\n';
  assert.deepEqual(shellBlocks(md), ['echo one\n', 'echo three\n']);
});

test('the README\'s shell blocks run in order against a stack on non-default ports', { timeout: 600_000 }, async () => {
  const blocks = shellBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(blocks.length >= 5, `${blocks.length} runnable blocks`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CP_PORT: String(await freePort()),
    GATEWAY_PORT: String(await freePort()),
    CONNECTOR_GATEWAY_PORT: String(await freePort()),
    RUNNER_PORT: String(await freePort()),
    PROVISIONER_PORT: String(await freePort()),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  for (const k of ['DATABASE_URL', 'LLM_BASE_URL', 'LLM_PROVIDERS', 'LANGFLOW_URL', 'RAGFLOW_URL', 'VAULT_ADDR', 'OIDC_ISSUER', 'RECORD_STATUSES_DIR']) delete env[k];
  stack = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  stack.stdout!.on('data', (c) => (out += c));
  stack.stderr!.on('data', (c) => (out += c));
  const deadline = Date.now() + 240_000;
  while (!/Agent Store is up/.test(out)) {
    assert.ok(Date.now() < deadline && stack.exitCode === null, `the stack did not start:\n${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const script = ['set -euo pipefail', 'curl() { command curl --fail-with-body --max-time 120 "$@"; }', ...blocks.map((b, i) => `echo "=== README block ${i + 1}" >&2\n${b}`)].join('\n');
  const run = spawnSync('bash', ['-c', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 480_000 });
  assert.equal(run.status, 0, `README block failed:\n${run.stderr.slice(-3000)}\n--- stdout ---\n${run.stdout.slice(-3000)}`);
  assert.equal(run.stderr.match(/=== README block \d+/g)?.length, blocks.length, 'every block ran');
  assert.match(run.stdout, /"billing"/, 'the run answered with its billing block');
  assert.match(run.stdout, /event: done/, 'the streamed run finished');
  assert.match(run.stdout, /"chunks":\[\{/, 'the knowledge base answered with chunks');
});
