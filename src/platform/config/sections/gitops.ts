import { isAbsolute, join } from 'node:path';
import { defineSection, redactUrl } from '../define';

/** Credentials for the desired-state remote (the shape src/gitops/git.ts hands to git). */
export interface GitopsRemoteCredentials {
  username?: string;
  password?: string;
  scheme?: 'basic' | 'bearer';
}

export interface GitopsConfig {
  /** The `<env>` in `clusters/<env>/instances/…`. */
  env: string;
  /** Local clone / embedded repository. */
  dir: string;
  branch: string;
  author: { name: string; email: string };
  remote?: { url: string; credentials?: GitopsRemoteCredentials };
  /** Who reports deployment health: the built-in reconciler or Argo CD's notifications webhook. */
  reconciler: 'builtin' | 'argocd';
}

/** Where desired state is committed (and pushed), and who reports deployment health back. */
export const gitops = defineSection({
  id: 'gitops',
  title: 'GitOps (desired-state repository, Argo CD)',
  vars: {
    GITOPS_ENV: { doc: 'The <env> path segment: clusters/<env>/instances/<org>/<project>/<instance>/.', default: 'dev' },
    GITOPS_DIR: { doc: 'Local clone of the desired-state repository (or the embedded repository).', default: '<DATA_DIR>/gitops' },
    GITOPS_BRANCH: { doc: 'Branch Argo CD tracks.', default: 'main' },
    GITOPS_REMOTE_URL: { doc: 'Push every commit there (https://, ssh://, file://, git@host:path); credentials in the URL are moved out of it.', example: 'https://git.example.com/agentstore/gitops.git', required: 'production (control-plane)' },
    GITOPS_USERNAME: { doc: 'HTTP user name for GITOPS_TOKEN (basic scheme).' },
    GITOPS_TOKEN: { doc: 'HTTP token, sent as a header through git\'s environment (never argv, URL or .git/config).', secret: true },
    GITOPS_AUTH_SCHEME: { doc: 'basic (username + token) or bearer (token).', default: 'basic' },
    GITOPS_AUTHOR_NAME: { doc: 'Commit author name.', default: 'Agent Store Control Plane' },
    GITOPS_AUTHOR_EMAIL: { doc: 'Commit author e-mail.', default: 'control-plane@agentstore.invalid' },
    GITOPS_RECONCILER: { doc: 'builtin (validates each commit locally and reports Healthy) or argocd (health comes from argocd-notifications).', default: 'builtin without a remote, argocd with one', required: 'argocd in production' },
    ARGOCD_WEBHOOK_TOKEN: { doc: 'Shared token argocd-notifications sends in X-Argocd-Webhook-Token (at least 16 characters).', secret: true, required: 'production (control-plane)' },
  },
  read(r, ctx) {
    const env = r.str('GITOPS_ENV', 'dev');
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(env)) r.problem('GITOPS_ENV', "must be letters, digits, '_' or '-'", env);
    const dir = r.str('GITOPS_DIR') ?? join(ctx.dataDir, 'gitops');
    if (!isAbsolute(dir) && dir.includes('..')) r.problem('GITOPS_DIR', "must not contain '..'");
    const branch = r.str('GITOPS_BRANCH', 'main');
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) || branch.includes('..')) r.problem('GITOPS_BRANCH', 'not a valid branch name', branch);
    const rawUrl = r.str('GITOPS_REMOTE_URL');
    let remote: GitopsConfig['remote'];
    const scheme = r.oneOf('GITOPS_AUTH_SCHEME', ['basic', 'bearer'] as const, 'basic');
    if (rawUrl) {
      let ok = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(rawUrl); // scp-like user@host:path
      if (!ok) {
        try {
          ok = ['https:', 'http:', 'ssh:', 'file:', 'git:'].includes(new URL(rawUrl).protocol);
        } catch {
          ok = false;
        }
      }
      if (!ok) r.problem('GITOPS_REMOTE_URL', 'must be an https://, ssh://, file:// URL or user@host:path', redactUrl(rawUrl));
      const token = r.str('GITOPS_TOKEN');
      remote = { url: rawUrl, credentials: token ? { username: r.str('GITOPS_USERNAME'), password: token, scheme } : undefined };
    }
    const reconciler = r.oneOf('GITOPS_RECONCILER', ['builtin', 'argocd'] as const, remote ? 'argocd' : 'builtin');
    const argocdWebhookToken = r.str('ARGOCD_WEBHOOK_TOKEN');
    if (argocdWebhookToken !== undefined && argocdWebhookToken.length < 16) r.problem('ARGOCD_WEBHOOK_TOKEN', 'must be at least 16 characters');
    return {
      gitops: {
        env,
        dir,
        branch,
        author: { name: r.str('GITOPS_AUTHOR_NAME', 'Agent Store Control Plane'), email: r.str('GITOPS_AUTHOR_EMAIL', 'control-plane@agentstore.invalid') },
        remote,
        reconciler,
      } satisfies GitopsConfig as GitopsConfig,
      /** Shared token argocd-notifications sends in X-Argocd-Webhook-Token. */
      argocdWebhookToken,
    };
  },
});
