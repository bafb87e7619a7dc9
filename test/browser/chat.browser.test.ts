/**
 * The hosted chat page in Chromium: `/chat/{instanceId}` → Sign in → the development issuer's
 * login form (authorization code + PKCE, Keycloak's endpoints) → back on the page signed in →
 * a message is answered with the credits it cost and the balance after it → a reload keeps the
 * conversation (sessions API). Screenshots: test-results/screenshots/chat-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { devUserSubject } from '../../src/identity';
import { activeInstance, type Buyer } from '../support/gateway';
import { http, startTestStack, type TestStack } from '../support/stack';
import { launchChromium, record, screenshot } from './support';

const EMAIL = 'chat-buyer@example.com';
let stack: TestStack;
let browser: Browser;
let gw: string;
let cp: string;
let member: Buyer;
let instanceId: string;
const timings: Record<string, number> = {};

before(async () => {
  browser = await launchChromium();
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1' });
  gw = stack.url('gateway');
  cp = stack.url('control-plane');
  // The same Keycloak subject the browser sign-in will carry (the dev issuer derives it from the e-mail).
  const token = await stack.identity.devIssuer!.mint({ kind: 'user', subject: devUserSubject(EMAIL), email: EMAIL, audience: stack.config.oidc.audience, clientId: stack.config.chat.clientId });
  const ws = await http('POST', `${cp}/orgs/auto`, { token, body: {} });
  assert.ok(ws.status === 200 || ws.status === 201, JSON.stringify(ws.body));
  member = { email: EMAIL, token, orgId: ws.body.org.id, projectId: ws.body.project.id, walletId: ws.body.wallet.id };
  instanceId = await activeInstance(stack, member, {
    configOverrides: { chat_ui: { welcomeMessage: 'Welcome! Ask me anything about your orders.', suggestedPrompts: ['Where is my order?', 'How do I return an item?'] } },
  });
  await http('PATCH', `${cp}/instances/${instanceId}`, { token, body: { name: 'Support Assistant' } });
});

after(async () => {
  record('chat-timings', timings);
  await browser?.close();
  await stack?.close();
});

async function available(): Promise<number> {
  const w = await http('GET', `${cp}/wallets/${member.walletId}`, { token: member.token });
  return w.body.available;
}

async function signIn(page: Page) {
  await page.goto(`${gw}/chat/${instanceId}`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await screenshot(page, 'chat-1-sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('E-mail').waitFor();
  assert.ok(page.url().startsWith(`${cp}/dev-oidc/realms/agent-store/protocol/openid-connect/auth?`), page.url());
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('response_type'), 'code');
  await page.getByLabel('E-mail').fill(EMAIL);
  await page.getByLabel('Name (optional)').fill('Chat Buyer');
  await screenshot(page, 'chat-2-dev-login');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Support Assistant' }).waitFor();
  assert.equal(new URL(page.url()).search, '', 'the code and state are gone from the address bar');
}

test('sign in with the dev issuer (code + PKCE), chat, see the cost and the balance drop', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
  });
  await signIn(page);

  const before = await available();
  await page.locator('.balance', { hasText: String(before) }).waitFor();
  await page.getByText('Welcome! Ask me anything about your orders.').waitFor();
  await screenshot(page, 'chat-3-signed-in');

  await page.getByRole('textbox', { name: 'Your message' }).fill('How do I return an item?');
  const sent = performance.now();
  await page.getByRole('button', { name: 'Send' }).click();
  const cost = page.locator('li.assistant .cost').first();
  await cost.waitFor();
  timings.chatTimeToFirstAnswerMs = Math.round(performance.now() - sent);
  const charged = Number((await cost.textContent())!.split(' ')[0]);
  assert.ok(charged > 0, 'the answer shows what it cost');
  const after = await available();
  assert.equal(after, before - charged, 'the wallet dropped by the credits shown');
  await page.locator('.balance', { hasText: String(after) }).waitFor();
  await screenshot(page, 'chat-4-answered');
  assert.deepEqual(errors, [], 'no console errors, no CSP violations');
  await page.close();
});

test('a reload keeps the conversation (history from the gateway\'s sessions API)', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await signIn(page);
  await page.getByRole('textbox', { name: 'Your message' }).fill('Where is my order?');
  // The answer to this message (the conversation may already hold earlier answers with costs),
  // counted before sending: a fast answer may be on the page before a count taken after it.
  const answered = page.locator('li.assistant .cost');
  await page.waitForLoadState('networkidle'); // the earlier conversation is on the page, the form is live
  const before = await answered.count();
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('li.assistant .cost').length > n, before);
  await page.reload();
  await page.getByRole('heading', { name: 'Support Assistant' }).waitFor();
  await page.locator('li.user', { hasText: 'Where is my order?' }).waitFor({ timeout: 30_000 });
  await page.locator('li.assistant .cost').first().waitFor();
  await screenshot(page, 'chat-5-after-reload');
  await page.close();
});

test('a token never reaches localStorage, and signing out forgets it', async () => {
  const page = await browser.newPage();
  await signIn(page);
  const local = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!local.includes('eyJ'), 'no token in localStorage');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const session = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  assert.ok(!session.includes('eyJ'), 'signed out: no token kept');
  await page.close();
});

test('chat_ui.showCredits off: answers come without their cost', async () => {
  const off = await http('PATCH', `${cp}/instances/${instanceId}`, { token: member.token, body: { configOverrides: { chat_ui: { showCredits: false } } } });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  // The gateway caches entitlements for up to ENTITLEMENTS_TTL_SECONDS (5 s).
  await new Promise((r) => setTimeout(r, 5_500));
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  await signIn(page);
  await page.getByRole('textbox', { name: 'Your message' }).fill('Do you ship abroad?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('li.assistant', { hasText: 'ship abroad' }).last().waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('li.assistant .cost').count(), 0, 'no answer shows a cost');
  await screenshot(page, 'chat-6-no-credits');
  await page.close();
  const on = await http('PATCH', `${cp}/instances/${instanceId}`, { token: member.token, body: { configOverrides: { chat_ui: { showCredits: true } } } });
  assert.equal(on.status, 200);
});
