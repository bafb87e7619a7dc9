/**
 * What the gateway serves to browsers beside its API (built by `npm run build:widget` into
 * web/dist/, see scripts/build-web.ts):
 *
 *   GET /widget.js                the embeddable widget, latest build: 5-minute cache + ETag
 *   GET /widget/<hash>.js         the same bytes, immutable for a year (pin it with the README's
 *                                 `integrity` hash); both `Access-Control-Allow-Origin: *` so
 *                                 `<script crossorigin="anonymous" integrity=…>` works anywhere
 *   GET /chat/{instanceId}        the hosted chat page (chat_ui): HTML + a JSON config block, a CSP
 *                                 without 'unsafe-inline' or eval
 *   GET /chat/app-<hash>.js       its script, immutable
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { devIssuerUrl } from '../identity';
import type { Config } from '../platform/config';
import { AppError } from '../platform/errors';
import { sendAsset } from '../platform/http/docs';
import { projectPath } from '../platform/paths';

// From the project root, so the same path holds from src/ and from the dist/ build.
const DIST = projectPath('web', 'dist') + '/';
const YEAR = 'public, max-age=31536000, immutable';

interface Manifest {
  version: string;
  bundles: Record<'widget' | 'chat', { file: string; immutablePath: string; integrity: string }>;
}

interface Built {
  etag: string;
  body: Buffer;
  type: string;
  cacheControl: string;
}

const js = (body: Buffer, cacheControl: string, integrity: string): Built => ({
  body,
  cacheControl,
  type: 'application/javascript; charset=utf-8',
  etag: `"${integrity.slice('sha384-'.length, 'sha384-'.length + 27)}"`,
});

export function loadWebManifest(): Manifest {
  try {
    return JSON.parse(readFileSync(`${DIST}manifest.json`, 'utf8')) as Manifest;
  } catch (err) {
    throw new Error('web/dist/manifest.json is missing: run `npm run build:widget`', { cause: err });
  }
}

export interface WebPagesOptions {
  config: Config;
  /** Where the browser reaches the Control Plane (instance, wallet; and the dev issuer). */
  controlPlaneUrl: () => string;
}

const escapeJsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

export function webPages(opts: WebPagesOptions): (k: Koa.Context) => boolean {
  const manifest = loadWebManifest();
  const widget = manifest.bundles.widget;
  const chat = manifest.bundles.chat;
  const widgetBytes = readFileSync(`${DIST}${widget.file}`);
  const chatBytes = readFileSync(`${DIST}${chat.file}`);
  const widgetLatest = js(widgetBytes, 'public, max-age=300, must-revalidate', widget.integrity);
  const widgetPinned = js(widgetBytes, YEAR, widget.integrity);
  const chatPinned = js(chatBytes, YEAR, chat.integrity);
  const scriptHeaders = { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin', 'X-Widget-Version': manifest.version };
  const { config } = opts;

  function oidcEndpoints() {
    const issuer = config.oidc.issuer ?? devIssuerUrl(opts.controlPlaneUrl());
    return { authorizationEndpoint: `${issuer}/protocol/openid-connect/auth`, tokenEndpoint: `${issuer}/protocol/openid-connect/token` };
  }

  function chatPage(k: Koa.Context, instanceId: string) {
    const oidc = oidcEndpoints();
    const cp = opts.controlPlaneUrl().replace(/\/+$/, '');
    const pageConfig = {
      instanceId,
      controlPlaneUrl: cp,
      oidc: { ...oidc, clientId: config.chat.clientId, scope: 'openid profile email' },
      ...(config.chat.topUpUrl ? { topUpUrl: config.chat.topUpUrl } : {}),
      ...(!config.chat.topUpUrl && config.env !== 'production'
        ? { devTopUp: 'Development stack: top up with `npm run saleor:send-order -- --email <your e-mail> --credits 500` (a signed credit-pack order, as Saleor sends it). Set TOPUP_URL to link your storefront instead.' }
        : {}),
    };
    const connect = new Set(["'self'", new URL(cp).origin, new URL(oidc.tokenEndpoint).origin]);
    const csp = [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src ${[...connect].join(' ')}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    k.status = 200;
    k.type = 'text/html; charset=utf-8';
    k.set('Cache-Control', 'no-store');
    k.set('Content-Security-Policy', csp);
    k.set('Referrer-Policy', 'no-referrer');
    k.set('X-Content-Type-Options', 'nosniff');
    k.body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat</title>
<link rel="icon" href="data:,">
<script type="application/json" id="chat-config">${escapeJsonForHtml(pageConfig)}</script>
<script src="${chat.immutablePath}" integrity="${chat.integrity}" defer></script>
</head>
<body>
<main id="app" aria-live="polite">Loading…</main>
<noscript>This chat needs JavaScript.</noscript>
</body>
</html>
`;
  }

  return (k) => {
    if (k.method !== 'GET' && k.method !== 'HEAD') return false;
    const p = k.path;
    if (p === '/widget.js') {
      sendAsset(k, widgetLatest, scriptHeaders);
      return true;
    }
    if (p === widget.immutablePath) {
      sendAsset(k, widgetPinned, scriptHeaders);
      return true;
    }
    if (p === chat.immutablePath) {
      sendAsset(k, chatPinned);
      return true;
    }
    if (p.startsWith('/widget/') || p.startsWith('/chat/app-')) {
      throw new AppError('NOT_FOUND', 'No such build: use /widget.js or the path in the README');
    }
    const m = /^\/chat\/([^/]+)$/.exec(p);
    if (m) {
      if (!/^inst_[A-Za-z0-9]{8,40}$/.test(m[1]!)) throw new AppError('NOT_FOUND', 'No such instance');
      chatPage(k, m[1]!);
      return true;
    }
    return false;
  };
}
