import { defineSection } from '../define';

export interface SchedulerConfig {
  /** Run due schedules in this control-plane process (`SCHEDULER_ENABLED`, default on). */
  enabled: boolean;
  /** How often due schedules are looked for (`SCHEDULER_TICK_MS`). */
  tickMs: number;
  /** A slot picked up later than this counts as missed and follows its schedule's missedRunPolicy (`SCHEDULER_MISSED_AFTER_MS`). */
  missedAfterMs: number;
  /** Keycloak client of the scheduler (`SCHEDULER_CLIENT_ID`, default `scheduler`): it starts runs through the gateway with role svc:scheduler. */
  clientId: string;
  clientSecret?: string;
  tokenUrl?: string;
}

/**
 * The control plane's scheduler: it starts the runs of due schedules and of signed webhook
 * triggers through the gateway, as its own service account (svc:scheduler).
 */
export const scheduler = defineSection({
  id: 'scheduler',
  title: 'Scheduler (schedules and webhook triggers)',
  vars: {
    SCHEDULER_ENABLED: { doc: 'Run due schedules in this control-plane process; every replica may run it (the database elects per slot).', default: 'true' },
    SCHEDULER_TICK_MS: { doc: 'How often the scheduler looks for due schedules, in milliseconds.', default: '15000' },
    SCHEDULER_MISSED_AFTER_MS: { doc: 'A slot started later than this after its time counts as missed (control plane down, …) and follows its schedule\'s missedRunPolicy.', default: '60000' },
    SCHEDULER_CLIENT_ID: { doc: 'The scheduler\'s Keycloak client (client-credentials grant, role svc:scheduler) for the runs it starts through the gateway.', default: 'scheduler' },
    SCHEDULER_CLIENT_SECRET: { doc: 'Its client secret.', secret: true, required: 'production (control-plane, with SCHEDULER_ENABLED)' },
    SCHEDULER_TOKEN_URL: { doc: 'Token endpoint override.', default: '<OIDC_ISSUER>/protocol/openid-connect/token' },
  },
  read: (r) => ({
    scheduler: {
      enabled: r.bool('SCHEDULER_ENABLED', true),
      tickMs: r.int('SCHEDULER_TICK_MS', 15_000, 200, 3_600_000),
      missedAfterMs: r.int('SCHEDULER_MISSED_AFTER_MS', 60_000, 1_000, 86_400_000),
      clientId: r.str('SCHEDULER_CLIENT_ID', 'scheduler'),
      clientSecret: r.str('SCHEDULER_CLIENT_SECRET'),
      tokenUrl: r.url('SCHEDULER_TOKEN_URL'),
    } satisfies SchedulerConfig,
  }),
});
