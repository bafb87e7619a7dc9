import { defineSection } from '../define';

export interface VaultConfig {
  /**
   * Where connector credentials live: `vault` (KV v2) or `local` (AES-256-GCM files under
   * `<DATA_DIR>/secrets/`). `SECRET_STORE`, default `vault` when VAULT_ADDR is set. `explicit`
   * tells whether the operator chose it (production refuses an implicit local store).
   */
  store: 'vault' | 'local';
  explicit: boolean;
  addr?: string;
  token?: string;
  roleId?: string;
  secretId?: string;
  namespace?: string;
  /** The KV v2 mount holding `connectors/{org}/{project}/{binding}`; manifests reference `<mount>/data/…`. */
  mount: string;
}

/** The secret store for connector credentials: Vault KV v2, or the encrypted local store. */
export const vault = defineSection({
  id: 'vault',
  title: 'Secret store (Vault KV v2)',
  vars: {
    SECRET_STORE: { doc: 'vault or local (AES-256-GCM files under <DATA_DIR>/secrets/). Production needs Vault or this set to local on purpose.', default: 'vault when VAULT_ADDR is set, else local' },
    VAULT_ADDR: { doc: 'Vault address for connector credentials (KV v2).', example: 'https://vault.example.com:8200', required: 'production unless SECRET_STORE=local (control-plane, connector-gateway)' },
    VAULT_TOKEN: { doc: 'Static Vault token.', secret: true },
    VAULT_ROLE_ID: { doc: 'AppRole role id (login instead of a static token; the token is cached until its lease ends).' },
    VAULT_SECRET_ID: { doc: 'AppRole secret id.', secret: true },
    VAULT_NAMESPACE: { doc: 'X-Vault-Namespace (Vault Enterprise/HCP).' },
    VAULT_KV_MOUNT: { doc: 'The KV v2 mount holding connectors/{org}/{project}/{binding}; ExternalSecrets in GitOps manifests reference <mount>/data/….', default: 'kv' },
  },
  read(r): { vault: VaultConfig } {
    const addr = r.url('VAULT_ADDR');
    const chosen = r.oneOf('SECRET_STORE', ['vault', 'local'] as const);
    const store = chosen ?? (addr ? 'vault' : 'local');
    const token = r.str('VAULT_TOKEN');
    const roleId = r.str('VAULT_ROLE_ID');
    const secretId = r.str('VAULT_SECRET_ID');
    if (store === 'vault' && !addr) r.problem('VAULT_ADDR', 'is required with SECRET_STORE=vault');
    if (store === 'local' && chosen && addr) r.problem('SECRET_STORE', 'is local, but VAULT_ADDR is set: choose one');
    if (addr && !token && !(roleId && secretId)) r.problem('VAULT_ADDR', 'needs VAULT_TOKEN or VAULT_ROLE_ID + VAULT_SECRET_ID');
    const mount = r.str('VAULT_KV_MOUNT', 'kv');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(mount)) r.problem('VAULT_KV_MOUNT', 'must be a plain mount name', mount);
    return { vault: { store, explicit: chosen !== undefined, addr, token, roleId, secretId, namespace: r.str('VAULT_NAMESPACE'), mount } };
  },
});
