/** Fixtures for money-domain tests: an org with a wallet, a controllable clock. */
import type { Knex } from 'knex';
import { newId } from '../../src/platform/ids';
import { createWallet } from '../../src/money/wallets';
import type { MoneyDeps, WalletView } from '../../src/money/types';

export async function createOrg(db: Knex, name = 'Test org'): Promise<{ orgId: string; projectId: string }> {
  const orgId = newId('org');
  const projectId = newId('prj');
  await db('orgs').insert({ id: orgId, name, personal: false });
  await db('projects').insert({ id: projectId, org_id: orgId, name: 'Default', is_default: true });
  return { orgId, projectId };
}

export async function walletWith(
  db: Knex,
  opts: { starterCredits?: number; lowBalanceThreshold?: number | null } = {},
  deps?: MoneyDeps,
): Promise<WalletView> {
  const { orgId, projectId } = await createOrg(db);
  return createWallet(db, { orgId, projectId, starterCredits: opts.starterCredits ?? 100, lowBalanceThreshold: opts.lowBalanceThreshold }, deps);
}

/** A clock tests move by hand. */
export function manualClock(start = new Date('2026-01-01T00:00:00Z')) {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance(seconds: number) {
      t += seconds * 1000;
    },
  };
}

/** Runs `fn` and returns the AppError code it threw (fails when it did not throw). */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string') return code;
    throw err;
  }
  throw new Error('expected an error, got success');
}
