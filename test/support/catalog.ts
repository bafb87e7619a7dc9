/** Helpers for catalog tests: a tiny valid flow, a catalog environment, offerings in a given state. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateOfferingRequest, LangflowFlowExport, Offering, Plan, VersionCapability } from '../../generated/control-plane/types';
import { certifyVersion, createOffering, createVersion, transitionOffering, type CatalogEnv, type Certifier } from '../../src/catalog';
import type { Db } from '../../src/db/tx';
import { LocalObjectStore } from '../../src/storage/local-object-store';

export function minimalFlow(overrides: Partial<LangflowFlowExport> = {}, nodeTemplate: Record<string, unknown> = {}): LangflowFlowExport {
  return {
    id: 'b2c4e6f8-0000-4000-8000-000000000001',
    name: 'Echo',
    endpoint_name: 'echo',
    data: {
      nodes: [
        { id: 'ChatInput-aaaaa', type: 'genericNode', data: { id: 'ChatInput-aaaaa', type: 'ChatInput', node: { template: { input_value: { type: 'str', value: '' }, ...nodeTemplate }, outputs: [] } } },
        { id: 'ChatOutput-bbbbb', type: 'genericNode', data: { id: 'ChatOutput-bbbbb', type: 'ChatOutput', node: { template: {}, outputs: [] } } },
      ],
      edges: [{ source: 'ChatInput-aaaaa', target: 'ChatOutput-bbbbb', sourceHandle: 'x', targetHandle: 'y' }],
      viewport: { x: 0, y: 0, zoom: 1 },
    },
    ...overrides,
  };
}

export const validCapabilities: VersionCapability[] = [
  { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You are helpful.', temperature: 0.2 } },
  { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10 } },
];

export const validPlans: Plan[] = [
  { id: 'starter', name: 'Starter', includedCredits: 500, limits: { rateLimitPerMinute: 10, burst: 5 }, defaults: {}, priceRef: { sku: 'x-starter' } },
  { id: 'pro', name: 'Pro', includedCredits: 20000, limits: { rateLimitPerMinute: 100, burst: 20 }, defaults: { credits_wallet: { maxCreditsPerRun: 300 } } },
];

/** A certifier that passes everything (search and lifecycle tests do not exercise the registry). */
export const passingCertifier: Certifier = { registryVersion: () => 'test', check: () => [] };

export interface TestCatalog {
  env: CatalogEnv;
  store: LocalObjectStore;
  close(): void;
}

export function testCatalog(opts: { certifier?: Certifier; now?: () => Date } = {}): TestCatalog {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
  const store = new LocalObjectStore({ root: join(dir, 'objects'), baseUrl: 'http://127.0.0.1:9' });
  return {
    env: { store, certifier: opts.certifier ?? passingCertifier, now: opts.now ?? (() => new Date()) },
    store,
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let counter = 0;
export function listing(overrides: Partial<CreateOfferingRequest> = {}): CreateOfferingRequest {
  counter += 1;
  return {
    slug: `offering-${process.pid}-${counter}`,
    name: `Offering ${counter}`,
    category: 'assistants',
    summary: 'A helpful assistant.',
    valueStreams: ['customer_support'],
    ...overrides,
  };
}

/** An offering with a certified version 1.0.0, moved to `state` (draft leaves it unpublished). */
export async function offeringIn(
  env: CatalogEnv,
  db: Db,
  state: Offering['lifecycle'],
  overrides: Partial<CreateOfferingRequest> = {},
  version: { capabilities?: VersionCapability[]; plans?: Plan[] } = {},
): Promise<{ offering: Offering; versionId: string }> {
  const created = await createOffering(env, db, listing(overrides), 'tester');
  const v = await createVersion(
    env,
    db,
    created.id,
    { version: '1.0.0', flow: minimalFlow(), capabilities: version.capabilities ?? validCapabilities, plans: version.plans ?? validPlans, source: 'api' },
    'tester',
  );
  await certifyVersion(env, db, created.id, v.id);
  let offering = created;
  const path: Record<Offering['lifecycle'], Offering['lifecycle'][]> = {
    draft: [],
    published: ['published'],
    paused: ['published', 'paused'],
    eos: ['published', 'eos'],
    eol: ['published', 'eos', 'eol'],
  };
  for (const to of path[state]) offering = await transitionOffering(env, db, created.id, { to }, 'tester');
  return { offering, versionId: v.id };
}
