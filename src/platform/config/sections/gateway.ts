import { defineSection } from '../define';

export interface GatewayConfig {
  /** Keycloak client of the Gateway (`GATEWAY_CLIENT_ID`, default `gateway`). */
  clientId: string;
  /** Its secret for the client-credentials grant (`GATEWAY_CLIENT_SECRET`); required with OIDC_ISSUER when the gateway runs. */
  clientSecret?: string;
  /** Token endpoint override (`GATEWAY_TOKEN_URL`); default `{OIDC_ISSUER}/protocol/openid-connect/token`. */
  tokenUrl?: string;
  /**
   * HS256 secret for widget session tokens (`WIDGET_SESSION_SECRET`, at least 32 bytes). Only the
   * gateway signs and verifies them. Unset: generated once into `<DATA_DIR>/gateway/` outside
   * production; required in production when the gateway runs.
   */
  widgetSessionSecret?: string;
  /**
   * How many gateway replicas the deployment runs (`GATEWAY_REPLICAS`, the manifests set it
   * beside `replicas`). More than one needs Redis, or each replica counts rate limits alone.
   */
  replicas: number;
  /**
   * Credit quotas (`GATEWAY_QUOTA_RUNS`, src/gateway/quotas.ts): runs' worth of credits
   * (maxCreditsPerRun each) a replica holds per instance to admit runs without a Control Plane
   * round trip; 0 admits every run through the Control Plane.
   */
  quotaRuns: number;
  /** How long a quota admits runs before it is renewed (`GATEWAY_QUOTA_VALIDITY_SECONDS`): the bound on how late a pause or EOL stops runs. */
  quotaValiditySeconds: number;
  /**
   * Quota runs' charges are recorded in the usage journal (`GATEWAY_USAGE_JOURNAL`, default on;
   * src/gateway/usage-journal.ts) of the Control Plane's PostgreSQL at `GATEWAY_USAGE_JOURNAL_URL`
   * (default DATABASE_URL) — one INSERT per run instead of an HTTP charge. Without a PostgreSQL
   * URL (PGlite), or off, they are charged over HTTP.
   */
  usageJournal: boolean;
  usageJournalUrl?: string;
}

/** The public Gateway: its own Keycloak client, widget sessions, and how many replicas share its limits. */
export const gateway = defineSection({
  id: 'gateway',
  title: 'Gateway',
  vars: {
    GATEWAY_CLIENT_ID: { doc: 'The gateway\'s Keycloak client (client-credentials grant) for its calls to the control plane and runner.', default: 'gateway' },
    GATEWAY_CLIENT_SECRET: { doc: 'Its client secret.', secret: true, required: 'with OIDC_ISSUER (gateway)' },
    GATEWAY_TOKEN_URL: { doc: 'Token endpoint override.', default: '<OIDC_ISSUER>/protocol/openid-connect/token' },
    WIDGET_SESSION_SECRET: { doc: 'HS256 secret (at least 32 bytes) of widget session tokens; only the gateway signs and verifies them.', default: 'development: generated into <DATA_DIR>/gateway/', secret: true, required: 'production (gateway)' },
    GATEWAY_REPLICAS: { doc: 'Gateway replicas the deployment declares (set beside the Deployment\'s replicas); more than one needs REDIS_URL in production.', default: '1' },
    GATEWAY_QUOTA_RUNS: { doc: 'Runs\' worth of credits a replica holds per instance as a credit quota (runs admitted without a control plane round trip); 0 turns quotas off.', default: '32' },
    GATEWAY_QUOTA_VALIDITY_SECONDS: { doc: 'How long a credit quota admits runs before its renewal: the bound on how late a pause or end of life stops runs.', default: '5' },
    GATEWAY_USAGE_JOURNAL: { doc: 'Record quota runs\' charges in the control plane database\'s usage journal (one INSERT per run) instead of charging each over HTTP; needs a PostgreSQL URL.', default: 'true' },
    GATEWAY_USAGE_JOURNAL_URL: { doc: 'PostgreSQL of the control plane for the usage journal (a role that may insert into usage_journal and read reservations and wallets).', default: '<DATABASE_URL>', secret: true },
  },
  read(r): { gateway: GatewayConfig } {
    const widgetSessionSecret = r.str('WIDGET_SESSION_SECRET');
    if (widgetSessionSecret !== undefined && Buffer.byteLength(widgetSessionSecret) < 32) r.problem('WIDGET_SESSION_SECRET', 'must be at least 32 bytes');
    return {
      gateway: {
        clientId: r.str('GATEWAY_CLIENT_ID', 'gateway'),
        clientSecret: r.str('GATEWAY_CLIENT_SECRET'),
        tokenUrl: r.url('GATEWAY_TOKEN_URL'),
        widgetSessionSecret,
        replicas: r.int('GATEWAY_REPLICAS', 1, 1, 1000),
        quotaRuns: r.int('GATEWAY_QUOTA_RUNS', 32, 0, 10_000),
        quotaValiditySeconds: r.int('GATEWAY_QUOTA_VALIDITY_SECONDS', 5, 1, 60),
        usageJournal: r.bool('GATEWAY_USAGE_JOURNAL', true),
        usageJournalUrl: r.url('GATEWAY_USAGE_JOURNAL_URL', undefined, ['postgres:', 'postgresql:']),
      },
    };
  },
});
