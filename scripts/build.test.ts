/**
 * The build and the image's start command, without Docker: builds dist/ into a folder laid out
 * exactly as the Dockerfile's final stage lays out /app (its COPY lines), then runs the image's
 * ENTRYPOINT there with the image's ENV — refused with the complete list when nothing else is
 * set (the production guard), and serving all five services with APP_ENV=development.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { projectPath, projectRoot } from '../src/platform/paths';
import { buildDist } from './build';

interface FinalStage {
  env: Record<string, string>;
  copies: { from?: string; sources: string[]; dest: string }[];
  entrypoint: string[];
}

/** The Dockerfile's last stage: ENV, COPY and ENTRYPOINT (exec form). */
function finalStage(): FinalStage {
  const text = readFileSync(projectPath('Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const last = lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0).pop()!;
  const stage: FinalStage = { env: {}, copies: [], entrypoint: [] };
  for (const line of lines.slice(last + 1)) {
    const [instr, ...rest] = line.split(/\s+/);
    if (instr === 'ENV') for (const pair of rest) stage.env[pair.split('=')[0]!] = pair.slice(pair.indexOf('=') + 1);
    if (instr === 'COPY') {
      const from = rest[0]!.startsWith('--from=') ? rest.shift()!.slice('--from='.length) : undefined;
      stage.copies.push({ from, sources: rest.slice(0, -1), dest: rest[rest.length - 1]! });
    }
    if (instr === 'ENTRYPOINT') stage.entrypoint = JSON.parse(line.slice('ENTRYPOINT'.length));
  }
  return stage;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('npm run build → dist/, started as the image starts it', { timeout: 300_000 }, () => {
  const stage = finalStage();
  let app: string;
  before(async () => {
    app = mkdtempSync(join(tmpdir(), 'agentstore-image-'));
    for (const c of stage.copies) {
      const dest = join(app, c.dest);
      if (c.from === 'deps') {
        symlinkSync(projectPath('node_modules'), join(app, 'node_modules'), 'dir'); // the image has the production subset
      } else if (c.from === 'build') {
        await buildDist(join(app, 'dist'), { widget: false, quiet: true });
      } else {
        for (const src of c.sources) {
          const target = c.dest.endsWith('/') ? join(dest, src.split('/').pop()!) : dest;
          mkdirSync(dirname(target), { recursive: true });
          cpSync(join(projectRoot(), src), target, { recursive: true });
        }
      }
    }
  });
  after(() => { if (app) rmSync(app, { recursive: true, force: true }); });

  test('the image is non-root, production by default, with a /readyz health check and dist/ as its entrypoint', () => {
    const text = readFileSync(projectPath('Dockerfile'), 'utf8');
    assert.match(text, /^USER 10001:10001$/m);
    assert.match(text, /npm ci --omit=dev/);
    assert.match(text, /^HEALTHCHECK .*"node", "dist\/healthcheck.js"/m);
    assert.deepEqual(stage.entrypoint, ['node', 'dist/start.js']);
    assert.equal(stage.env.NODE_ENV, 'production');
    const engines = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')).engines.node as string;
    const major = /ARG NODE_IMAGE=node:(\d+)-/.exec(text)?.[1];
    assert.ok(major && engines.startsWith(`>=${major}.`), `the image's Node ${major} is the major engines states (${engines})`);
  });

  test('with only the image\'s environment it refuses to start and lists every missing piece', () => {
    const [cmd, ...args] = stage.entrypoint;
    const r = spawnSync(cmd!, args, { cwd: app, env: { PATH: process.env.PATH, ...stage.env, DATA_DIR: join(app, 'data') }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    for (const name of ['DATABASE_URL', 'OIDC_ISSUER', 'VAULT_ADDR', 'S3_BUCKET', 'GITOPS_REMOTE_URL', 'ARGOCD_WEBHOOK_TOKEN', 'WIDGET_SESSION_SECRET']) {
      assert.match(r.stderr, new RegExp(`^  ${name}: `, 'm'), name);
    }
  });

  test('APP_ENV=development: all five services answer /readyz, the health check passes, SIGTERM stops it cleanly', async () => {
    const ports = { CP_PORT: await freePort(), GATEWAY_PORT: await freePort(), CONNECTOR_GATEWAY_PORT: await freePort(), RUNNER_PORT: await freePort(), PROVISIONER_PORT: await freePort() };
    const env = {
      PATH: process.env.PATH,
      ...stage.env,
      APP_ENV: 'development',
      HOST: '127.0.0.1',
      DATA_DIR: join(app, 'data-dev'),
      SEED_DEMO: '0',
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    const [cmd, ...args] = stage.entrypoint;
    const child: ChildProcess = spawn(cmd!, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 240_000;
      while (!output.includes('Agent Store is up')) {
        assert.ok(child.exitCode === null, `the stack exited: ${output}`);
        assert.ok(Date.now() < deadline, `not up in time: ${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      for (const [name, port] of Object.entries(ports)) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        assert.equal(res.status, 200, name);
      }
      const catalog = await fetch(`http://127.0.0.1:${ports.CP_PORT}/offerings`);
      assert.equal(catalog.status, 200, 'the control plane serves its API from the built code');
      const health = spawnSync('node', ['dist/healthcheck.js'], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
      assert.equal(health.status, 0, health.stdout + health.stderr);
      assert.equal(health.stdout.trim().split('\n').length, 5, health.stdout);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
  });
});
