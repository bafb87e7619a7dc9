/**
 * The systems besides the stack that the Newman run talks to, in one process: Vault (KV v2 with
 * seal/unseal over its HTTP API, test/support/vault-kv-server.ts) and the upstream API of the tool
 * calls (upstream-api.ts). Prints one JSON line with their addresses when ready; stops on SIGTERM.
 */
import { startFakeVault } from '../test/support/vault-kv-server';
import { startUpstreamApi } from './upstream-api';

const vault = await startFakeVault();
const upstream = await startUpstreamApi();
console.log(JSON.stringify({ vaultAddr: vault.url, vaultToken: vault.rootToken, vaultUnsealKey: vault.unsealKey, upstream: upstream.url }));
const stop = async () => {
  await Promise.all([vault.close(), upstream.close()]);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
