/**
 * Demo catalog: two published offerings built from real Langflow flow exports (demo/flows/),
 * each with a certified version 1.0.0 and starter / pro / enterprise plans.
 *
 *   Support Assistant     assistants · customer_support   ChatInput → Prompt → LocalModel → ChatOutput
 *   Docs Knowledge Agent  agents · docs_knowledge         ChatInput → KnowledgeBaseRetriever → Prompt → LocalModel → ChatOutput
 *
 * `seedDemo(db, store, log)` is idempotent: it creates what is missing (offering, version,
 * certification, publication) and leaves everything else as it is, so it can run on every start.
 * CLI: `npx tsx scripts/seed-demo.ts` (same DATA_DIR / DATABASE_URL / S3_* settings as `npm start`;
 * with the embedded database, stop `npm start` first — PGlite allows one process per data folder).
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../platform/paths';
import type { Knex } from 'knex';
import type { CreateOfferingRequest, LangflowFlowExport, Plan, VersionCapability } from '../../generated/control-plane/types';
import { certifyVersion, createOffering, createVersion, registryCertifier, transitionOffering, type CatalogEnv } from '.';
import { inTransaction } from '../db/tx';
import type { Logger } from '../platform/logger';
import type { ObjectStore } from '../storage/object-store';
import { OfferingModel, OfferingVersionModel } from './models';

const SEED_ACTOR = 'seed-demo';

export interface DemoOffering {
  listing: CreateOfferingRequest;
  flowFile: string;
  version: string;
  changelog: string;
  capabilities: VersionCapability[];
  plans: Plan[];
}

/** Saleor-style global ids (base64 of "Type:number") so the demo lines up with a demo Saleor catalog. */
const saleorId = (type: 'Product' | 'ProductVariant', n: number) => Buffer.from(`${type}:${n}`).toString('base64');

const limits = {
  starter: { rateLimitPerMinute: 10, burst: 5, maxRunsPerDay: 100, maxConcurrentRuns: 2, runTimeoutMs: 30000 },
  pro: { rateLimitPerMinute: 120, burst: 30, maxRunsPerDay: 5000, maxConcurrentRuns: 10, runTimeoutMs: 60000 },
  enterprise: { rateLimitPerMinute: 1200, burst: 200, maxRunsPerDay: 200000, maxConcurrentRuns: 100, runTimeoutMs: 60000 },
};

export const DEMO_OFFERINGS: DemoOffering[] = [
  {
    listing: {
      slug: 'support-assistant',
      name: 'Support Assistant',
      category: 'assistants',
      summary: 'Answers customer questions politely and briefly, around the clock, and hands over to a human when unsure.',
      description:
        'A customer support assistant for your website and workspace: it answers questions in English and German, ' +
        'keeps answers short and friendly, and escalates the conversation to your helpdesk with the transcript when ' +
        'the customer asks for a person or it is not confident. Runs on the built-in deterministic local model, so it ' +
        'works offline out of the box.',
      valueStreams: ['customer_support'],
      connectors: ['generic_http'],
      languages: ['en', 'de'],
      modalities: ['text'],
      saleorProductId: saleorId('Product', 10),
    },
    flowFile: 'support-assistant.json',
    version: '1.0.0',
    changelog: 'First release: chat, website widget, API, human handover by email.',
    capabilities: [
      { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You are a friendly, concise customer support agent for ACME.', model: 'builtin:deterministic', temperature: 0.2 } },
      { id: 'chat_ui', v: 1, defaults: { welcomeMessage: 'Hi! How can I help you with your order today?', suggestedPrompts: ['Where is my order?', 'How do I return an item?'] } },
      { id: 'web_widget', v: 1, defaults: { branding: { title: 'ACME Support', primaryColor: '#2563eb', greeting: 'Hi! Questions about your order?' } } },
      { id: 'api_endpoint', v: 1, defaults: {} },
      { id: 'human_handover', v: 1, defaults: { provider: 'email', email: 'support@acme.example', includeTranscript: true } },
      { id: 'multilingual', v: 1, defaults: { defaultLanguage: 'en', supportedLanguages: ['en', 'de'], autoDetect: true } },
      // Included but relaxed: a buyer turns on PII masking or blocking, topics and the profanity
      // filter per instance (with none on, streamed answers are forwarded as they come).
      { id: 'guardrails_policy', v: 1, defaults: { piiRedaction: 'off', profanityFilter: false, promptInjectionDetection: true } },
      // No servers by default: a buyer adds their own MCP servers to the instance (README "MCP servers").
      { id: 'mcp_tools', v: 1, defaults: {} },
      { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10 } },
      // No schedules by default: a buyer adds them to the instance (README "Schedules and webhook triggers").
      { id: 'scheduler_triggers', v: 1, defaults: {} },
      { id: 'observability', v: 1, defaults: { traceSampleRate: 1 } },
    ],
    plans: [
      {
        id: 'starter',
        name: 'Starter',
        trial: true,
        includedCredits: 500,
        limits: limits.starter,
        defaults: { credits_wallet: { maxCreditsPerRun: 50 }, chat_ui: { sessionRetentionDays: 7 } },
        priceRef: { saleorVariantId: saleorId('ProductVariant', 101), sku: 'support-assistant-starter' },
      },
      {
        id: 'pro',
        name: 'Pro',
        includedCredits: 20000,
        limits: limits.pro,
        defaults: { credits_wallet: { maxCreditsPerRun: 200 }, chat_ui: { sessionRetentionDays: 30 } },
        priceRef: { saleorVariantId: saleorId('ProductVariant', 102), sku: 'support-assistant-pro' },
      },
      {
        id: 'enterprise',
        name: 'Enterprise',
        includedCredits: 250000,
        limits: limits.enterprise,
        defaults: { credits_wallet: { maxCreditsPerRun: 1000 }, chat_ui: { sessionRetentionDays: 365 }, api_endpoint: { rateLimitPerMinute: 1200, burst: 200 } },
        priceRef: { saleorVariantId: saleorId('ProductVariant', 103), sku: 'support-assistant-enterprise' },
      },
    ],
  },
  {
    listing: {
      slug: 'docs-knowledge-agent',
      name: 'Docs Knowledge Agent',
      category: 'agents',
      summary: 'Answers questions from your documentation with citations, using your own knowledge base.',
      description:
        'A retrieval-augmented agent: upload manuals, policies or product docs to a knowledge base in your project, ' +
        'and it answers from them only, citing the passages it used, and says so when the documents do not contain ' +
        'the answer. Knowledge bases are private to your project. Runs on the built-in deterministic local model.',
      valueStreams: ['docs_knowledge'],
      connectors: [],
      languages: ['en'],
      modalities: ['text', 'document'],
      saleorProductId: saleorId('Product', 20),
    },
    flowFile: 'docs-knowledge-agent.json',
    version: '1.0.0',
    changelog: 'First release: retrieval over your knowledge bases with citations, chat and API.',
    capabilities: [
      {
        id: 'prompt_orchestrator',
        v: 1,
        defaults: { systemPrompt: 'You are a precise documentation assistant. You only state what the context supports.', model: 'builtin:deterministic', temperature: 0 },
      },
      { id: 'rag_knowledgebase', v: 1, defaults: { topK: 5, maxChunks: 6, citeSources: true } },
      { id: 'chat_ui', v: 1, defaults: { welcomeMessage: 'Ask me anything about your documentation.' } },
      { id: 'api_endpoint', v: 1, defaults: {} },
      { id: 'guardrails_policy', v: 1, defaults: { piiRedaction: 'mask', promptInjectionDetection: true } },
      { id: 'audit_trail', v: 1, defaults: { retentionDays: 365 } },
      { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 20 } },
    ],
    plans: [
      {
        id: 'starter',
        name: 'Starter',
        trial: true,
        includedCredits: 500,
        limits: limits.starter,
        defaults: { rag_knowledgebase: { maxUploadBytes: 10485760 }, credits_wallet: { maxCreditsPerRun: 60 } },
        priceRef: { saleorVariantId: saleorId('ProductVariant', 201), sku: 'docs-knowledge-agent-starter' },
      },
      {
        id: 'pro',
        name: 'Pro',
        includedCredits: 20000,
        limits: limits.pro,
        defaults: { rag_knowledgebase: { maxUploadBytes: 52428800 }, credits_wallet: { maxCreditsPerRun: 250 } },
        priceRef: { saleorVariantId: saleorId('ProductVariant', 202), sku: 'docs-knowledge-agent-pro' },
      },
      {
        id: 'enterprise',
        name: 'Enterprise',
        includedCredits: 250000,
        limits: limits.enterprise,
        defaults: { rag_knowledgebase: { maxUploadBytes: 104857600 }, credits_wallet: { maxCreditsPerRun: 1000 }, audit_trail: { recordInputs: true, recordOutputs: true } },
        priceRef: { saleorVariantId: saleorId('ProductVariant', 203), sku: 'docs-knowledge-agent-enterprise' },
      },
    ],
  },
];

export function demoFlow(file: string): LangflowFlowExport {
  return JSON.parse(readFileSync(projectPath('demo', 'flows', file), 'utf8')) as LangflowFlowExport;
}

export interface SeededOffering {
  slug: string;
  offeringId: string;
  versionId: string;
  lifecycle: string;
  /** What this run did (empty when everything was already in place). */
  changes: string[];
}

/** Creates whatever of the demo catalog is missing. Safe to run on every start and concurrently with itself. */
export async function seedDemo(db: Knex, store: ObjectStore, log: Pick<Logger, 'info'>, opts: { env?: CatalogEnv; offerings?: DemoOffering[] } = {}): Promise<SeededOffering[]> {
  const env: CatalogEnv = opts.env ?? { store, certifier: registryCertifier(), now: () => new Date() };
  const out: SeededOffering[] = [];
  for (const demo of opts.offerings ?? DEMO_OFFERINGS) {
    const seeded = await inTransaction(db, async (trx) => {
      const changes: string[] = [];
      // Serialise concurrent seeders on the slug (PostgreSQL); harmless on PGlite's single connection.
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`seed-demo:${demo.listing.slug}`]);
      let offering = (await OfferingModel.query(trx).where({ slug: demo.listing.slug }).select('id', 'lifecycle').first()) as { id: string; lifecycle: string } | undefined;
      if (!offering) {
        const created = await createOffering(env, trx, demo.listing, SEED_ACTOR);
        offering = { id: created.id, lifecycle: created.lifecycle };
        changes.push('created offering');
      }
      let version = (await OfferingVersionModel.query(trx).where({ offering_id: offering.id, version: demo.version }).select('id', 'certification_status').first()) as
        | { id: string; certification_status: string }
        | undefined;
      if (!version) {
        const v = await createVersion(
          env,
          trx,
          offering.id,
          { version: demo.version, changelog: demo.changelog, flow: demoFlow(demo.flowFile), capabilities: demo.capabilities, plans: demo.plans, source: 'langflow' },
          SEED_ACTOR,
        );
        version = { id: v.id, certification_status: v.certification.status };
        changes.push(`created version ${demo.version}`);
      }
      if (version.certification_status !== 'passed') {
        const report = await certifyVersion(env, trx, offering.id, version.id);
        if (report.status !== 'passed') {
          throw new Error(`demo offering ${demo.listing.slug} ${demo.version} failed certification: ${JSON.stringify(report.errors)}`);
        }
        changes.push('certified');
      }
      if (offering.lifecycle === 'draft') {
        const published = await transitionOffering(env, trx, offering.id, { to: 'published', versionId: version.id, reason: 'demo data' }, SEED_ACTOR);
        offering.lifecycle = published.lifecycle;
        changes.push('published');
      }
      return { slug: demo.listing.slug, offeringId: offering.id, versionId: version.id, lifecycle: offering.lifecycle, changes };
    });
    if (seeded.changes.length) log.info({ offering: seeded.slug, offeringId: seeded.offeringId, changes: seeded.changes }, 'demo catalog seeded');
    out.push(seeded);
  }
  return out;
}
