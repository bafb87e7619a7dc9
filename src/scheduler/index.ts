/**
 * Schedules and webhook triggers (capability `scheduler_triggers`), run by the control plane:
 * the schedule state (store.ts), the loop (scheduler.ts), signed webhooks (webhook.ts), and how a
 * trigger's run is started through the gateway (gateway-runs.ts).
 */
import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import { clientCredentialsTokenSource, devIssuerTokenSource, type TokenSource } from '../auth/token-source';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { gatewayRunStarter } from './gateway-runs';
import { createScheduler, type Scheduler } from './scheduler';

export { createScheduler, type Scheduler } from './scheduler';
export type { StartRun, TriggeredRun, TriggeredRunOutcome } from './gateway-runs';

/** The scheduler's own token: the dev issuer's service account, or Keycloak's client-credentials grant. */
export function schedulerTokenSource(config: Config, identity: Identity): TokenSource | undefined {
  if (identity.devIssuer) return devIssuerTokenSource(identity.devIssuer, { service: 'scheduler', audience: config.oidc.audience });
  const { clientId, clientSecret, tokenUrl } = config.scheduler;
  if (!clientSecret) return undefined;
  return clientCredentialsTokenSource({ issuer: identity.issuer, clientId, clientSecret, tokenUrl });
}

export interface Triggers {
  scheduler: Scheduler;
  /** The public URL a webhook trigger's deliveries go to. */
  webhookUrl(triggerId: string): string;
  /** Starts the loop when SCHEDULER_ENABLED (webhook runs start either way). */
  start(): void;
  stop(): Promise<void>;
}

export function createTriggers(o: { config: Config; identity: Identity; db: Knex; log: Logger; gatewayUrl: () => string; publicUrl: () => string }): Triggers {
  const tokens = schedulerTokenSource(o.config, o.identity);
  const starter = tokens
    ? gatewayRunStarter({ gatewayUrl: o.gatewayUrl, tokens })
    : Object.assign(async () => ({ status: 0, code: 'UNAUTHENTICATED' }), { close() {} });
  const scheduler = createScheduler({ db: o.db, log: o.log, startRun: starter, tickMs: o.config.scheduler.tickMs, missedAfterMs: o.config.scheduler.missedAfterMs });
  return {
    scheduler,
    webhookUrl: (triggerId) => `${o.publicUrl().replace(/\/+$/, '')}/triggers/${triggerId}/webhook`,
    start() {
      if (!tokens) o.log.warn('the scheduler has no service credential (SCHEDULER_CLIENT_SECRET): schedules and webhook triggers start no runs');
      if (o.config.scheduler.enabled) scheduler.start();
    },
    async stop() {
      await scheduler.stop();
      starter.close();
    },
  };
}
