/**
 * The offering the credit-quota suites run on: the Support Assistant demo flow on one trial
 * plan without a daily run limit (instances with one are admitted run by run, never on a quota),
 * and buyers with a funded wallet and an active instance of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { activeInstance, buyer, type Buyer } from './gateway';
import type { Knex } from 'knex';
import { http, type TestStack } from './stack';

/** Publishes the demo flow as `slug` with these capabilities; answers its version id. */
export async function publishQuotaOffering(stack: TestStack, slug: string, capabilities: Record<string, unknown>[]): Promise<string> {
  const cp = stack.url('control-plane');
  const publisher = await stack.userToken(`${slug}-publisher@example.com`, ['publisher-admin']);
  const flow = JSON.parse(readFileSync(new URL('../../demo/flows/support-assistant.json', import.meta.url), 'utf8'));
  const offering = await http('POST', `${cp}/offerings`, { token: publisher, body: { slug, name: `Offering ${slug}`, category: 'assistants', summary: 'The Support Assistant demo flow without a daily limit.', valueStreams: ['customer_support'] } });
  assert.equal(offering.status, 201, JSON.stringify(offering.body));
  const version = await http('POST', `${cp}/offerings/${offering.body.id}/versions`, {
    token: publisher,
    body: {
      version: '1.0.0', flow, capabilities,
      plans: [{ id: 'pro', name: 'Unlimited', trial: true, includedCredits: 0, limits: { rateLimitPerMinute: 10_000, burst: 1_000, runTimeoutMs: 60_000 }, defaults: {} }],
    },
  });
  assert.equal(version.status, 201, JSON.stringify(version.body));
  assert.equal((await http('POST', `${cp}/offerings/${offering.body.id}/versions/${version.body.id}/certify`, { token: publisher, body: {} })).status, 200);
  const published = await http('POST', `${cp}/offerings/${offering.body.id}/transitions`, { token: publisher, body: { to: 'published', versionId: version.body.id } });
  assert.equal(published.status, 200, JSON.stringify(published.body));
  return version.body.id;
}

/** A buyer whose wallet holds `credits` paid credits, with an active instance of `slug` on its `pro` plan. */
export async function fundedBuyer(stack: TestStack, email: string, slug: string, credits = 100_000): Promise<{ who: Buyer; instanceId: string }> {
  const who = await buyer(stack, email);
  const provisioner = await stack.serviceToken('provisioner');
  const key = `${slug}-${email.replace('@', '-')}`;
  const top = await http('POST', `${stack.url('control-plane')}/wallets/${who.walletId}/topups`, { token: provisioner, headers: { 'idempotency-key': key }, body: { amount: credits, creditType: 'paid', source: 'admin', reference: key } });
  assert.equal(top.status, 201, JSON.stringify(top.body));
  return { who, instanceId: await activeInstance(stack, who, { slug, planId: 'pro' }) };
}

/** Another transaction holding the wallet's row lock until `release()`; `holder` ends with it. */
export async function holdWalletLock(db: Knex, walletId: string): Promise<{ release: () => void; holder: Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holder = db.transaction(async (trx) => {
    await trx.raw('select id from wallets where id = ? for update', [walletId]);
    locked();
    await released;
  });
  await isLocked;
  return { release, holder };
}
