/**
 * The mock and the real gateway agree on CORS: the same preflights are allowed or refused, with
 * the same methods, request headers and exposed headers, and the mock never adds Prism's own
 * `Access-Control-Allow-Credentials: true` reflecting any origin.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestStack, type TestStack } from '../test/support/stack';

let mock: ChildProcess;
let mockUrl: string;
let stack: TestStack;
let realUrl: string;
const DEV = 'http://localhost:3000';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  mock = spawn('bash', ['scripts/mock.sh', 'gateway', String(port)], { stdio: 'ignore', detached: true, env: { ...process.env, CORS_ALLOWED_ORIGINS: 'https://console.example' } });
  mockUrl = `http://127.0.0.1:${port}`;
  stack = await startTestStack(['gateway'], { CORS_ALLOWED_ORIGINS: `https://console.example,${DEV}` });
  realUrl = stack.url('gateway');
  for (let i = 0; ; i++) {
    try {
      await fetch(`${mockUrl}/__probe__`);
      break;
    } catch {
      if (i > 300) throw new Error('the mock did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
after(async () => {
  try { process.kill(-mock.pid!, 'SIGTERM'); } catch { /* gone */ }
  await stack?.close();
});

const preflight = async (base: string, path: string, origin: string, method: string, headers: string) => {
  const r = await fetch(`${base}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });
  const h = (n: string) => r.headers.get(n);
  return { ok: r.status === 204, origin: h('access-control-allow-origin'), methods: h('access-control-allow-methods'), headers: h('access-control-allow-headers'), credentials: h('access-control-allow-credentials') };
};

test('preflights: the mock answers what the real gateway answers', async () => {
  for (const [path, method, origin, headers] of [
    ['/v1/widget/session:init', 'POST', 'https://shop.example', 'content-type'],
    ['/v1/runs', 'POST', DEV, 'authorization,content-type'],
    ['/v1/workspaces/auto', 'POST', 'https://console.example', 'authorization,content-type'],
    ['/v1/workspaces/auto', 'POST', 'https://evil.example', 'authorization,content-type'],
    ['/v1/runs/run_01J9ZK6G9H0J1K2M3N4P5Q6R7S', 'GET', DEV, 'authorization'],
  ] as const) {
    const [m, r] = await Promise.all([preflight(mockUrl, path, origin, method, headers), preflight(realUrl, path, origin, method, headers)]);
    assert.deepEqual(m, r, `${method} ${path} from ${origin}`);
    assert.equal(m.credentials, null, 'never credentials');
  }
});

test('answers: the mock exposes the same headers and reads like the real service', async () => {
  const m = await fetch(`${mockUrl}/v1/widget/session:init`, {
    method: 'POST',
    headers: { origin: DEV, 'content-type': 'application/json' },
    body: JSON.stringify({ instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', visitorId: 'vis_5f2c9a7e1b', locale: 'en' }),
  });
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('access-control-allow-origin'), DEV);
  assert.equal(m.headers.get('access-control-allow-credentials'), null);
  const exposed = (m.headers.get('access-control-expose-headers') ?? '').toLowerCase();
  for (const h of ['retry-after', 'x-request-id', 'x-gateway-overhead-ms', 'server-timing']) assert.ok(exposed.includes(h), h);
  const foreign = await fetch(`${mockUrl}/v1/workspaces/auto`, { method: 'POST', headers: { origin: 'https://evil.example', authorization: 'Bearer x', 'content-type': 'application/json' }, body: '{}' });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'a foreign origin reads nothing, as with the real gateway');
});
