/**
 * Every service shows the contract it runs: `GET /openapi.json` is its bundled spec (the file
 * `npm run gen` writes to generated/openapi/, as JSON), `GET /docs` renders it with Redoc, whose
 * standalone bundle is served from the `redoc` npm package (`/docs/redoc.standalone.js`) — no CDN.
 * The page has no inline script: a CSP with `script-src 'self'` holds (Redoc injects styles and
 * runs its search index in a blob: worker, which the policy allows). Redoc's sidebar credit asks
 * for its logo at cdn.redoc.ly; `img-src 'self' data:` blocks that and Redoc hides the image, so
 * the page makes no request off the service.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Koa from 'koa';

const require = createRequire(import.meta.url);

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  'worker-src blob:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  etag: string;
  type: string;
  cacheControl: string;
}

function asset(body: Buffer | string, type: string, cacheControl: string): Asset {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return { body: buf, type, cacheControl, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 27)}"` };
}

/** Answers an asset with its ETag (304 when the browser has it). */
export function sendAsset(k: Koa.Context, a: Asset, extraHeaders: Record<string, string> = {}): void {
  k.set('Cache-Control', a.cacheControl);
  k.set('ETag', a.etag);
  k.set('X-Content-Type-Options', 'nosniff');
  for (const [h, v] of Object.entries(extraHeaders)) k.set(h, v);
  if (k.get('If-None-Match') === a.etag) {
    k.status = 304;
    return;
  }
  k.status = 200;
  k.type = a.type;
  k.body = a.body;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let redocBundle: Asset | undefined;
function redoc(): Asset {
  redocBundle ??= asset(readFileSync(require.resolve('redoc/bundles/redoc.standalone.js')), 'application/javascript; charset=utf-8', 'public, max-age=86400');
  return redocBundle;
}

const INIT_JS = `// Renders /openapi.json with Redoc (served beside this file).
Redoc.init('openapi.json', { hideDownloadButton: false, expandResponses: '200,201', pathInMiddlePanel: true, disableSearch: false }, document.getElementById('redoc'));
`;

/**
 * A route for `/openapi.json`, `/docs`, `/docs/redoc.standalone.js` and `/docs/init.js`; returns
 * true when it answered. `definition` is the bundled spec as loaded (before dereferencing).
 */
export function docsRoutes(service: string, definition: unknown): (k: Koa.Context) => boolean {
  const spec = asset(JSON.stringify(definition), 'application/json; charset=utf-8', 'no-cache');
  const title = (definition as { info?: { title?: string } }).info?.title ?? service;
  const page = asset(
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — API docs</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; }</style>
</head>
<body>
<div id="redoc" data-spec="openapi.json"></div>
<script src="docs/redoc.standalone.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`,
    'text/html; charset=utf-8',
    'no-cache',
  );
  const init = asset(INIT_JS, 'application/javascript; charset=utf-8', 'no-cache');
  return (k) => {
    if (k.method !== 'GET' && k.method !== 'HEAD') return false;
    switch (k.path) {
      case '/openapi.json':
        // The contract is public: any origin may read it (frontend tooling, codegen in the browser).
        sendAsset(k, spec, { 'Access-Control-Allow-Origin': '*' });
        return true;
      case '/docs':
        sendAsset(k, page, { 'Content-Security-Policy': DOCS_CSP, 'Referrer-Policy': 'no-referrer' });
        return true;
      case '/docs/redoc.standalone.js':
        sendAsset(k, redoc());
        return true;
      case '/docs/init.js':
        sendAsset(k, init);
        return true;
      default:
        return false;
    }
  };
}
