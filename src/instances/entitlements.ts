import type { Knex } from 'knex';
import type { Entitlements } from '../../generated/control-plane/types';
import type { VersionRow } from '../catalog/rows';
import { bindingsOfInstance } from '../connectors/bindings';
import type { Wire } from '../platform/http/wire';
import { runLimitsOf } from '../money/run-limits';
import { inputLimitsOf } from './input-limits';
import type { InstanceRow } from './rows';
import { OfferingVersionModel } from '../catalog/models';

/** How long a gateway may cache entitlements before asking again. */
export const ENTITLEMENTS_TTL_SECONDS = 5;
const DEFAULTS = { perMinute: 60, burst: 10, runTimeoutMs: 60_000 };

type Cfg = Record<string, any>;

/**
 * Everything the gateway enforces for an instance, derived from its state, plan and effective
 * config: which capabilities run, budget and depletion policy (credits_wallet), rate limits
 * (plan limits, else the tightest of the experience capabilities), allowed origins (web_widget),
 * tools and hosts (tool_connectors), API-key access (api_endpoint), the wallet and the artifact.
 */
export async function entitlementsOf(db: Knex, row: InstanceRow, now = new Date()): Promise<Wire<Entitlements>> {
  const version = (await OfferingVersionModel.query(db).findById(row.version_id).withGraphFetched('offering'))!;
  const offering = version.offering as { lifecycle: Wire<Entitlements>['offeringLifecycle'] } | undefined;
  const plan = version.plans.find((p) => p.id === row.plan_id);
  const cfg = row.effective_config as Record<string, Cfg>;
  const api: Cfg = cfg.api_endpoint ?? {};
  const tools: Cfg = cfg.tool_connectors ?? {};
  const experienceLimits = ['api_endpoint', 'chat_ui', 'web_widget'].map((c) => cfg[c]?.rateLimitPerMinute).filter((n): n is number => typeof n === 'number');
  const input = inputLimitsOf(cfg);
  // The credit limits of a run, as the Control Plane applies them when it admits one (src/money/run-limits.ts).
  const run = runLimitsOf(cfg, plan);
  const limits: Wire<Entitlements>['limits'] = {
    estimatedBudgetPerRun: run.estimatedBudgetPerRun,
    maxCreditsPerRun: run.maxCreditsPerRun,
    depletionPolicy: run.depletionPolicy,
    maxInputChars: input.maxInputChars,
    maxInputCharsByChannel: input.byChannel,
    // The plan's ceiling, lowered by the instance's own api_endpoint.timeoutMs.
    runTimeoutMs: Math.min(plan?.limits.runTimeoutMs ?? DEFAULTS.runTimeoutMs, typeof api.timeoutMs === 'number' ? api.timeoutMs : DEFAULTS.runTimeoutMs),
  };
  if (run.maxRunsPerDay !== undefined) limits.maxRunsPerDay = run.maxRunsPerDay;
  if (run.maxConcurrentRuns !== undefined) limits.maxConcurrentRuns = run.maxConcurrentRuns;
  return {
    instanceId: row.id,
    orgId: row.org_id,
    projectId: row.project_id,
    offeringId: row.offering_id,
    versionId: row.version_id,
    state: row.state,
    ...(offering?.lifecycle ? { offeringLifecycle: offering.lifecycle } : {}),
    plan: row.plan_id,
    capabilities: version.capabilities.map((c) => c.id),
    config: cfg,
    limits,
    rateLimits: {
      perMinute: plan?.limits.rateLimitPerMinute ?? (experienceLimits.length ? Math.min(...experienceLimits) : DEFAULTS.perMinute),
      burst: plan?.limits.burst ?? api.burst ?? DEFAULTS.burst,
    },
    allowedOrigins: cfg.web_widget?.allowedOrigins ?? [],
    allowedTools: tools.allowedTools ?? [],
    allowedHosts: tools.allowedHosts ?? [],
    allowApiKeys: cfg.api_endpoint ? api.allowApiKeys !== false : false,
    // Every binding the instance may use, as references; revoked ones stay listed (status revoked)
    // so the Connector Gateway can tell a revoked binding (403) from a foreign one (404).
    bindings: (await bindingsOfInstance(db, row)).map((b) => ({ bindingId: b.id, connectorId: b.connector_id, name: b.name, status: b.status, settings: b.settings ?? {} })),
    walletId: row.wallet_id,
    artifact: { uri: version.artifact_uri, sha256: version.artifact_sha256 },
    flowId: version.flow_id,
    computedAt: now.toISOString(),
    cacheTtlSeconds: ENTITLEMENTS_TTL_SECONDS,
  };
}
