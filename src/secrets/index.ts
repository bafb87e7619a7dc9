import path from 'node:path';
import type { Config } from '../platform/config';
import { LocalEncryptedSecretStore } from './local-encrypted-store';
import type { SecretStore } from './secret-store';
import { VaultKvStore } from './vault-kv-store';

export * from './secret-store';
export { LocalEncryptedSecretStore } from './local-encrypted-store';
export { VaultKvStore } from './vault-kv-store';

/** Vault KV v2 (SECRET_STORE=vault, the default with VAULT_ADDR), else the encrypted local store under DATA_DIR. */
export function createSecretStore(config: Config): SecretStore {
  const v = config.vault;
  if (v.store === 'vault' && v.addr) {
    return new VaultKvStore({ addr: v.addr, token: v.token, roleId: v.roleId, secretId: v.secretId, namespace: v.namespace, mount: v.mount });
  }
  return new LocalEncryptedSecretStore(path.join(config.dataDir, 'secrets'));
}
