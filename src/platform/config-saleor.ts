/**
 * The Provisioner's part of the configuration: which Saleor instances may send webhooks, their
 * optional legacy HMAC secrets, the JWKS cache, and the Provisioner's own client credentials.
 * Called by `loadConfig`, which reports every problem at once. Secrets are never echoed.
 */
type Env = Record<string, string | undefined>;
type AddProblem = (name: string, message: string, value?: string) => void;

export interface SaleorConfig {
  /**
   * Allowed Saleor instances (`SALEOR_API_URLS`, comma-separated absolute http(s) URLs ending
   * `/graphql/`), normalized. A webhook is accepted when the origin of its `Saleor-Api-Url`
   * equals the origin of one of these; its JWKS is fetched from `<origin>/.well-known/jwks.json`.
   */
  apiUrls: string[];
  /**
   * Legacy HMAC secrets by Saleor origin (`SALEOR_WEBHOOK_SECRETS`, `<apiUrl>=<secret>` pairs
   * separated by commas, or a JSON object `{"<apiUrl>": "<secret>"}` when a secret contains a
   * comma). An instance listed here may also sign with the lowercase hex HMAC-SHA256 of the body.
   */
  webhookSecrets: Record<string, string>;
  /** How long fetched JWKS keys are trusted before they are fetched again (`SALEOR_JWKS_TTL_SECONDS`, default 600). */
  jwksTtlSeconds: number;
  /**
   * Minimum time between two JWKS fetches for one Saleor instance triggered by a failed
   * verification (`SALEOR_JWKS_REFETCH_COOLDOWN_SECONDS`, default 10), so forged requests cannot
   * make the Provisioner hammer Saleor.
   */
  jwksRefetchCooldownSeconds: number;
}

export interface ProvisionerConfig {
  /** Keycloak client of the Provisioner (`PROVISIONER_CLIENT_ID`, default `provisioner`). */
  clientId: string;
  /** Its secret for the client-credentials grant (`PROVISIONER_CLIENT_SECRET`); required with OIDC_ISSUER. */
  clientSecret?: string;
  /** Token endpoint override (`PROVISIONER_TOKEN_URL`); default `{OIDC_ISSUER}/protocol/openid-connect/token`. */
  tokenUrl?: string;
  /** How often the inbox worker looks for due orders when nothing woke it (`PROVISIONER_INBOX_POLL_MS`, default 1000). */
  inboxPollMs: number;
  /** Longest pause between two delivery rounds of one order (`PROVISIONER_INBOX_MAX_DELAY_SECONDS`, default 300). */
  inboxMaxDelaySeconds: number;
  /** How long an order is retried from the inbox before only its dead letters remain (`PROVISIONER_INBOX_RETRY_HOURS`, default 72). */
  inboxRetryHours: number;
}

/** The Saleor instance `npm run saleor:send-order` imitates; allowed by default in development only. */
export const DEV_SALEOR_API_URL = 'http://127.0.0.1:8089/graphql/';

/** An allow-list entry: absolute http(s), no credentials, path ending `/graphql/`. Returns the normalized URL or undefined. */
export function normalizeSaleorApiUrl(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.username || u.password || u.search || u.hash) return undefined;
  if (!u.pathname.endsWith('/graphql/')) return undefined;
  return u.href;
}

export function saleorOrigin(apiUrl: string): string {
  return new URL(apiUrl).origin;
}

function int(env: Env, add: AddProblem, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) add(name, `must be an integer from ${min} to ${max}`, raw);
  return n;
}

export function loadSaleorConfig(env: Env, appEnv: string, add: AddProblem): { saleor: SaleorConfig; provisioner: ProvisionerConfig } {
  const rawUrls = env.SALEOR_API_URLS || (appEnv === 'development' ? DEV_SALEOR_API_URL : '');
  const apiUrls: string[] = [];
  for (const entry of rawUrls.split(',').map((s) => s.trim()).filter(Boolean)) {
    const normalized = normalizeSaleorApiUrl(entry);
    if (!normalized) add('SALEOR_API_URLS', 'every entry must be an absolute http(s) URL ending /graphql/ (without credentials or query)', entry.replace(/\/\/[^/@]*@/, '//[redacted]@'));
    else if (!apiUrls.includes(normalized)) apiUrls.push(normalized);
  }
  const origins = new Set(apiUrls.map(saleorOrigin));

  const webhookSecrets: Record<string, string> = {};
  const rawSecrets = env.SALEOR_WEBHOOK_SECRETS;
  if (rawSecrets) {
    let pairs: [string, unknown][] = [];
    if (rawSecrets.trim().startsWith('{')) {
      try {
        const parsed = JSON.parse(rawSecrets) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        pairs = Object.entries(parsed as Record<string, unknown>);
      } catch {
        add('SALEOR_WEBHOOK_SECRETS', 'is not a valid JSON object of {"<apiUrl>": "<secret>"}');
      }
    } else {
      for (const item of rawSecrets.split(',').map((s) => s.trim()).filter(Boolean)) {
        const at = item.indexOf('/graphql/=');
        if (at < 0) {
          add('SALEOR_WEBHOOK_SECRETS', 'entries must be <apiUrl ending /graphql/>=<secret>');
          continue;
        }
        pairs.push([item.slice(0, at + '/graphql/'.length), item.slice(at + '/graphql/='.length)]);
      }
    }
    for (const [apiUrl, secret] of pairs) {
      const normalized = normalizeSaleorApiUrl(apiUrl);
      if (!normalized) {
        add('SALEOR_WEBHOOK_SECRETS', 'keys must be Saleor API URLs ending /graphql/', apiUrl);
      } else if (!origins.has(saleorOrigin(normalized))) {
        add('SALEOR_WEBHOOK_SECRETS', 'names a Saleor instance that is not in SALEOR_API_URLS', normalized);
      } else if (typeof secret !== 'string' || secret.length < 8) {
        add('SALEOR_WEBHOOK_SECRETS', `the secret for ${normalized} must be a string of at least 8 characters`);
      } else {
        webhookSecrets[saleorOrigin(normalized)] = secret;
      }
    }
  }

  let tokenUrl = env.PROVISIONER_TOKEN_URL || undefined;
  if (tokenUrl) {
    try {
      if (!['http:', 'https:'].includes(new URL(tokenUrl).protocol)) throw new Error('protocol');
    } catch {
      add('PROVISIONER_TOKEN_URL', 'must be an absolute http(s) URL');
      tokenUrl = undefined;
    }
  }
  return {
    saleor: {
      apiUrls,
      webhookSecrets,
      jwksTtlSeconds: int(env, add, 'SALEOR_JWKS_TTL_SECONDS', 600, 1, 86_400),
      jwksRefetchCooldownSeconds: int(env, add, 'SALEOR_JWKS_REFETCH_COOLDOWN_SECONDS', 10, 0, 3600),
    },
    provisioner: {
      clientId: env.PROVISIONER_CLIENT_ID || 'provisioner',
      clientSecret: env.PROVISIONER_CLIENT_SECRET || undefined,
      tokenUrl,
      inboxPollMs: int(env, add, 'PROVISIONER_INBOX_POLL_MS', 1000, 10, 60_000),
      inboxMaxDelaySeconds: int(env, add, 'PROVISIONER_INBOX_MAX_DELAY_SECONDS', 300, 1, 86_400),
      inboxRetryHours: int(env, add, 'PROVISIONER_INBOX_RETRY_HOURS', 72, 1, 24 * 30),
    },
  };
}
