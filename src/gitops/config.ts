/**
 * GitOps settings are one section of the configuration tree
 * (src/platform/config/sections/gitops.ts: GITOPS_ENV, GITOPS_DIR, GITOPS_BRANCH,
 * GITOPS_REMOTE_URL, GITOPS_USERNAME/TOKEN/AUTH_SCHEME, GITOPS_AUTHOR_*, GITOPS_RECONCILER),
 * read with every other variable at start-up; `config.gitops` is what this domain gets.
 */
export type { GitopsConfig } from '../platform/config/sections/gitops';
