import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../platform/config';
import type { RemoteCredentials } from './git';
import { redactRemoteUrl } from './git';

/**
 * GitOps settings from the environment (read with the rest of the configuration at start-up):
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `GITOPS_ENV` | `dev` | the `<env>` in `clusters/<env>/instances/…` |
 * | `GITOPS_DIR` | `<DATA_DIR>/gitops` | local clone / embedded repository |
 * | `GITOPS_BRANCH` | `main` | branch Argo CD tracks |
 * | `GITOPS_REMOTE_URL` | — | push every commit there (`https://`, `ssh://`, `file://`) |
 * | `GITOPS_USERNAME`, `GITOPS_TOKEN` | — | HTTP credentials, sent as a header through git's environment |
 * | `GITOPS_AUTH_SCHEME` | `basic` | `basic` (username + token) or `bearer` (token) |
 * | `GITOPS_AUTHOR_NAME`, `GITOPS_AUTHOR_EMAIL` | Agent Store Control Plane | commit author |
 * | `GITOPS_RECONCILER` | `builtin` without a remote, `argocd` with one | who reports deployment health |
 */
export interface GitopsConfig {
  env: string;
  dir: string;
  branch: string;
  author: { name: string; email: string };
  remote?: { url: string; credentials?: RemoteCredentials };
  reconciler: 'builtin' | 'argocd';
}

export function gitopsConfigFromEnv(env: Record<string, string | undefined>, dataDir: string): GitopsConfig {
  const problems: string[] = [];
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const gitopsEnv = get('GITOPS_ENV') ?? 'dev';
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(gitopsEnv)) problems.push(`  GITOPS_ENV: must be letters, digits, '_' or '-' (got ${JSON.stringify(gitopsEnv)})`);
  const dir = get('GITOPS_DIR') ?? join(dataDir, 'gitops');
  const branch = get('GITOPS_BRANCH') ?? 'main';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) || branch.includes('..')) problems.push(`  GITOPS_BRANCH: not a valid branch name (got ${JSON.stringify(branch)})`);
  const rawUrl = get('GITOPS_REMOTE_URL');
  let remote: GitopsConfig['remote'];
  if (rawUrl) {
    const scpLike = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(rawUrl);
    let ok = scpLike;
    if (!scpLike) {
      try {
        ok = ['https:', 'http:', 'ssh:', 'file:', 'git:'].includes(new URL(rawUrl).protocol);
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push(`  GITOPS_REMOTE_URL: must be an https://, ssh://, file:// URL or user@host:path (got ${JSON.stringify(redactRemoteUrl(rawUrl))})`);
    const token = get('GITOPS_TOKEN');
    const scheme = get('GITOPS_AUTH_SCHEME') ?? 'basic';
    if (scheme !== 'basic' && scheme !== 'bearer') problems.push(`  GITOPS_AUTH_SCHEME: must be basic or bearer`);
    remote = { url: rawUrl, credentials: token ? { username: get('GITOPS_USERNAME'), password: token, scheme: scheme as 'basic' | 'bearer' } : undefined };
  }
  const reconciler = get('GITOPS_RECONCILER') ?? (remote ? 'argocd' : 'builtin');
  if (reconciler !== 'builtin' && reconciler !== 'argocd') problems.push(`  GITOPS_RECONCILER: must be builtin or argocd`);
  if (!isAbsolute(dir) && dir.includes('..')) problems.push(`  GITOPS_DIR: must not contain '..'`);
  if (problems.length) throw new ConfigError(problems);
  return {
    env: gitopsEnv,
    dir,
    branch,
    author: { name: get('GITOPS_AUTHOR_NAME') ?? 'Agent Store Control Plane', email: get('GITOPS_AUTHOR_EMAIL') ?? 'control-plane@agentstore.invalid' },
    remote,
    reconciler: reconciler as GitopsConfig['reconciler'],
  };
}
