import type { Identity } from '../auth/identity';
import { clientCredentialsTokenSource, devIssuerTokenSource, type TokenSource } from '../auth/token-source';
import type { Config } from '../platform/config';
import type { InstanceSignals } from '../platform/instance-signals';
import type { Logger } from '../platform/logger';
import { createControlPlaneClient } from './cp-client';
import type { GatewayDeps } from './deps';
import { createEntitlementsCache } from './entitlements';
import { createFlowArtifacts } from './flow-tweaks';
import { createHttpClient } from '../platform/service-client/http-json';
import { createGatewayMetrics } from './metrics';
import { createMemoryRateLimiter, type RateLimiter } from './rate-limit';
import { createRedisRateLimiter } from './rate-limit-redis';
import type { Sleep } from './retry';
import { createMemoryConcurrencyLimiter, createRedisConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency';
import { createRunnerClient } from './runner-client';
import { createRunnerStreamer } from './runner-stream';
import { createTicketClient } from './ticket-client';
import { createWidgetSessions, loadWidgetSecret } from './widget-session';
import { createObjectStore } from '../storage';
import { createQuotaManager } from './quotas';
import { createUsageJournal } from './usage-journal';

export interface GatewayRuntime {
  deps: GatewayDeps;
  /** Gives the credit quotas back once their runs are charged; later runs are admitted one by one. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface GatewayOverrides {
  /** Where the Control Plane / Runner are (functions: in a test stack known only after listen). */
  controlPlaneUrl?: () => string;
  runnerUrl?: () => string;
  connectorGatewayUrl?: () => string;
  tokens?: TokenSource;
  rateLimiter?: RateLimiter;
  concurrency?: ConcurrencyLimiter;
  /** Instance lifecycle signals to drop cached entitlements on. */
  signals?: InstanceSignals;
  sleep?: Sleep;
}

/** The gateway's own service token: Keycloak client credentials, or the dev issuer. */
export function gatewayTokenSource(config: Config, identity: Identity): TokenSource {
  if (identity.devIssuer) return devIssuerTokenSource(identity.devIssuer, { service: 'gateway', audience: config.oidc.audience });
  const { clientId, clientSecret, tokenUrl } = config.gateway;
  if (!clientSecret) throw new Error('The gateway needs GATEWAY_CLIENT_SECRET (its Keycloak client secret) when OIDC_ISSUER is set');
  return clientCredentialsTokenSource({ issuer: identity.issuer, clientId, clientSecret, tokenUrl });
}

export async function buildGatewayDeps(base: { config: Config; log: Logger; identity: Identity }, o: GatewayOverrides = {}): Promise<GatewayRuntime> {
  const { config } = base;
  const log = base.log.child({ service: 'gateway' });
  const metrics = createGatewayMetrics();
  const http = createHttpClient();
  const tokens = o.tokens ?? gatewayTokenSource(config, base.identity);
  const cp = createControlPlaneClient({
    baseUrl: o.controlPlaneUrl ?? (() => config.urls.controlPlane),
    http,
    tokens,
    sleep: o.sleep,
    onError: (operation, kind) => metrics.controlPlaneErrors.inc({ operation, kind }),
  });
  const entitlements = createEntitlementsCache({ cp, onLookup: (result) => metrics.entitlementsCache.inc({ result }) });
  const unsubscribe = o.signals?.subscribe((instanceId) => {
    entitlements.invalidate(instanceId);
    quotas?.drop(instanceId);
  });
  let rateLimiter: RateLimiter;
  if (o.rateLimiter) rateLimiter = o.rateLimiter;
  else if (config.redisUrl) {
    const redisLimiter = createRedisRateLimiter({
      url: config.redisUrl,
      log,
      onFallback: (err) => {
        metrics.rateLimiterFallbacks.inc();
        log.debug({ err }, 'rate limit decided in-process: redis failed');
      },
    });
    if (!(await redisLimiter.ready())) log.warn('rate limiter: redis is not reachable yet; deciding in-process until it is');
    rateLimiter = redisLimiter;
  } else rateLimiter = createMemoryRateLimiter();
  // maxConcurrentRuns across replicas through Redis leases when configured, in-process otherwise.
  let concurrency: ConcurrencyLimiter;
  if (o.concurrency) concurrency = o.concurrency;
  else if (config.redisUrl) {
    const redisLeases = createRedisConcurrencyLimiter({ url: config.redisUrl, log, onFallback: (err) => { metrics.rateLimiterFallbacks.inc(); log.debug({ err }, 'concurrency decided in-process: redis failed'); } });
    await redisLeases.ready();
    concurrency = redisLeases;
  } else concurrency = createMemoryConcurrencyLimiter();
  const quotas = config.gateway.quotaRuns > 0 ? createQuotaManager(cp, log, { blockRuns: config.gateway.quotaRuns, validitySeconds: config.gateway.quotaValiditySeconds }) : undefined;
  const journalUrl = config.gateway.usageJournal ? config.gateway.usageJournalUrl ?? config.databaseUrl : undefined;
  const usageJournal = quotas && journalUrl ? createUsageJournal({ url: journalUrl, log }) : undefined;
  const deps: GatewayDeps = {
    config,
    log,
    identity: base.identity,
    cp,
    runner: createRunnerClient({ baseUrl: o.runnerUrl ?? (() => config.urls.runner), http, tokens }),
    runnerStream: createRunnerStreamer({ baseUrl: o.runnerUrl ?? (() => config.urls.runner), http, tokens }),
    entitlements,
    rateLimiter,
    widgets: createWidgetSessions(await loadWidgetSecret(config)),
    concurrency,
    flows: createFlowArtifacts({ cp, http }),
    tickets: createTicketClient({ baseUrl: o.connectorGatewayUrl ?? (() => config.urls.connectorGateway), http, tokens }),
    metrics,
    // Local presigned URLs are served by the control plane, as for knowledge-base uploads.
    objectStore: createObjectStore(config.storage, o.controlPlaneUrl ?? (() => config.urls.controlPlane)),
    quotas,
    usageJournal,
    pollIntervalMs: 100,
  };
  return {
    deps,
    async drain() {
      await quotas?.close();
    },
    async close() {
      unsubscribe?.();
      // The quotas go back once their runs are charged (a crash leaves them to lapse at their expiry).
      await quotas?.close();
      await usageJournal?.close();
      await rateLimiter.close();
      await concurrency.close();
      http.close();
    },
  };
}
