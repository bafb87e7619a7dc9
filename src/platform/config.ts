import { loadLlmConfig, type LlmConfig } from './config-llm';
import { loadSaleorConfig, type ProvisionerConfig, type SaleorConfig } from './config-saleor';

/**
 * Configuration from the environment, validated once at start-up. Every problem is reported
 * at once with the variable's name, so a misconfigured deployment fails fast and clearly.
 */
export interface Config {
  env: 'development' | 'test' | 'production';
  logLevel: string;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  ports: { controlPlane: number; gateway: number; connectorGateway: number; runner: number; provisioner: number };
  /** Where each service reaches the others (defaults: this host's ports). */
  urls: { controlPlane: string; gateway: string; connectorGateway: string; runner: string; provisioner: string };
  oidc: { issuer?: string; audience: string; jwksUrl?: string; clockToleranceSeconds: number };
  redisUrl?: string;
  /** Shared token argocd-notifications sends in X-Argocd-Webhook-Token. */
  argocdWebhookToken?: string;
  /** Langflow run API (LANGFLOW_URL, LANGFLOW_API_KEY, LANGFLOW_TIMEOUT_MS); unset → the built-in runtime. */
  langflow?: { url: string; apiKey?: string; timeoutMs: number };
  /**
   * OpenAI-compatible model providers of the built-in runtime (src/platform/config-llm.ts);
   * unset → model nodes run on the deterministic offline model.
   */
  llm?: LlmConfig;
  /** Saleor instances allowed to send webhooks to the Provisioner (src/platform/config-saleor.ts). */
  saleor: SaleorConfig;
  /** The Provisioner's own Keycloak client (client-credentials grant towards the Control Plane). */
  provisioner: ProvisionerConfig;
  /** The Gateway's own Keycloak client and its widget-session signing secret. */
  gateway: GatewayConfig;
  /** Validate every response against the spec (tests, Newman runs); off in production. */
  validateResponses: boolean;
  /** Load the demo catalog (an Assistant and a RAG agent) at start-up; default on in development. */
  seedDemo: boolean;
  /** Vault KV v2 (src/secrets); no VAULT_ADDR → the encrypted local store under DATA_DIR. */
  vault: { addr?: string; token?: string; roleId?: string; secretId?: string; namespace?: string; mount: string };
  /** The Connector Gateway's own Keycloak client (CONNECTOR_GATEWAY_CLIENT_ID/SECRET/TOKEN_URL). */
  connectorGateway: { clientId: string; clientSecret?: string; tokenUrl?: string };
}

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
}

type Env = Record<string, string | undefined>;

class Problems {
  readonly list: string[] = [];
  add(name: string, message: string, value?: string) {
    this.list.push(`  ${name}: ${message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`);
  }
}

function str(env: Env, name: string, fallback?: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function int(env: Env, p: Problems, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) p.add(name, `must be an integer from ${min} to ${max}`, raw);
  return n;
}

function url(env: Env, p: Problems, name: string, fallback?: string, protocols = ['http:', 'https:']): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return fallback; // defaults are derived from already-checked values
  try {
    const u = new URL(raw);
    if (!protocols.includes(u.protocol)) p.add(name, `must be a ${protocols.join(' or ')} URL`, redactUrl(raw));
  } catch {
    p.add(name, 'must be an absolute URL', redactUrl(raw));
  }
  return raw;
}

/** Never echo credentials embedded in a URL. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^/@]*)@/, '//[redacted]@');
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Env = process.env): Config {
  const p = new Problems();
  const appEnv = str(env, 'APP_ENV', 'development')!;
  if (!['development', 'test', 'production'].includes(appEnv)) p.add('APP_ENV', 'must be development, test or production', appEnv);
  const host = str(env, 'HOST', '127.0.0.1')!;
  const ports = {
    controlPlane: int(env, p, 'CP_PORT', 8080, 0, 65535),
    gateway: int(env, p, 'GATEWAY_PORT', 8081, 0, 65535),
    connectorGateway: int(env, p, 'CONNECTOR_GATEWAY_PORT', 8082, 0, 65535),
    runner: int(env, p, 'RUNNER_PORT', 8083, 0, 65535),
    provisioner: int(env, p, 'PROVISIONER_PORT', 8084, 0, 65535),
  };
  const local = (port: number) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const config: Config = {
    env: appEnv as Config['env'],
    logLevel: str(env, 'LOG_LEVEL', appEnv === 'test' ? 'silent' : 'info')!,
    host,
    dataDir: str(env, 'DATA_DIR', '.data')!,
    databaseUrl: url(env, p, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
    ports,
    urls: {
      controlPlane: url(env, p, 'CP_BASE', local(ports.controlPlane))!,
      gateway: url(env, p, 'API_BASE', local(ports.gateway))!,
      connectorGateway: url(env, p, 'CONN_BASE', local(ports.connectorGateway))!,
      runner: url(env, p, 'RUNNER_BASE', local(ports.runner))!,
      provisioner: url(env, p, 'PROVISIONER_BASE', local(ports.provisioner))!,
    },
    oidc: {
      issuer: url(env, p, 'OIDC_ISSUER'),
      audience: str(env, 'OIDC_AUDIENCE', 'agent-store')!,
      jwksUrl: url(env, p, 'OIDC_JWKS_URL'),
      clockToleranceSeconds: int(env, p, 'OIDC_CLOCK_TOLERANCE_SECONDS', 30, 0, 300),
    },
    redisUrl: url(env, p, 'REDIS_URL', undefined, ['redis:', 'rediss:']),
    argocdWebhookToken: str(env, 'ARGOCD_WEBHOOK_TOKEN'),
    langflow: str(env, 'LANGFLOW_URL') === undefined ? undefined : {
      url: url(env, p, 'LANGFLOW_URL')!,
      apiKey: str(env, 'LANGFLOW_API_KEY'),
      timeoutMs: int(env, p, 'LANGFLOW_TIMEOUT_MS', 60_000, 1000, 600_000),
    },
    ...loadSaleorConfig(env, appEnv, (name, message, value) => p.add(name, message, value)),
    ...loadLlmConfig(env, (name, message, value) => p.add(name, message, value)),
    gateway: {
      clientId: str(env, 'GATEWAY_CLIENT_ID', 'gateway')!,
      clientSecret: str(env, 'GATEWAY_CLIENT_SECRET'),
      tokenUrl: url(env, p, 'GATEWAY_TOKEN_URL'),
      widgetSessionSecret: str(env, 'WIDGET_SESSION_SECRET'),
    },
    validateResponses: str(env, 'VALIDATE_RESPONSES') === '1',
    seedDemo: (str(env, 'SEED_DEMO') ?? (appEnv === 'development' ? '1' : '0')) === '1',
    vault: {
      addr: url(env, p, 'VAULT_ADDR'),
      token: str(env, 'VAULT_TOKEN'),
      roleId: str(env, 'VAULT_ROLE_ID'),
      secretId: str(env, 'VAULT_SECRET_ID'),
      namespace: str(env, 'VAULT_NAMESPACE'),
      mount: str(env, 'VAULT_KV_MOUNT', 'kv')!,
    },
    connectorGateway: {
      clientId: str(env, 'CONNECTOR_GATEWAY_CLIENT_ID', 'connector-gateway')!,
      clientSecret: str(env, 'CONNECTOR_GATEWAY_CLIENT_SECRET'),
      tokenUrl: url(env, p, 'CONNECTOR_GATEWAY_TOKEN_URL'),
    },
  };
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    p.add('LOG_LEVEL', 'must be one of fatal, error, warn, info, debug, trace, silent', config.logLevel);
  }
  if (config.env === 'production') {
    if (!config.databaseUrl) p.add('DATABASE_URL', 'is required in production (the embedded database is for development)');
    if (!config.oidc.issuer) p.add('OIDC_ISSUER', 'is required in production (the development issuer is refused)');
  }
  if (config.gateway.widgetSessionSecret !== undefined && Buffer.byteLength(config.gateway.widgetSessionSecret) < 32) {
    p.add('WIDGET_SESSION_SECRET', 'must be at least 32 bytes');
  }
  if (config.argocdWebhookToken !== undefined && config.argocdWebhookToken.length < 16) {
    p.add('ARGOCD_WEBHOOK_TOKEN', 'must be at least 16 characters');
  }
  if (config.vault.addr && !config.vault.token && !(config.vault.roleId && config.vault.secretId)) {
    p.add('VAULT_ADDR', 'needs VAULT_TOKEN or VAULT_ROLE_ID + VAULT_SECRET_ID');
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.vault.mount)) p.add('VAULT_KV_MOUNT', 'must be a plain mount name', config.vault.mount);
  if (p.list.length) throw new ConfigError(p.list);
  return config;
}
