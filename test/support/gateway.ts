/** Helpers for gateway tests: buyers with workspaces, active demo instances, wallet reads, runs. */
import assert from 'node:assert/strict';
import { http, type HttpAnswer, type TestStack } from './stack';

export interface Buyer {
  email: string;
  token: string;
  orgId: string;
  projectId: string;
  walletId: string;
}

export async function buyer(stack: TestStack, email: string): Promise<Buyer> {
  const token = await stack.userToken(email);
  const ws = await http('POST', `${stack.url('control-plane')}/orgs/auto`, { token, body: {} });
  assert.ok(ws.status === 201 || ws.status === 200, JSON.stringify(ws.body));
  return { email, token, orgId: ws.body.org.id, projectId: ws.body.project.id, walletId: ws.body.wallet.id };
}

export async function publishedVersion(stack: TestStack, slug: string): Promise<{ offeringId: string; versionId: string }> {
  const list = await http('GET', `${stack.url('control-plane')}/offerings?limit=50`);
  const offering = list.body.items.find((o: any) => o.slug === slug);
  assert.ok(offering, `demo offering ${slug} is published`);
  return { offeringId: offering.id, versionId: offering.publishedVersionId };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000, everyMs = 25): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The same user (the token's subject and e-mail) holding the platform operator realm role. */
async function operatorTokenOf(stack: TestStack, who: Buyer): Promise<string> {
  const claims = JSON.parse(Buffer.from(who.token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; email?: string };
  return stack.identity.devIssuer!.mint({ kind: 'user', subject: claims.sub, email: claims.email ?? who.email, roles: ['platform-operator'], audience: stack.config.oidc.audience, clientId: 'storefront' });
}

/** An active instance of a demo offering in the buyer's project. */
export async function activeInstance(
  stack: TestStack,
  who: Buyer,
  opts: { slug?: string; planId?: 'starter' | 'pro' | 'enterprise'; configOverrides?: Record<string, Record<string, unknown>>; key?: string } = {},
): Promise<string> {
  const cp = stack.url('control-plane');
  const { versionId } = await publishedVersion(stack, opts.slug ?? 'support-assistant');
  // Paid plans and operator-only config fields are set by a platform operator (a buyer starts only
  // trial plans and buyer-settable fields); the operator acts as the same user, in the same project.
  const operatorNeeded = (opts.planId ?? 'pro') !== 'starter' || opts.configOverrides !== undefined;
  const created = await http('POST', `${cp}/instances`, {
    token: operatorNeeded ? await operatorTokenOf(stack, who) : who.token,
    headers: { 'idempotency-key': opts.key ?? `inst-${who.projectId}-${opts.slug ?? 'sa'}-${opts.planId ?? 'pro'}-${Math.random().toString(36).slice(2)}` },
    body: { projectId: who.projectId, offeringVersionId: versionId, planId: opts.planId ?? 'pro', ...(opts.configOverrides ? { configOverrides: opts.configOverrides } : {}) },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  // Generous: on a loaded CI box the built-in reconciler can take many seconds (bench:purchase measures it).
  await waitFor('instance active', async () => ((await http('GET', `${cp}/instances/${id}`, { token: who.token })).body.state === 'active' ? true : undefined), 45_000, 50);
  return id;
}

/** The wallet's money fields (bookkeeping fields such as updatedAt left out, so two reads compare). */
export async function wallet(stack: TestStack, who: Buyer): Promise<{ balance: number; reserved: number; available: number; paidBalance: number; grantedBalance: number }> {
  const w = await http('GET', `${stack.url('control-plane')}/wallets/${who.walletId}`, { token: who.token });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  const { balance, reserved, available, paidBalance, grantedBalance } = w.body;
  return { balance, reserved, available, paidBalance, grantedBalance };
}

export async function ledger(stack: TestStack, who: Buyer): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const page: HttpAnswer = await http('GET', `${stack.url('control-plane')}/wallets/${who.walletId}/ledger?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: who.token });
    assert.equal(page.status, 200, JSON.stringify(page.body));
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return items;
}

/** Holds credits on the buyer's wallet the way another gateway's in-flight runs would (an open reservation). */
export async function hold(stack: TestStack, instanceId: string, amount: number): Promise<string> {
  const gw = await stack.serviceToken('gateway');
  const runId = `run_HOLD${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const r = await http('POST', `${stack.url('control-plane')}/billing/authorize`, {
    token: gw,
    headers: { 'idempotency-key': `authz:${runId}` },
    body: { instanceId, estimatedBudget: amount, runId, ttlSeconds: 3600 },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.reservationId;
}

export function run(stack: TestStack, opts: { token?: string; apiKey?: string; origin?: string; instanceId: string; text?: string; body?: Record<string, unknown>; headers?: Record<string, string> }): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
  if (opts.origin) headers.origin = opts.origin;
  return http('POST', `${stack.url('gateway')}/v1/runs`, {
    token: opts.token,
    headers,
    body: { instanceId: opts.instanceId, input: { text: opts.text ?? 'How do I return an item?' }, ...opts.body },
  });
}

/**
 * Publishes a copy of a demo offering under `slug` with its capabilities and plans changed by
 * `change` (what a publisher authors: offering-level defaults, plan defaults and limits), through
 * the control plane's authoring operations; instances of it start with activeInstance({ slug }).
 */
export async function publishVariant(
  stack: TestStack,
  slug: string,
  change: (v: { capabilities: any[]; plans: any[] }) => void,
  demo = 'support-assistant',
): Promise<string> {
  const { DEMO_OFFERINGS, demoFlow } = await import('../../src/catalog/demo-seed');
  const source = DEMO_OFFERINGS.find((o) => o.listing.slug === demo)!;
  const cp = stack.url('control-plane');
  const publisher = await stack.userToken(`publisher-${slug}@example.com`, ['publisher-admin']);
  const v = structuredClone({ capabilities: source.capabilities as any[], plans: source.plans as any[] });
  for (const p of v.plans) p.priceRef = { sku: `${slug}-${p.id}` };
  change(v);
  const listing = { ...source.listing, slug, saleorProductId: undefined };
  const offering = await http('POST', `${cp}/offerings`, { token: publisher, body: JSON.parse(JSON.stringify(listing)) });
  assert.equal(offering.status, 201, JSON.stringify(offering.body));
  const version = await http('POST', `${cp}/offerings/${offering.body.id}/versions`, { token: publisher, body: { version: '1.0.0', flow: demoFlow(source.flowFile), capabilities: v.capabilities, plans: v.plans } });
  assert.equal(version.status, 201, JSON.stringify(version.body));
  const certified = await http('POST', `${cp}/offerings/${offering.body.id}/versions/${version.body.id}/certify`, { token: publisher });
  assert.equal(certified.body.status, 'passed', JSON.stringify(certified.body));
  const live = await http('POST', `${cp}/offerings/${offering.body.id}/transitions`, { token: publisher, body: { to: 'published', versionId: version.body.id } });
  assert.equal(live.status, 200, JSON.stringify(live.body));
  return version.body.id as string;
}
