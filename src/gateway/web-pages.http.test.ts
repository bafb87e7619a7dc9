/**
 * What the gateway serves browsers beside the API, over HTTP: the widget script (latest and
 * pinned builds, their caching, SRI-matching bytes, readable from any origin), the hosted chat page
 * (strict CSP, its config, unknown paths), and every service's /openapi.json and /docs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { SERVICE_NAMES } from '../stack';
import { startTestStack, type TestStack } from '../../test/support/stack';
import { loadWebManifest } from './web-pages';

let stack: TestStack;
let gw: string;
const manifest = loadWebManifest();

before(async () => {
  stack = await startTestStack([...SERVICE_NAMES], { TOPUP_URL: 'https://store.example/credits' });
  gw = stack.url('gateway');
});
after(async () => stack?.close());

const sri = (bytes: ArrayBuffer) => `sha384-${createHash('sha384').update(Buffer.from(bytes)).digest('base64')}`;

test('/widget.js: the latest build, revalidated every 5 minutes, readable cross-origin, its bytes match the published integrity', async () => {
  const r = await fetch(`${gw}/widget.js`, { headers: { origin: 'https://shop.example' } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^application\/javascript/);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=300, must-revalidate');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('access-control-allow-credentials'), null);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(sri(await r.arrayBuffer()), manifest.bundles.widget.integrity);
  const again = await fetch(`${gw}/widget.js`, { headers: { 'if-none-match': r.headers.get('etag')! } });
  assert.equal(again.status, 304);
});

test('/widget/<hash>.js: the same bytes, cached for a year as immutable; another hash is 404', async () => {
  const r = await fetch(`${gw}${manifest.bundles.widget.immutablePath}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(sri(await r.arrayBuffer()), manifest.bundles.widget.integrity);
  const stale = await fetch(`${gw}/widget/0000000000000000.js`);
  assert.equal(stale.status, 404);
  assert.equal((await stale.json()).error.code, 'NOT_FOUND');
});

test('the widget bundle has no eval and no inline-style markup (it runs under a strict CSP)', () => {
  const code = readFileSync(new URL('../../web/dist/widget.js', import.meta.url), 'utf8');
  assert.ok(!/\beval\(|new Function\(/.test(code));
  assert.ok(!/style="/.test(code));
});

test('/chat/{instanceId}: a page with a strict CSP and its sign-in configuration; bad ids are 404', async () => {
  const id = 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P';
  const r = await fetch(`${gw}/chat/${id}`);
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy')!;
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  assert.match(csp, new RegExp(`connect-src 'self' ${new URL(stack.url('control-plane')).origin}`));
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const html = await r.text();
  const config = JSON.parse(/<script type="application\/json" id="chat-config">(.*?)<\/script>/s.exec(html)![1]!);
  assert.equal(config.instanceId, id);
  assert.equal(config.oidc.clientId, 'agent-store-chat');
  assert.equal(config.oidc.authorizationEndpoint, `${stack.url('control-plane')}/dev-oidc/realms/agent-store/protocol/openid-connect/auth`);
  assert.equal(config.topUpUrl, 'https://store.example/credits');
  assert.match(html, new RegExp(`<script src="${manifest.bundles.chat.immutablePath}" integrity="${manifest.bundles.chat.integrity.replace(/[+/]/g, '\\$&')}" defer>`));
  for (const bad of ['not-an-instance', 'inst_<script>']) {
    const x = await fetch(`${gw}/chat/${encodeURIComponent(bad)}`);
    assert.equal(x.status, 404, bad);
  }
});

test('every service serves its bundled spec at /openapi.json and a Redoc page at /docs (no CDN, strict CSP)', async () => {
  for (const service of SERVICE_NAMES) {
    const base = stack.url(service);
    const spec = await fetch(`${base}/openapi.json`);
    assert.equal(spec.status, 200, service);
    assert.equal(spec.headers.get('access-control-allow-origin'), '*');
    const doc = await spec.json();
    assert.equal(doc.openapi, '3.0.3');
    assert.ok(Object.keys(doc.paths).length > 0);
    const page = await fetch(`${base}/docs`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self';/);
    assert.ok(!csp.includes('unsafe-eval'));
    const html = await page.text();
    assert.match(html, /<script src="docs\/redoc.standalone.js"><\/script>/);
    assert.ok(!/https?:\/\//.test(html), 'nothing loaded from another host');
    const redoc = await fetch(`${base}/docs/redoc.standalone.js`);
    assert.equal(redoc.status, 200);
    assert.ok(Number(redoc.headers.get('content-length') ?? (await redoc.arrayBuffer()).byteLength) > 100_000);
  }
});
