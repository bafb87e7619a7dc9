/**
 * The widget in Chromium, as a visitor meets it: a host page on another origin (with a strict CSP
 * and a hostile stylesheet) embeds `<script src="…/widget.js" data-instance=…>`, sends a message,
 * sees the answer while the owner's wallet drops by the run's charge; a foreign origin sees the
 * refusal and no request succeeds; a slow gateway and a paused instance show a status, not a broken
 * page; keyboard, screen-reader roles and the mobile layout. Screenshots: test-results/screenshots/.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { activeInstance, buyer, hold, type Buyer } from '../support/gateway';
import { http, startTestStack, type TestStack } from '../support/stack';
import { embedPage, hostPage, launchChromium, record, screenshot, strictCsp } from './support';

let stack: TestStack;
let browser: Browser;
let gw: string;
let cp: string;
let owner: Buyer;
let instanceId: string;
let shop: Awaited<ReturnType<typeof hostPage>>;
let foreign: Awaited<ReturnType<typeof hostPage>>;
const timings: Record<string, number> = {};

before(async () => {
  browser = await launchChromium();
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  gw = stack.url('gateway');
  cp = stack.url('control-plane');
  // The host pages first: the instance's allow-list names the shop's origin.
  let gatewayForPages = '';
  shop = await hostPage((o) => embedPage(gatewayForPages, instanceId)(o), () => strictCsp(gatewayForPages)());
  foreign = await hostPage((o) => embedPage(gatewayForPages, instanceId, 'Somebody else\'s site')(o), () => strictCsp(gatewayForPages)());
  gatewayForPages = gw;
  owner = await buyer(stack, 'widget-browser@example.com');
  instanceId = await activeInstance(stack, owner, {
    configOverrides: { web_widget: { allowedOrigins: [shop.origin], branding: { title: 'ACME Help', primaryColor: '#0f766e', greeting: 'Hi! Ask me about returns or shipping.' } } },
  });
});

after(async () => {
  record('widget-timings', timings);
  await browser?.close();
  await shop?.close();
  await foreign?.close();
  await stack?.close();
});

async function balance(): Promise<number> {
  const w = await http('GET', `${cp}/wallets/${owner.walletId}`, { token: owner.token });
  assert.equal(w.status, 200);
  return w.body.balance;
}

/** Every answer the page got from the gateway's API (not the script itself). */
function apiResponses(page: Page): Response[] {
  const seen: Response[] = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${gw}/v1/`)) seen.push(r);
  });
  return seen;
}

const launcher = (page: Page) => page.locator('[data-agent-store-widget] .launcher');
const panel = (page: Page) => page.locator('[data-agent-store-widget] .panel');

test('on an allowed site the widget answers a message and the wallet drops by the run\'s charge', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  const api = apiResponses(page);
  const before = await balance();

  await page.goto(shop.origin);
  await launcher(page).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-agent-store-widget]')?.shadowRoot?.querySelector('.launcher')?.getAttribute('aria-label')?.includes('ACME Help'));
  await screenshot(page, 'widget-1-closed');
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] li.assistant', { hasText: 'Ask me about returns' }).waitFor();
  assert.equal(await page.locator('[data-agent-store-widget] #as-title').textContent(), 'ACME Help');
  await screenshot(page, 'widget-2-open');

  await page.locator('[data-agent-store-widget] textarea').fill('How do I return an item?');
  const sent = performance.now();
  await page.keyboard.press('Enter');
  const answer = page.locator('[data-agent-store-widget] li.assistant').nth(1);
  await page.waitForFunction(() => {
    const items = document.querySelector('[data-agent-store-widget]')?.shadowRoot?.querySelectorAll('li.assistant');
    return items && items.length > 1 && !items[1]!.classList.contains('pending') && (items[1]!.textContent ?? '').length > 0;
  });
  timings.widgetTimeToFirstAnswerMs = Math.round(performance.now() - sent);
  const text = (await answer.textContent()) ?? '';
  assert.ok(text.length > 0, 'an answer is shown');
  await screenshot(page, 'widget-3-answer');

  const run = api.find((r) => r.url() === `${gw}/v1/runs`);
  assert.ok(run, 'the widget called POST /v1/runs');
  assert.equal(run.status(), 200);
  // The widget asks for a stream when the gateway offers one: the run's result is its `done` event.
  const result = (run.headers()['content-type'] ?? '').startsWith('text/event-stream') ? doneEvent(await run.text()) : await run.json();
  assert.equal(result.output.text, text, 'the answer shown is the run\'s output');
  assert.ok(result.billing.creditsCharged > 0);
  assert.equal(await balance(), before - result.billing.creditsCharged, 'the wallet dropped by exactly the charge');
  assert.deepEqual(errors, [], 'no console errors, no CSP violations');

  // The page's hostile CSS did not reach into the widget.
  const color = await page.locator('[data-agent-store-widget] li.user').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(color, 'rgb(15, 118, 110)', 'branding colour, not the page\'s lime');

  // The token is in sessionStorage (this tab, until it expires), never in localStorage.
  const stored = await page.evaluate(() => ({ local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }) }));
  assert.ok(!stored.local.includes('eyJ'), 'no token in localStorage');
  assert.ok(stored.session.includes('eyJ'), 'the session token is kept for this tab');

  // A reload continues the conversation without a new session.
  const initsBefore = api.filter((r) => r.url().endsWith('/v1/widget/session:init')).length;
  await page.reload();
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] li.user', { hasText: 'How do I return an item?' }).waitFor();
  assert.equal(api.filter((r) => r.url().endsWith('/v1/widget/session:init')).length, initsBefore, 'the stored session is reused');
  await page.close();
});

test('keyboard and screen reader: a labelled launcher, a dialog with a live log; Escape closes and returns focus', async () => {
  const page = await browser.newPage();
  await page.goto(shop.origin);
  await page.waitForFunction(() => document.querySelector('[data-agent-store-widget]')?.shadowRoot?.querySelector('.launcher')?.getAttribute('aria-label')?.includes('ACME Help'));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.querySelector('[data-agent-store-widget]')?.shadowRoot?.activeElement?.className), 'launcher');
  await page.keyboard.press('Enter');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
  assert.equal(await panel(page).getAttribute('role'), 'dialog');
  assert.equal(await page.locator('[data-agent-store-widget] .log').getAttribute('role'), 'log');
  assert.equal(await page.evaluate(() => document.querySelector('[data-agent-store-widget]')?.shadowRoot?.activeElement?.tagName), 'TEXTAREA', 'focus moves to the message box');
  const snapshot = await page.locator('[data-agent-store-widget] .panel').ariaSnapshot();
  assert.match(snapshot, /dialog "ACME Help"/);
  assert.match(snapshot, /textbox "Your message"/);
  assert.match(snapshot, /button "Close chat"/);
  await page.keyboard.press('Escape');
  assert.equal(await panel(page).isHidden(), true);
  assert.equal(await page.evaluate(() => document.querySelector('[data-agent-store-widget]')?.shadowRoot?.activeElement?.className), 'launcher', 'focus returns to the launcher');
  await page.close();
});

test('on a phone the open panel fills the screen', async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await page.goto(shop.origin);
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] li.assistant').first().waitFor();
  const box = await panel(page).boundingBox();
  assert.ok(box && box.width === 375 && box.height === 720 && box.x === 0 && box.y === 0, JSON.stringify(box));
  await screenshot(page, 'widget-4-mobile');
  await page.close();
});

test('a site that is not on the allow-list sees the refusal, and no request succeeds', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  const api = apiResponses(page);
  await page.goto(foreign.origin);
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] .status', { hasText: "isn't available on this website" }).waitFor();
  await page.locator('[data-agent-store-widget] textarea').fill('Hello?');
  await page.keyboard.press('Enter');
  await page.locator('[data-agent-store-widget] .status', { hasText: "isn't available on this website" }).waitFor();
  await screenshot(page, 'widget-5-refused-origin');
  assert.ok(api.length >= 1, 'the widget asked for a session');
  for (const r of api) assert.ok(r.status() >= 400, `${r.url()} answered ${r.status()}`);
  assert.ok(!api.some((r) => r.url() === `${gw}/v1/runs`), 'no run was even attempted');
  await page.close();
});

test('a slow gateway: the page and launcher render at once, the panel says it is connecting', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/v1/widget/session:init', async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(shop.origin);
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] .status', { hasText: 'Connecting' }).waitFor();
  assert.equal(await page.locator('h1').textContent(), 'ACME Shoes — help', 'the host page is intact');
  await screenshot(page, 'widget-6-slow-gateway');
  release();
  await page.locator('[data-agent-store-widget] li.assistant', { hasText: 'Ask me about returns' }).waitFor();
  assert.equal(await page.locator('[data-agent-store-widget] .status').textContent(), '');
  await page.close();
});

test('an owner out of credits: the visitor is told the assistant can\'t answer now (never about the wallet), and nothing is charged', async () => {
  const w = await http('GET', `${cp}/wallets/${owner.walletId}`, { token: owner.token });
  const reservation = await hold(stack, instanceId, w.body.available);
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(shop.origin);
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] li.assistant', { hasText: 'Ask me about returns' }).waitFor();
  const before = await balance();
  await page.locator('[data-agent-store-widget] textarea').fill('Are you there?');
  await page.keyboard.press('Enter');
  const notice = page.locator('[data-agent-store-widget] li.notice');
  await notice.waitFor();
  assert.equal(await notice.textContent(), "The assistant can't answer right now. Please try again later.");
  await screenshot(page, 'widget-7-out-of-credits');
  assert.equal(await balance(), before);
  await page.close();
  const gwToken = await stack.serviceToken('gateway');
  const voided = await http('POST', `${cp}/billing/void`, { token: gwToken, body: { reservationId: reservation, reason: 'cancelled' } });
  assert.equal(voided.status, 200, JSON.stringify(voided.body));
});

test('a paused instance: the widget loads and says the assistant is paused', async () => {
  const paused = await http('POST', `${cp}/instances/${instanceId}/pause`, { token: owner.token, body: {} });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(shop.origin);
  await launcher(page).click();
  await page.locator('[data-agent-store-widget] .status', { hasText: 'paused' }).waitFor();
  await screenshot(page, 'widget-8-paused');
  await page.close();
  const resumed = await http('POST', `${cp}/instances/${instanceId}/resume`, { token: owner.token, body: {} });
  assert.equal(resumed.status, 200);
});

/** The data of the `done` event of a Server-Sent Events body. */
function doneEvent(body: string): any {
  for (const block of body.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/);
    if (lines.some((l) => l === 'event: done')) return JSON.parse(lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'));
  }
  throw new Error(`no done event in the stream: ${body.slice(0, 300)}`);
}
