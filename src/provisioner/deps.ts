import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createCatalogResolver, createOrderPaidClient } from './order-paid-client';
import { createDeadLetterStore } from './dead-letters';
import { createInboxStore } from './inbox';
import { createInboxWorker, type InboxWorker } from './inbox-worker';
import { createProvisioner, type DeliverySchedule, type Provisioner } from './service';
import { createSaleorAppInstallations, type SaleorAppInstallations } from './saleor-app/installations';
import { type AppIdLookup, saleorAppIdLookup } from './saleor-app/register';
import { createSecretStore, type SecretStore } from '../secrets';
import { createSaleorSignatureVerifier, type JwksFetcher, type SaleorSignatureVerifier } from './signature';
import { clientCredentialsTokenSource, devIssuerTokenSource, type TokenSource } from '../auth/token-source';

/** What every provisioner handler receives as `ctx.deps`. */
export interface ProvisionerDeps {
  config: Config;
  log: Logger;
  db: Knex;
  identity: Identity;
  /** Saleor webhook signature verification (JWS/JWKS or legacy HMAC). */
  signature: SaleorSignatureVerifier;
  /** Holds verified orders (inbox), delivers them, replays dead letters. */
  provisioner: Provisioner;
  /** Delivers the inbox in the background; `kick` after holding an order. */
  inboxWorker: InboxWorker;
  /** The Saleor app: installations (tokens in the secret store) and the token check at registration. */
  saleorApp: { installations: SaleorAppInstallations; appIdOf: AppIdLookup };
}

export interface ProvisionerDepsOverrides {
  /** The Control Plane's base URL; default `config.urls.controlPlane`. */
  controlPlaneUrl?: () => string;
  /** The inbox's round schedule (tests shorten it). */
  schedule?: Partial<DeliverySchedule>;
  /** The inbox worker's poll interval (ms). */
  pollMs?: number;
  tokens?: TokenSource;
  fetch?: typeof fetch;
  fetchJwks?: JwksFetcher;
  secrets?: SecretStore;
  appIdOf?: AppIdLookup;
}

/** The service token source for this deployment: Keycloak client credentials, or the dev issuer. */
export function provisionerTokenSource(config: Config, identity: Identity, fetchImpl?: typeof fetch): TokenSource {
  if (identity.devIssuer) return devIssuerTokenSource(identity.devIssuer, { service: 'provisioner', audience: config.oidc.audience });
  const { clientId, clientSecret, tokenUrl } = config.provisioner;
  if (!clientSecret) {
    throw new Error('The provisioner needs PROVISIONER_CLIENT_SECRET (its Keycloak client secret) when OIDC_ISSUER is set');
  }
  return clientCredentialsTokenSource({ issuer: identity.issuer, clientId, clientSecret, tokenUrl, fetch: fetchImpl });
}

export function createProvisionerDeps(base: { config: Config; log: Logger; db: Knex; identity: Identity }, o: ProvisionerDepsOverrides = {}): ProvisionerDeps {
  const { config } = base;
  const controlPlaneUrl = o.controlPlaneUrl ?? (() => config.urls.controlPlane);
  if (config.saleor.apiUrls.length === 0) {
    base.log.warn({ service: 'provisioner' }, 'SALEOR_API_URLS is empty: every Saleor webhook will be refused');
  }
  const signature = createSaleorSignatureVerifier({
    apiUrls: config.saleor.apiUrls,
    webhookSecrets: config.saleor.webhookSecrets,
    ttlMs: config.saleor.jwksTtlSeconds * 1000,
    refetchCooldownMs: config.saleor.jwksRefetchCooldownSeconds * 1000,
    fetchJwks: o.fetchJwks,
  });
  const provisioner = createProvisioner({
    client: createOrderPaidClient({ baseUrl: controlPlaneUrl, tokens: o.tokens ?? provisionerTokenSource(config, base.identity, o.fetch), fetch: o.fetch }),
    catalog: createCatalogResolver({ baseUrl: controlPlaneUrl, fetch: o.fetch }),
    deadLetters: createDeadLetterStore(base.db),
    inbox: createInboxStore(base.db),
    schedule: {
      maxDelayMs: config.provisioner.inboxMaxDelaySeconds * 1000,
      retryHorizonMs: config.provisioner.inboxRetryHours * 3600_000,
      ...o.schedule,
    },
  });
  const inboxWorker = createInboxWorker({
    inbox: provisioner.inbox,
    deliverRound: (record, ctx) => provisioner.deliverRound(record, ctx),
    log: base.log.child({ service: 'provisioner' }),
    pollMs: o.pollMs ?? config.provisioner.inboxPollMs,
  });
  const saleorApp = {
    installations: createSaleorAppInstallations(base.db, o.secrets ?? createSecretStore(config)),
    appIdOf: o.appIdOf ?? saleorAppIdLookup(o.fetch),
  };
  return { ...base, signature, provisioner, inboxWorker, saleorApp };
}
