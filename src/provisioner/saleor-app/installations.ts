/**
 * Saleor instances that installed the app (`POST /api/register`). The app token is a secret: it
 * goes to the platform's secret store (Vault KV v2, or the AES-GCM local store) at
 * `saleor-apps/<instanceTag>`; the `saleor_app_installations` table keeps only which instance,
 * its app id and the secret's path and version — never the token. Nothing here logs it.
 */
import type { Knex } from 'knex';
import { saleorInstanceTag } from '../../commerce/saleor-keys';
import { type SecretStore, vaultUnavailable } from '../../secrets';

export interface SaleorAppInstallation {
  saleorApiUrl: string;
  appId: string;
  secretPath: string;
  secretVersion: number;
  saleorDomain: string | null;
  schemaVersion: string | null;
  installedAt: Date;
  updatedAt: Date;
}

interface Row {
  saleor_api_url: string;
  app_id: string;
  secret_path: string;
  secret_version: number;
  saleor_domain: string | null;
  schema_version: string | null;
  installed_at: Date;
  updated_at: Date;
}

const TABLE = 'saleor_app_installations';

const toInstallation = (r: Row): SaleorAppInstallation => ({
  saleorApiUrl: r.saleor_api_url,
  appId: r.app_id,
  secretPath: r.secret_path,
  secretVersion: r.secret_version,
  saleorDomain: r.saleor_domain,
  schemaVersion: r.schema_version,
  installedAt: new Date(r.installed_at),
  updatedAt: new Date(r.updated_at),
});

export const appTokenPath = (saleorApiUrl: string) => `saleor-apps/${saleorInstanceTag(saleorApiUrl)}`;

export interface SaleorAppInstallations {
  /** Stores the token (secret store) and records the installation; a reinstall replaces both. */
  save(input: { saleorApiUrl: string; appId: string; token: string; saleorDomain: string | null; schemaVersion: string | null }): Promise<SaleorAppInstallation>;
  get(saleorApiUrl: string): Promise<SaleorAppInstallation | undefined>;
  /** The app token of an installed instance (for calls to its API). */
  token(saleorApiUrl: string): Promise<string | undefined>;
}

export function createSaleorAppInstallations(db: Knex, secrets: SecretStore, now: () => Date = () => new Date()): SaleorAppInstallations {
  return {
    async save(input) {
      const path = appTokenPath(input.saleorApiUrl);
      // The secret first: a row never points at a token that was not written.
      let version: number;
      try {
        version = await secrets.put(path, { token: input.token, appId: input.appId, saleorApiUrl: input.saleorApiUrl });
      } catch (err) {
        throw vaultUnavailable({ reason: 'saleor_app_token' }, err);
      }
      const at = now();
      const { rows } = (await db.raw(
        `insert into ${TABLE} (saleor_api_url, app_id, secret_path, secret_version, saleor_domain, schema_version, installed_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (saleor_api_url) do update set
           app_id = excluded.app_id, secret_path = excluded.secret_path, secret_version = excluded.secret_version,
           saleor_domain = excluded.saleor_domain, schema_version = excluded.schema_version, updated_at = excluded.updated_at
         returning *`,
        [input.saleorApiUrl, input.appId, path, version, input.saleorDomain, input.schemaVersion, at, at],
      )) as { rows: Row[] };
      return toInstallation(rows[0]!);
    },

    async get(saleorApiUrl) {
      const row = await db<Row>(TABLE).where({ saleor_api_url: saleorApiUrl }).first();
      return row ? toInstallation(row) : undefined;
    },

    async token(saleorApiUrl) {
      const row = await db<Row>(TABLE).where({ saleor_api_url: saleorApiUrl }).first();
      if (!row) return undefined;
      return (await secrets.get(row.secret_path)).data.token;
    },
  };
}
