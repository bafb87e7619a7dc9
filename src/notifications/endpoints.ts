/**
 * An org's notification endpoint: where its notifications go. A webhook `url` (signed with a
 * secret shown once, kept in the secret store at `notifications/<orgId>/webhook`), an `email`
 * address, and/or `emailAdmins` (the org's owners' and admins' verified addresses).
 *
 * The webhook URL is checked here (https outside development, no credentials in it, and every
 * address its host resolves to public — the platform's SSRF guard, src/platform/net-guard.ts) and
 * again at each delivery (webhook-channel.ts), since DNS may change in between.
 */
import type { Knex } from 'knex';
import { one } from '../db/tx';
import { AppError } from '../platform/errors';
import { resolveChecked, type Resolver } from '../platform/net-guard';
import { SecretForbiddenError, SecretMissingError, SecretStoreUnavailableError, vaultUnavailable, type SecretStore } from '../secrets/secret-store';
import { newSigningSecret } from './webhook-signature';

export interface EndpointRow {
  org_id: string;
  url: string | null;
  email: string | null;
  email_admins: boolean;
  secret_version: number | null;
  created_at: Date;
  updated_at: Date;
}

export interface EndpointView {
  orgId: string;
  url: string | null;
  email: string | null;
  emailAdmins: boolean;
  /** A webhook signing secret exists (its value is only ever shown when issued). */
  hasSecret: boolean;
  createdAt: string;
  updatedAt: string;
  /** Only in the answer that issued it. */
  secret?: string;
}

export interface EndpointInput {
  url?: string | null;
  email?: string | null;
  emailAdmins?: boolean;
}

export interface TargetPolicy {
  /** Private, loopback, link-local targets and plain http allowed (development). */
  allowPrivateTargets: boolean;
  resolver: Resolver;
}

export const webhookSecretPath = (orgId: string) => `notifications/${orgId}/webhook`;

export function endpointView(r: EndpointRow, secret?: string): EndpointView {
  return {
    orgId: r.org_id,
    url: r.url,
    email: r.email,
    emailAdmins: r.email_admins,
    hasSecret: r.secret_version !== null,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
    ...(secret ? { secret } : {}),
  };
}

export const targetRefused = (reason: 'insecure_scheme' | 'credentials_in_url' | 'private_network' | 'unresolvable' | 'invalid_url', host?: string) =>
  new AppError(
    'NOTIFICATION_TARGET_REFUSED',
    {
      insecure_scheme: 'Notification webhooks must use https',
      credentials_in_url: 'A notification webhook URL must not carry credentials',
      private_network: 'The webhook URL resolves to a private, loopback or link-local address',
      unresolvable: 'The webhook URL\'s host does not resolve',
      invalid_url: 'The webhook URL is not an absolute http(s) URL',
    }[reason],
    { reason, ...(host ? { host } : {}) },
  );

/** Checks a webhook target as registration and every delivery do; answers the parsed URL. */
export async function checkTarget(raw: string, policy: TargetPolicy): Promise<URL> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw targetRefused('invalid_url');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw targetRefused('invalid_url');
  if (u.protocol === 'http:' && !policy.allowPrivateTargets) throw targetRefused('insecure_scheme', u.hostname);
  if (u.username || u.password) throw targetRefused('credentials_in_url', u.hostname);
  try {
    await resolveChecked(u.hostname, policy.allowPrivateTargets, policy.resolver);
  } catch (err) {
    if (err instanceof AppError && err.code === 'POLICY_DENIED') throw targetRefused('private_network', u.hostname);
    throw targetRefused('unresolvable', u.hostname);
  }
  return u;
}

const storeError = (err: unknown) => (err instanceof SecretStoreUnavailableError || err instanceof SecretForbiddenError ? vaultUnavailable({}, err) : err);

export async function getEndpoint(db: Knex | Knex.Transaction, orgId: string): Promise<EndpointRow | undefined> {
  return one<EndpointRow>(db, `select * from notification_endpoints where org_id = ?`, [orgId]);
}

/** The webhook secret, or undefined when there is none. */
export async function readWebhookSecret(secrets: SecretStore, orgId: string): Promise<string | undefined> {
  try {
    return (await secrets.get(webhookSecretPath(orgId))).data.secret;
  } catch (err) {
    if (err instanceof SecretMissingError) return undefined;
    throw err;
  }
}

/**
 * The org's endpoint writes, one at a time (a transaction-scoped advisory lock per org): the
 * read of the current secret version, a new secret and the row written after it are one step,
 * so two first PUTs at the same moment cannot both issue a secret (the loser's would never
 * verify), and a rotation or a delete never interleaves with them.
 */
function inEndpointLock<T>(db: Knex, orgId: string, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await trx.raw(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`notification-endpoint:${orgId}`]);
    return work(trx);
  });
}

/**
 * Creates or replaces the org's endpoint. A webhook URL without a secret yet gets one, answered
 * once (`secret`); replacing the URL keeps the secret (rotate it with `rotateSecret`).
 */
export async function putEndpoint(db: Knex, secrets: SecretStore, policy: TargetPolicy, orgId: string, input: EndpointInput, now = new Date()): Promise<{ view: EndpointView; created: boolean }> {
  const url = input.url ?? null;
  const email = input.email ? input.email.trim().toLowerCase() : null;
  const emailAdmins = input.emailAdmins ?? false;
  if (!url && !email && !emailAdmins) throw new AppError('UNPROCESSABLE', 'Give a webhook url, an email, or emailAdmins: true', { fields: ['url', 'email', 'emailAdmins'] });
  if (url) await checkTarget(url, policy);
  return inEndpointLock(db, orgId, (trx) => writeEndpoint(trx, secrets, orgId, { url, email, emailAdmins }, now));
}

async function writeEndpoint(db: Knex.Transaction, secrets: SecretStore, orgId: string, input: { url: string | null; email: string | null; emailAdmins: boolean }, now: Date): Promise<{ view: EndpointView; created: boolean }> {
  const { url, email, emailAdmins } = input;
  const existing = await getEndpoint(db, orgId);
  let secret: string | undefined;
  let version = existing?.secret_version ?? null;
  if (url && version === null) {
    secret = newSigningSecret();
    version = await secrets.put(webhookSecretPath(orgId), { secret }).catch((err) => {
      throw storeError(err);
    });
  }
  const row = await one<EndpointRow>(
    db,
    `insert into notification_endpoints (org_id, url, email, email_admins, secret_version, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)
     on conflict (org_id) do update set url = excluded.url, email = excluded.email, email_admins = excluded.email_admins,
       secret_version = excluded.secret_version, updated_at = excluded.updated_at
     returning *`,
    [orgId, url, email, emailAdmins, version, now, now],
  );
  return { view: endpointView(row!, secret), created: !existing };
}

/** Issues a new webhook secret (the old one stops signing at once); answers it once. */
export function rotateSecret(db: Knex, secrets: SecretStore, orgId: string, now = new Date()): Promise<EndpointView> {
  return inEndpointLock(db, orgId, (trx) => rotateLocked(trx, secrets, orgId, now));
}

async function rotateLocked(db: Knex.Transaction, secrets: SecretStore, orgId: string, now: Date): Promise<EndpointView> {
  const existing = await getEndpoint(db, orgId);
  if (!existing) throw new AppError('NOT_FOUND', 'This org has no notification endpoint');
  if (!existing.url) throw new AppError('CONFLICT', 'The notification endpoint has no webhook url to sign for', { orgId });
  const secret = newSigningSecret();
  const version = await secrets.put(webhookSecretPath(orgId), { secret }).catch((err) => {
    throw storeError(err);
  });
  const row = await one<EndpointRow>(db, `update notification_endpoints set secret_version = ?, updated_at = ? where org_id = ? returning *`, [version, now, orgId]);
  return endpointView(row!, secret);
}

/** Removes the endpoint and its secret; pending webhook notifications then dead-letter. */
export function deleteEndpoint(db: Knex, secrets: SecretStore, orgId: string): Promise<void> {
  return inEndpointLock(db, orgId, (trx) => deleteLocked(trx, secrets, orgId));
}

async function deleteLocked(db: Knex.Transaction, secrets: SecretStore, orgId: string): Promise<void> {
  const existing = await getEndpoint(db, orgId);
  if (!existing) throw new AppError('NOT_FOUND', 'This org has no notification endpoint');
  await db.raw(`delete from notification_endpoints where org_id = ?`, [orgId]);
  if (existing.secret_version !== null) {
    await secrets.delete(webhookSecretPath(orgId)).catch((err) => {
      throw storeError(err);
    });
  }
}
