/**
 * The Provisioner's part of the configuration: which Saleor instances may send webhooks, their
 * optional legacy HMAC secrets, the JWKS cache, and the Provisioner's own client credentials.
 * Secrets are never echoed.
 */
import { defineSection, redactUrl } from '../define';

export interface SaleorConfig {
  /**
   * Allowed Saleor instances (`SALEOR_API_URLS`, comma-separated absolute http(s) URLs ending
   * `/graphql/`), normalized. A webhook is accepted when its `Saleor-Api-Url` is exactly one of
   * these (the same list says which Saleor may install the app); its JWKS is fetched from
   * `<origin>/.well-known/jwks.json`.
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

export const saleor = defineSection({
  id: 'saleor',
  title: 'Saleor webhooks (Provisioner)',
  vars: {
    SALEOR_API_URLS: { doc: 'Comma-separated Saleor API URLs (ending /graphql/) whose webhooks the provisioner accepts (a webhook\'s Saleor-Api-Url must be exactly one of them) and that may install the Saleor app; JWKS from <origin>/.well-known/jwks.json.', default: `development: ${DEV_SALEOR_API_URL}`, example: 'https://shop.example.com/graphql/' },
    SALEOR_WEBHOOK_SECRETS: { doc: 'Legacy HMAC secrets: <apiUrl>=<secret>,… or a JSON object {"<apiUrl>":"<secret>"}.', secret: true },
    SALEOR_JWKS_TTL_SECONDS: { doc: 'How long fetched Saleor JWKS keys are trusted.', default: '600' },
    SALEOR_JWKS_REFETCH_COOLDOWN_SECONDS: { doc: 'Minimum gap between two JWKS refetches after a failed verification.', default: '10' },
    PROVISIONER_CLIENT_ID: { doc: 'The provisioner\'s Keycloak client (client-credentials grant towards the control plane).', default: 'provisioner' },
    PROVISIONER_CLIENT_SECRET: { doc: 'Its client secret.', secret: true, required: 'with OIDC_ISSUER (provisioner)' },
    PROVISIONER_TOKEN_URL: { doc: 'Token endpoint override.', default: '<OIDC_ISSUER>/protocol/openid-connect/token' },
    PROVISIONER_INBOX_POLL_MS: { doc: 'How often the provisioner\'s inbox worker looks for held orders that are due (a new order is delivered at once).', default: '1000' },
    PROVISIONER_INBOX_MAX_DELAY_SECONDS: { doc: 'Longest pause between two delivery rounds of a held order (1, 2, 4, 8, 16 s, then doubling).', default: '300' },
    PROVISIONER_INBOX_RETRY_HOURS: { doc: 'How long a held order is retried before only its dead letters remain for an operator.', default: '72' },
  },
  read(r, ctx): { saleor: SaleorConfig; provisioner: ProvisionerConfig } {
    const rawUrls = r.str('SALEOR_API_URLS') ?? (ctx.appEnv === 'development' ? DEV_SALEOR_API_URL : '');
    const apiUrls: string[] = [];
    for (const entry of rawUrls.split(',').map((s) => s.trim()).filter(Boolean)) {
      const normalized = normalizeSaleorApiUrl(entry);
      if (!normalized) r.problem('SALEOR_API_URLS', 'every entry must be an absolute http(s) URL ending /graphql/ (without credentials or query)', redactUrl(entry));
      else if (!apiUrls.includes(normalized)) apiUrls.push(normalized);
    }
    const origins = new Set(apiUrls.map(saleorOrigin));

    const webhookSecrets: Record<string, string> = {};
    const rawSecrets = r.str('SALEOR_WEBHOOK_SECRETS');
    if (rawSecrets) {
      let pairs: [string, unknown][] = [];
      if (rawSecrets.trim().startsWith('{')) {
        try {
          const parsed = JSON.parse(rawSecrets) as unknown;
          if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          pairs = Object.entries(parsed as Record<string, unknown>);
        } catch {
          r.problem('SALEOR_WEBHOOK_SECRETS', 'is not a valid JSON object of {"<apiUrl>": "<secret>"}');
        }
      } else {
        for (const item of rawSecrets.split(',').map((s) => s.trim()).filter(Boolean)) {
          const at = item.indexOf('/graphql/=');
          if (at < 0) {
            r.problem('SALEOR_WEBHOOK_SECRETS', 'entries must be <apiUrl ending /graphql/>=<secret>');
            continue;
          }
          pairs.push([item.slice(0, at + '/graphql/'.length), item.slice(at + '/graphql/='.length)]);
        }
      }
      for (const [apiUrl, secret] of pairs) {
        const normalized = normalizeSaleorApiUrl(apiUrl);
        if (!normalized) {
          r.problem('SALEOR_WEBHOOK_SECRETS', `keys must be Saleor API URLs ending /graphql/ (got ${JSON.stringify(redactUrl(apiUrl))})`);
        } else if (!origins.has(saleorOrigin(normalized))) {
          r.problem('SALEOR_WEBHOOK_SECRETS', `names a Saleor instance that is not in SALEOR_API_URLS (got ${JSON.stringify(normalized)})`);
        } else if (typeof secret !== 'string' || secret.length < 8) {
          r.problem('SALEOR_WEBHOOK_SECRETS', `the secret for ${normalized} must be a string of at least 8 characters`);
        } else {
          webhookSecrets[saleorOrigin(normalized)] = secret;
        }
      }
    }
    return {
      saleor: {
        apiUrls,
        webhookSecrets,
        jwksTtlSeconds: r.int('SALEOR_JWKS_TTL_SECONDS', 600, 1, 86_400),
        jwksRefetchCooldownSeconds: r.int('SALEOR_JWKS_REFETCH_COOLDOWN_SECONDS', 10, 0, 3600),
      },
      provisioner: {
        clientId: r.str('PROVISIONER_CLIENT_ID', 'provisioner'),
        clientSecret: r.str('PROVISIONER_CLIENT_SECRET'),
        tokenUrl: r.url('PROVISIONER_TOKEN_URL'),
        inboxPollMs: r.int('PROVISIONER_INBOX_POLL_MS', 1000, 10, 60_000),
        inboxMaxDelaySeconds: r.int('PROVISIONER_INBOX_MAX_DELAY_SECONDS', 300, 1, 86_400),
        inboxRetryHours: r.int('PROVISIONER_INBOX_RETRY_HOURS', 72, 1, 24 * 30),
      },
    };
  },
});
