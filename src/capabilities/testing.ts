/**
 * Test support for capability handlers: a desired-state context with fake ids and bindings (one of
 * them smuggling a fake credential, as a careless caller might), a secret scan, and the checks
 * every handler's manifests must pass.
 */
import assert from 'node:assert/strict';
import type { CapabilityConfigs } from '../../generated/capabilities/index';
import type { ConfigIssue, DesiredStateContext, Manifest } from './handler-types';
import { connectorVaultPath, LABEL } from './manifest';
import { validateManifest } from './manifest-schemas';
import { capabilityRegistry } from './registry';

export const TEST_IDS = {
  instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P',
  orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X',
  projectId: 'prj_01J9ZK4B2C3D4E5F6G7H8J9K0M',
  offeringId: 'off_01J9ZK1A2B3C4D5E6F7G8H9J0K',
  versionId: 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M',
} as const;

export const HTTP_BINDING_ID = 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S8T';
export const SLACK_BINDING_ID = 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S9V';
export const HELPDESK_BINDING_ID = 'bind_01J9ZK7H0J1K2M3N4P5Q6R7SAW';

export const KB_ID = 'kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V';

/**
 * One instance-override config per capability that exercises every kind its handler can emit
 * (bindings, webhooks, schedules, …). Valid as they are.
 */
export const SAMPLE_CONFIGS: CapabilityConfigs = {
  prompt_orchestrator: { systemPrompt: 'You answer questions for {company} customers in a {tone} tone.', variables: { company: 'Acme', tone: 'friendly' } },
  tool_connectors: {
    allowedTools: [
      { name: 'http.get', kind: 'read', connector: 'generic_http' },
      { name: 'http.post', kind: 'write', connector: 'generic_http' },
      { name: 'slack.post_message', kind: 'write', connector: 'slack' },
    ],
    allowedHosts: ['api.acme.example', '*.crm.acme.example'],
  },
  mcp_tools: {
    servers: [
      { name: 'crm', url: 'https://mcp.acme.example/mcp', bindingId: HTTP_BINDING_ID, allowedTools: ['search_contacts', 'get_contact'] },
      { name: 'docs', url: 'https://docs-mcp.acme.example/sse', transport: 'sse', allowedTools: ['search'] },
    ],
  },
  human_handover: { provider: 'zendesk', bindingId: HELPDESK_BINDING_ID, triggers: { keywords: ['human', 'agent'] } },
  api_endpoint: { rateLimitPerMinute: 120, burst: 20, allowApiKeys: true },
  chat_ui: { welcomeMessage: 'Welcome to Acme support!', suggestedPrompts: ['Where is my order?', 'Reset my password'] },
  web_widget: { allowedOrigins: ['https://shop.acme.example', 'https://*.acme.example', 'http://localhost:3000'], branding: { title: 'Acme help', logoUrl: 'https://cdn.acme.example/logo.png' } },
  multilingual: { supportedLanguages: ['en', 'de', 'pt-BR'], defaultLanguage: 'de', fallbackLanguage: 'en' },
  multimodal_vision: { acceptedMimeTypes: ['image/png', 'application/pdf'], maxImagesPerRun: 4 },
  multimodal_audio: { textToSpeech: true, voice: 'warm' },
  rag_knowledgebase: { knowledgeBaseIds: [KB_ID], topK: 4, maxChunks: 8 },
  guardrails_policy: { blockedTopics: ['weapons', '/\\b\\d{3}-\\d{2}-\\d{4}\\b/', '/medical advice/i'], piiRedaction: 'block' },
  audit_trail: { sink: 'webhook', webhookUrl: 'https://siem.acme.example/agent-store/events' },
  scheduler_triggers: {
    schedules: [
      { name: 'weekday-digest', cron: '0 9 * * MON-FRI', timezone: 'Europe/Berlin', input: 'Summarise yesterday\'s tickets' },
      { name: 'paused', cron: '*/30 * * * *', enabled: false },
    ],
    webhookTrigger: true,
  },
  observability: { logLevel: 'debug', otlpEndpoint: 'https://otel.acme.example/v1' },
  credits_wallet: { estimatedBudgetPerRun: 30, maxCreditsPerRun: 400, depletionPolicy: 'allow_overage' },
};

/** Values that must never reach a manifest. */
export const FAKE_CREDENTIAL = {
  token: 'sk_live_FAKE51HxQ2eZvKYlo2C0nTestSecret',
  clientSecret: 'cs_FAKE_0a1b2c3d4e5f6a7b8c9d',
  password: 'hunter2-FAKE-p4ssw0rd!',
  privateKey: '-----BEGIN PRIVATE KEY-----\nMIIFAKEFAKEFAKE\n-----END PRIVATE KEY-----',
  webhookSigningSecret: 'whsec_FAKE_9f8e7d6c5b4a',
} as const;

export function secretStrings(): string[] {
  return Object.values(FAKE_CREDENTIAL);
}

/**
 * A context for `desiredState`. Its bindings carry only references, except that each also smuggles
 * the fake credential in extra fields, so a handler that spreads a binding into a manifest is caught.
 */
export function testContext<C>(config: C, overrides: Partial<DesiredStateContext<C>> = {}): DesiredStateContext<C> {
  const binding = (bindingId: string, connectorId: string) =>
    ({
      bindingId,
      connectorId,
      vaultPath: connectorVaultPath(TEST_IDS.orgId, TEST_IDS.projectId, bindingId),
      credential: { ...FAKE_CREDENTIAL },
      token: FAKE_CREDENTIAL.token,
    }) as DesiredStateContext<C>['bindings'][number];
  return {
    ...TEST_IDS,
    planId: 'pro',
    env: 'dev',
    namespace: 'agentstore-instances',
    config,
    vaultMount: 'kv',
    bindings: [binding(HTTP_BINDING_ID, 'generic_http'), binding(SLACK_BINDING_ID, 'slack'), binding(HELPDESK_BINDING_ID, 'zendesk')],
    ...overrides,
  };
}

/** Fails when any fake credential (or a private key block) appears anywhere in the serialized value. */
export function assertNoSecrets(value: unknown, extra: readonly string[] = []): void {
  const text = JSON.stringify(value);
  for (const s of [...secretStrings(), ...extra]) {
    assert.ok(!text.includes(s), `a secret value leaked into the output: ${s.slice(0, 12)}…`);
    // also as it would appear inside a JSON string (escaped newlines), e.g. a ConfigMap's config.json
    assert.ok(!text.includes(JSON.stringify(s).slice(1, -1)), `a secret value leaked (JSON-escaped): ${s.slice(0, 12)}…`);
  }
  assert.doesNotMatch(text, /BEGIN [A-Z ]*PRIVATE KEY/, 'a private key leaked into the output');
}

/**
 * The rules every handler's manifests follow: each passes its CRD/builtin schema, uses only kinds
 * the registry lists for the capability, lives in the context's namespace, carries the instance,
 * org and project labels, has a unique kind/name, and references Vault only under the instance's
 * own org/project.
 */
export function assertValidDesiredState(capabilityId: string, manifests: readonly Manifest[], ctx: DesiredStateContext<unknown>): void {
  const kinds = new Set<string>(capabilityRegistry().require(capabilityId).provisioning.kinds);
  const names = new Set<string>();
  for (const m of manifests) {
    const where = `${m.kind} ${m.metadata?.name}`;
    assert.deepEqual(validateManifest(m), [] as ConfigIssue[], `${where} does not pass its schema`);
    assert.ok(kinds.has(m.kind), `${where}: kind ${m.kind} is not in the registry's provisioning.kinds of ${capabilityId}`);
    assert.equal(m.metadata.namespace, ctx.namespace, `${where}: namespace`);
    assert.equal(m.metadata.labels?.[LABEL.instance], ctx.instanceId, `${where}: instance label`);
    assert.equal(m.metadata.labels?.[LABEL.org], ctx.orgId, `${where}: org label`);
    assert.equal(m.metadata.labels?.[LABEL.project], ctx.projectId, `${where}: project label`);
    assert.equal(m.metadata.labels?.[LABEL.capability], capabilityId, `${where}: capability label`);
    assert.ok(!names.has(`${m.kind}/${m.metadata.name}`), `${where} is emitted twice`);
    names.add(`${m.kind}/${m.metadata.name}`);
    if (m.kind === 'ExternalSecret') {
      const keys = JSON.stringify(m.spec).match(new RegExp(`${ctx.vaultMount}/data/[^"]+`, 'g')) ?? [];
      assert.ok(keys.length > 0, `${where} references no Vault key under the mount ${ctx.vaultMount}`);
      for (const k of keys) assert.match(k, new RegExp(`^${ctx.vaultMount}/data/connectors/${ctx.orgId}/${ctx.projectId}/bind_[A-Za-z0-9]+$`), `${where}: ${k}`);
    }
  }
  assertNoSecrets(manifests);
}

/** The issue paths, for compact assertions. */
export const paths = (issues: readonly ConfigIssue[]): string[] => issues.map((i) => i.path);
