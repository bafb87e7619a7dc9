/**
 * `/docs` on every service, in Chromium: Redoc (served from the npm package, under a CSP without
 * 'unsafe-eval' or inline scripts) renders every operation of the service's own `/openapi.json`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { SERVICE_NAMES } from '../../src/stack';
import { startTestStack, type TestStack } from '../support/stack';
import { launchChromium, screenshot } from './support';

let stack: TestStack;
let browser: Browser;

before(async () => {
  browser = await launchChromium();
  stack = await startTestStack([...SERVICE_NAMES]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

for (const service of SERVICE_NAMES) {
  test(`${service}: /docs renders every operation of /openapi.json`, async () => {
    const base = stack.url(service);
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const operationIds = Object.values(spec.paths).flatMap((item) => Object.values(item).map((op) => op?.operationId).filter((id): id is string => !!id));
    assert.ok(operationIds.length > 0);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    // Redoc's sidebar credit tries its logo on cdn.redoc.ly: the CSP blocks it (no request leaves) and Redoc hides it.
    const REDOC_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes(REDOC_LOGO)) problems.push(m.text()); });
    page.on('requestfailed', (r) => { if (!(r.url() === REDOC_LOGO && r.failure()?.errorText === 'csp')) problems.push(`${r.url()} ${r.failure()?.errorText}`); });
    page.on('requestfinished', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) problems.push(`off-site request ${r.url()}`); });
    await page.goto(`${base}/docs`);
    await page.locator('[data-section-id^="operation/"]').first().waitFor({ timeout: 30_000 });
    const rendered = await page.locator('[data-section-id^="operation/"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-section-id')!.slice('operation/'.length)));
    assert.deepEqual([...new Set(rendered)].sort(), [...operationIds].sort(), 'every operation is on the page');
    assert.deepEqual(problems, [], 'no script errors, CSP violations or CDN requests');
    if (service === 'gateway' || service === 'control-plane') await screenshot(page, `docs-${service}`);
    await page.close();
  });
}
