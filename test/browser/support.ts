/**
 * Browser tests: Debian's Chromium (`apt-get install -y chromium`, as `.ci/run` does) driven by
 * playwright-core — no browser download. A missing browser fails the suite with the command to
 * fix it; it never skips. Screenshots go to test-results/screenshots/ (the README names it).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path: file });
  return file;
}

export function record(name: string, value: unknown): void {
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(`${SCREENSHOTS}${name}.json`, JSON.stringify(value, null, 2) + '\n');
}

/** A host page on its own origin (127.0.0.1:<port>): `/` answers `html()`, `/host.css` the page's own CSS. */
export async function hostPage(html: (origin: string) => string, headers: (origin: string) => Record<string, string> = () => ({})): Promise<{ origin: string; close(): Promise<void> }> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/host.css') {
      res.writeHead(200, { 'content-type': 'text/css' });
      // A hostile stylesheet: the widget lives in a shadow root, so none of this reaches it.
      res.end('* { font-family: "Comic Sans MS", cursive !important; color: #d00 !important; } button { display: none !important; } li { background: lime !important; } body { background: #fafaf0; }');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers(origin) });
    res.end(html(origin));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The README's example host page: one script tag, plus a strict CSP that still lets the widget run. */
export function embedPage(gateway: string, instanceId: string, title = 'ACME Shoes — help'): (origin: string) => string {
  return () => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<link rel="stylesheet" href="/host.css"></head>
<body><h1>${title}</h1><p>Our shop's page. The chat is in the corner.</p>
<script src="${gateway}/widget.js" data-instance="${instanceId}" async></script>
</body></html>`;
}

export const strictCsp = (gateway: string) => () => ({
  'content-security-policy': `default-src 'none'; script-src ${gateway}; connect-src ${gateway}; style-src 'self'; img-src 'self' data:`,
});
