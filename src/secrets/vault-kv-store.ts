/**
 * The real secret store: Vault's KV v2 HTTP API.
 *
 * - write `POST /v1/{mount}/data/{path}` `{"data":{…}}` → `data.version`;
 * - read `GET /v1/{mount}/data/{path}` → `data.data`, `data.metadata.version` (a soft-deleted
 *   version answers 404, or 200 with `data: null` and `metadata.deletion_time` set);
 * - revoke = **soft delete** `DELETE /v1/{mount}/data/{path}`: the current version stops being
 *   readable at once, while the metadata and older versions stay for audit and forensics (the
 *   control-plane spec: "deletes the secret's current version in Vault (metadata kept for
 *   audit)"). Destroying everything (`DELETE /v1/{mount}/metadata/{path}`) is an operator's call,
 *   not the API's.
 * Auth: `X-Vault-Token` (VAULT_TOKEN), or AppRole (`POST /v1/auth/approle/login`) when
 * VAULT_ROLE_ID/VAULT_SECRET_ID are set; the AppRole token is cached until shortly before its
 * lease ends and dropped on a 403. `X-Vault-Namespace` when VAULT_NAMESPACE is set.
 * Every attempt has a 2 s timeout; 503/504, timeouts and network errors are retried twice, then
 * the store fails closed with SecretStoreUnavailableError (→ 503 VAULT_UNAVAILABLE).
 * Vault's `{"errors":[…]}` bodies go to the internal error only; 403 → SecretForbiddenError,
 * 404 → SecretMissingError. Tokens and values are never put in an error or a log line.
 */
import { checkPath, SecretForbiddenError, SecretMissingError, SecretStoreUnavailableError, type SecretData, type SecretStore } from './secret-store';

export interface VaultKvOptions {
  addr: string;
  token?: string;
  roleId?: string;
  secretId?: string;
  namespace?: string;
  mount: string;
  timeoutMs?: number;
  /** Retries after the first attempt on 503/504/timeouts/network errors (default 2). */
  retries?: number;
  backoffMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

interface VaultAnswer {
  status: number;
  body: any;
}

const RENEW_EARLY_MS = 30_000;

export class VaultKvStore implements SecretStore {
  readonly kind = 'vault' as const;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private login?: { token: string; renewAt: number };
  private loginInflight?: Promise<string>;

  constructor(private readonly o: VaultKvOptions) {
    if (!o.token && !(o.roleId && o.secretId)) throw new Error('Vault needs VAULT_TOKEN or VAULT_ROLE_ID + VAULT_SECRET_ID');
    this.base = o.addr.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.retries = o.retries ?? 2;
    this.backoffMs = o.backoffMs ?? 50;
    this.fetchFn = o.fetch ?? fetch;
    this.now = o.now ?? Date.now;
  }

  async put(path: string, data: SecretData): Promise<number> {
    const r = await this.call('POST', `/v1/${this.o.mount}/data/${checkPath(path)}`, { data });
    if (r.status === 200 || r.status === 204) {
      const version = r.body?.data?.version;
      return typeof version === 'number' ? version : 1;
    }
    throw this.failure(r, path);
  }

  async get(path: string): Promise<{ data: SecretData; version: number }> {
    const r = await this.call('GET', `/v1/${this.o.mount}/data/${checkPath(path)}`);
    if (r.status === 200) {
      const d = r.body?.data;
      if (!d || !d.data || d.metadata?.deletion_time || d.metadata?.destroyed) throw new SecretMissingError(path);
      return { data: d.data as SecretData, version: Number(d.metadata?.version ?? 1) };
    }
    throw this.failure(r, path);
  }

  async delete(path: string): Promise<void> {
    const r = await this.call('DELETE', `/v1/${this.o.mount}/data/${checkPath(path)}`);
    if (r.status === 204 || r.status === 200 || r.status === 404) return;
    throw this.failure(r, path);
  }

  private failure(r: VaultAnswer, path: string): Error {
    if (r.status === 404) return new SecretMissingError(path);
    if (r.status === 403) return new SecretForbiddenError(path);
    const errors = Array.isArray(r.body?.errors) ? r.body.errors.length : 0;
    return new SecretStoreUnavailableError(`vault answered ${r.status} (${errors} error(s))`);
  }

  private async token(): Promise<string> {
    if (this.o.token && !(this.o.roleId && this.o.secretId)) return this.o.token;
    if (this.login && this.now() < this.login.renewAt) return this.login.token;
    this.loginInflight ??= (async () => {
      try {
        const r = await this.attempts('POST', '/v1/auth/approle/login', { role_id: this.o.roleId, secret_id: this.o.secretId }, undefined);
        if (r.status === 403 || r.status === 400) throw new SecretForbiddenError('auth/approle/login');
        const auth = r.body?.auth;
        if (r.status !== 200 || typeof auth?.client_token !== 'string') throw new SecretStoreUnavailableError(`approle login answered ${r.status}`);
        const lease = Number(auth.lease_duration ?? 0) * 1000;
        this.login = { token: auth.client_token, renewAt: this.now() + Math.max(0, lease - RENEW_EARLY_MS) };
        return auth.client_token as string;
      } finally {
        this.loginInflight = undefined;
      }
    })();
    return this.loginInflight;
  }

  private async call(method: string, path: string, body?: unknown): Promise<VaultAnswer> {
    const usesAppRole = !!(this.o.roleId && this.o.secretId);
    let r = await this.attempts(method, path, body, await this.token());
    if (r.status === 403 && usesAppRole) {
      // The cached AppRole token may have been revoked: log in again once.
      this.login = undefined;
      r = await this.attempts(method, path, body, await this.token());
    }
    return r;
  }

  /** One request with the timeout, retried on 503/504/timeouts/network errors. */
  private async attempts(method: string, path: string, body: unknown, token: string | undefined): Promise<VaultAnswer> {
    let lastReason = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * attempt));
      try {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (token) headers['x-vault-token'] = token;
        if (this.o.namespace) headers['x-vault-namespace'] = this.o.namespace;
        if (body !== undefined) headers['content-type'] = 'application/json';
        const res = await this.fetchFn(this.base + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        const text = await res.text();
        let parsed: unknown = undefined;
        if (text) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
        }
        if (res.status === 503 || res.status === 504) {
          lastReason = `vault answered ${res.status}`;
          continue;
        }
        return { status: res.status, body: parsed };
      } catch (err) {
        lastReason = (err as Error)?.name === 'TimeoutError' ? `timeout after ${this.timeoutMs} ms` : 'network error';
      }
    }
    throw new SecretStoreUnavailableError(`${lastReason} after ${this.retries + 1} attempts`);
  }
}
