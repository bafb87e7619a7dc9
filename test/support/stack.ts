import { mkdtempSync, rmSync } from 'node:fs';
import type { Knex } from 'knex';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/platform/config';
import type { ConnectorGatewayOverrides } from '../../src/connector-gateway/build-deps';
import type { InstanceExportOptions } from '../../src/platform/tracing';
import { createLogger, type Logger } from '../../src/platform/logger';
import { startStack, type ServiceName, type Stack } from '../../src/stack';
import { openTestDb, testDatabaseUrl } from './db';

export interface TestStack extends Stack {
  url(service: ServiceName): string;
  /** A token from the development issuer (user or platform service); `ttlSeconds` default 300, as Keycloak's. */
  userToken(email?: string, roles?: string[], ttlSeconds?: number): Promise<string>;
  serviceToken(service: 'gateway' | 'provisioner' | 'runner' | 'connector-gateway' | 'argocd' | 'scheduler', ttlSeconds?: number): Promise<string>;
}

/**
 * Starts the named services on free ports against a fresh migrated database (PGlite, or
 * PostgreSQL when TEST_DATABASE_URL is set), with every response validated against its spec:
 * a response that breaks the contract turns into a 500 naming the violation.
 */
export async function startTestStack(
  services: ServiceName[],
  env: Record<string, string> = {},
  opts: {
    log?: Logger; connectorGateway?: ConnectorGatewayOverrides; validateResponses?: boolean; reuse?: ReusedState; instanceExport?: InstanceExportOptions;
    /** The gateway records quota runs' charges in the test database's usage journal (PostgreSQL only). */
    usageJournal?: boolean;
  } = {},
): Promise<TestStack> {
  const dataDir = opts.reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'agent-store-test-'));
  const environment: Record<string, string | undefined> = {
    ...process.env,
    APP_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: dataDir,
    CP_PORT: '0',
    GATEWAY_PORT: '0',
    CONNECTOR_GATEWAY_PORT: '0',
    RUNNER_PORT: '0',
    PROVISIONER_PORT: '0',
    ...env,
  };
  let config: Config = loadConfig(environment);
  const needsDb = services.includes('control-plane') || services.includes('provisioner') || (services.includes('runner') && !!config.langflow);
  const testDb = needsDb && !opts.reuse ? await openTestDb() : undefined;
  if (opts.usageJournal) {
    if (testDb?.engine !== 'postgres' || !testDb.schema) throw new Error('usageJournal needs TEST_DATABASE_URL (PostgreSQL)');
    const url = new URL(testDatabaseUrl()!);
    url.searchParams.set('options', `-c search_path=${testDb.schema}`);
    config = loadConfig({ ...environment, GATEWAY_USAGE_JOURNAL_URL: url.toString() });
  }
  const db = opts.reuse?.db ?? testDb?.db;
  const stack = await startStack(config, opts.log ?? createLogger({ level: config.logLevel }), { services, validateResponses: opts.validateResponses ?? true, db, connectorGateway: opts.connectorGateway, instanceExport: opts.instanceExport });
  const issuer = stack.identity.devIssuer!;
  return {
    ...stack,
    url(service) {
      const app = stack.apps.find((a) => a.name === service);
      if (!app) throw new Error(`${service} is not running in this test stack`);
      return app.url;
    },
    userToken(email = 'buyer@example.com', roles = [], ttlSeconds) {
      return issuer.mint({ kind: 'user', subject: `user-${email}`, email, roles, audience: config.oidc.audience, clientId: 'storefront', ttlSeconds });
    },
    serviceToken(service, ttlSeconds) {
      return issuer.mint({
        ttlSeconds,
        kind: 'service',
        subject: `service-account-${service}`,
        clientId: service,
        roles: [`svc:${service}`],
        audience: config.oidc.audience,
      });
    },
    async close() {
      await stack.close();
      // A reused database and data directory belong to the test that passed them.
      if (opts.reuse) return;
      await testDb?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The state a stack runs on, for a test that stops a stack and starts another on the same
 * database and data directory (a restart); the test closes the database and removes the directory.
 */
export interface ReusedState {
  db: Knex;
  dataDir: string;
}

export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small fetch wrapper: JSON in, JSON (or text) out, never throws on a status. */
export async function http<T = any>(
  method: string,
  url: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T };
}
