import { AppError } from '../platform/errors';

/** Secret values: flat string maps (a connector credential). */
export type SecretData = Record<string, string>;

/**
 * Where connector credentials live. Paths are relative to the store's mount, e.g.
 * `connectors/{orgId}/{projectId}/{bindingId}`; values never leave through errors or logs.
 */
export interface SecretStore {
  /** Writes a new version; answers its version number (1, 2, …). */
  put(path: string, data: SecretData): Promise<number>;
  /** The current version, or SecretMissingError when there is none (never written, or deleted). */
  get(path: string): Promise<{ data: SecretData; version: number }>;
  /** Deletes the current version (idempotent: deleting a missing secret succeeds). */
  delete(path: string): Promise<void>;
  /** What `kind` of store this is (for logs and the start-up banner). */
  readonly kind: 'vault' | 'local';
}

export class SecretMissingError extends Error {
  constructor(readonly path: string) {
    super(`No secret at ${path}`);
    this.name = 'SecretMissingError';
  }
}

/** Vault refused the store's own credential (403): a deployment problem, answered as unavailable. */
export class SecretForbiddenError extends Error {
  constructor(readonly path: string) {
    super(`The secret store refused access to ${path}`);
    this.name = 'SecretForbiddenError';
  }
}

/** Sealed, down, timing out or answering 5xx after the retries. */
export class SecretStoreUnavailableError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The secret store is unavailable: ${reason}`, options);
    this.name = 'SecretStoreUnavailableError';
  }
}

/** The public answer for any failure to reach the store: 503 VAULT_UNAVAILABLE, fail closed. */
export function vaultUnavailable(details: Record<string, unknown> = {}, cause?: unknown): AppError {
  return new AppError('VAULT_UNAVAILABLE', 'The secret store is unavailable; the call was refused', details, { cause });
}

/** The path of a connector binding's credential inside the KV mount. */
export function bindingSecretPath(orgId: string, projectId: string, bindingId: string): string {
  return `connectors/${orgId}/${projectId}/${bindingId}`;
}

/** The reference the API shows (`kv/data/connectors/...`): the KV v2 data path, never the value. */
export function vaultReference(mount: string, path: string): string {
  return `${mount}/data/${path}`;
}

const SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
/** Refuses traversal and odd characters: a path is `/`-separated safe segments. */
export function checkPath(path: string): string {
  const parts = path.split('/');
  if (parts.length === 0 || parts.length > 8 || !parts.every((p) => SEGMENT.test(p))) throw new Error(`Invalid secret path ${JSON.stringify(path)}`);
  return path;
}
