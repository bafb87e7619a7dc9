import { existsSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { projectPath } from '../platform/paths';
import { stringify } from 'yaml';
import type { Manifest } from '../capabilities/handler-types';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { readRef } from './refs';
import { credentialEnv, git, GitError, Redactor, redactRemoteUrl, type RemoteCredentials } from './git';
import { buildKustomization } from './kustomization';
import { assertSegment, instanceDir, KUSTOMIZATION_FILE, manifestFileNames, type InstanceRef } from './naming';
import { scanForSecrets, type KnownSecrets } from './secret-scan';

export type DesiredStateAction = 'create' | 'upgrade' | 'pause' | 'resume' | 'rotate-secrets' | 'update';
export const DESIRED_STATE_ACTIONS: readonly DesiredStateAction[] = ['create', 'upgrade', 'pause', 'resume', 'rotate-secrets', 'update'];

export interface WriteInstanceInput extends InstanceRef {
  manifests: Manifest[];
  action: DesiredStateAction;
  /** Who asked (user id, service); recorded as the `Actor:` trailer. */
  actor?: string;
  /**
   * The instance's binding credentials (values and/or sha256 fingerprints) to check against:
   * a manifest containing one is refused before anything is written.
   */
  knownSecrets?: KnownSecrets;
}

export interface RemoveInstanceInput extends InstanceRef {
  actor?: string;
}

/**
 * The desired state of every instance, one directory each
 * (`clusters/<env>/instances/<orgId>/<projectId>/<instanceId>/`), one commit per change.
 * Argo CD (or the built-in reconciler) turns commits into running resources and reports back
 * through the DeploymentHealthSink (src/gitops/health.ts).
 */
export interface DesiredStateRepo {
  /**
   * Replaces the instance's directory with one YAML file per manifest plus its
   * kustomization.yaml, in exactly one commit (`instance <id>: <action>`), even when nothing
   * changed (so every lifecycle step has its own revision, see `changed`). Throws
   * UNPROCESSABLE, before writing anything, on an invalid id or manifest, or on secret material.
   * `path` ends with `/` (as `Instance.gitops.path` in the spec).
   */
  writeInstance(input: WriteInstanceInput): Promise<WriteResult>;
  /** Deletes the instance's directory in one commit (`instance <id>: terminate`). */
  removeInstance(input: RemoveInstanceInput): Promise<{ revision: string; changed: boolean }>;
  /** The latest published revision (full SHA). */
  head(): Promise<string>;
  /**
   * True when `revision` is `commit` or a descendant of it: a health report about `revision`
   * covers the desired state committed as `commit`. False when either is unknown.
   */
  includes(revision: string, commit: string): Promise<boolean>;
}

export interface WriteResult {
  revision: string;
  path: string;
  /**
   * False when the directory already held exactly this content (the commit is empty). Argo CD
   * runs no sync for such a commit and so sends no on-deployed notification for it: the
   * instance's previous health stands. (The built-in reconciler reports it anyway.)
   */
  changed: boolean;
}

export interface CommitEvent {
  revision: string;
  action: DesiredStateAction | 'terminate';
  ref: InstanceRef;
  path: string;
}

export interface GitDesiredStateRepoOptions {
  /** Working tree of the repository (created and initialised on first use). */
  dir: string;
  branch?: string;
  author?: { name: string; email: string };
  /** Publish every commit to this remote (`https://…`, `ssh://…`, `file://…`). */
  remote?: {
    url: string;
    credentials?: RemoteCredentials;
    /** Push attempts, fetch + rebase between them (default 5). */
    pushAttempts?: number;
  };
  /** Where README-adjacent bases are copied from on initialisation (default: this checkout's `gitops/`). */
  seedDir?: string;
  log?: Logger;
}

const DEFAULT_AUTHOR = { name: 'Agent Store Control Plane', email: 'control-plane@agentstore.invalid' };
const DEFAULT_SEED_DIR = projectPath('gitops');
/** What initialisation copies from the seed dir into the new repository's root. */
const SEED_FOLDERS = ['base', 'cluster', 'overlays', 'crds', 'argocd'];
const NON_FAST_FORWARD = /non-fast-forward|fetch first|\[rejected\]|failed to push some refs|stale info|cannot lock ref|remote rejected/i;
const MISSING_REMOTE_REF = /couldn't find remote ref|could not find remote ref/i;

const FILE_HEADER = (id: string) => `# Desired state of instance ${id}, written by the Agent Store control plane.\n# Do not edit: the next change to the instance replaces this directory.\n`;

/** The desired-state repository on the git CLI (run through execFile, see ./git.ts). */
export class GitDesiredStateRepo implements DesiredStateRepo {
  readonly dir: string;
  readonly branch: string;
  private readonly author: { name: string; email: string };
  private readonly remote?: GitDesiredStateRepoOptions['remote'] & { url: string };
  private readonly redactor = new Redactor();
  private readonly seedDir: string;
  private readonly log?: Logger;
  private tail: Promise<unknown> = Promise.resolve();
  private initialised?: Promise<void>;
  private readonly listeners = new Set<(e: CommitEvent) => void>();

  constructor(opts: GitDesiredStateRepoOptions) {
    this.dir = resolve(opts.dir);
    this.branch = opts.branch ?? 'main';
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(this.branch) || this.branch.includes('..')) throw new Error('gitops branch name is not valid');
    this.author = opts.author ?? DEFAULT_AUTHOR;
    this.seedDir = opts.seedDir ?? DEFAULT_SEED_DIR;
    this.log = opts.log;
    if (opts.remote) {
      // Credentials embedded in the URL are moved out of it: the URL is stored in .git/config and logged.
      let url = opts.remote.url;
      let credentials = opts.remote.credentials;
      try {
        const u = new URL(url);
        if (u.username || u.password) {
          credentials ??= { username: decodeURIComponent(u.username) || undefined, password: decodeURIComponent(u.password) || undefined };
          this.redactor.add(decodeURIComponent(u.password), decodeURIComponent(u.username));
          url = redactRemoteUrl(url);
        }
      } catch {
        // scp-like ssh address (git@host:repo): no credentials to move
      }
      this.remote = { ...opts.remote, url, credentials };
      this.redactor.addCredentials(credentials);
    }
  }

  /** The remote URL as it may be logged: never with credentials. */
  get remoteUrl(): string | undefined {
    return this.remote ? redactRemoteUrl(this.remote.url) : undefined;
  }

  /** Called after every published commit (in commit order). Returns the unsubscribe function. */
  onCommit(listener: (e: CommitEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async writeInstance(input: WriteInstanceInput): Promise<WriteResult> {
    const ref = checkRef(input);
    const dir = instanceDir(ref);
    if (!DESIRED_STATE_ACTIONS.includes(input.action)) throw new AppError('UNPROCESSABLE', `Unknown desired-state action ${JSON.stringify(input.action)}`);
    const manifests = checkManifests(input.manifests);
    const findings = scanForSecrets(manifests, { known: input.knownSecrets, orgId: ref.orgId, projectId: ref.projectId });
    const names = manifestFileNames(manifests);
    if (findings.length) {
      throw new AppError('UNPROCESSABLE', 'Desired state refused: it would commit secret material to Git', {
        findings: findings.map((f) => ({ file: names[f.index], kind: f.kind, name: f.name, path: f.path, reason: f.reason })),
      });
    }
    const files = new Map<string, string>();
    manifests.forEach((m, i) => files.set(names[i], FILE_HEADER(ref.instanceId) + stringify(m, { lineWidth: 0 })));
    files.set(KUSTOMIZATION_FILE, FILE_HEADER(ref.instanceId) + stringify(buildKustomization(ref, names), { lineWidth: 0 }));
    const message = commitMessage(ref, input.action, input.actor);

    const { revision, changed } = await this.enqueue(() =>
      this.commitChange(dir, message, async () => {
        const abs = join(this.dir, dir);
        await rm(abs, { recursive: true, force: true });
        await mkdir(abs, { recursive: true });
        for (const [name, text] of files) await writeFile(join(abs, name), text);
        await this.git(['add', '-A', '--', dir]);
      }),
    );
    this.emit({ revision, action: input.action, ref, path: `${dir}/` });
    return { revision, path: `${dir}/`, changed };
  }

  async removeInstance(input: RemoveInstanceInput): Promise<{ revision: string; changed: boolean }> {
    const ref = checkRef(input);
    const dir = instanceDir(ref);
    const message = commitMessage(ref, 'terminate', input.actor);
    const { revision, changed } = await this.enqueue(() =>
      this.commitChange(dir, message, async () => {
        await this.git(['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', dir]);
        await rm(join(this.dir, dir), { recursive: true, force: true });
      }),
    );
    this.emit({ revision, action: 'terminate', ref, path: `${dir}/` });
    return { revision, changed };
  }

  head(): Promise<string> {
    return this.enqueue(async () => {
      try {
        await this.ensureInit();
        return await this.revParse('HEAD');
      } catch (err) {
        throw this.unavailable('Reading the desired-state repository failed', err);
      }
    });
  }

  async includes(revision: string, commit: string): Promise<boolean> {
    if (!/^[0-9a-f]{4,64}$/i.test(revision) || !/^[0-9a-f]{4,64}$/i.test(commit)) return false;
    await this.ensureInit();
    const check = async () => (await this.git(['merge-base', '--is-ancestor', commit, revision], { okCodes: [1, 128] })).code === 0;
    if (await check()) return true;
    if (!this.remote) return false;
    // Argo CD may report a revision another replica pushed: look at the remote once.
    await this.enqueue(() => this.fetch().catch(() => false));
    return check();
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private emit(e: CommitEvent) {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log?.warn({ err }, 'gitops commit listener failed');
      }
    }
  }

  /** Serialises every operation on the working tree: concurrent callers are ordered, none lost. */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private git(args: string[], opts: { okCodes?: number[]; input?: string; network?: boolean } = {}) {
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: this.author.name,
      GIT_AUTHOR_EMAIL: this.author.email,
      GIT_COMMITTER_NAME: this.author.name,
      GIT_COMMITTER_EMAIL: this.author.email,
      ...(opts.network && this.remote ? credentialEnv(this.remote.url, this.remote.credentials) : {}),
    };
    return git(args, { cwd: this.dir, env, redactor: this.redactor, okCodes: opts.okCodes, input: opts.input });
  }

  private async revParse(what: string): Promise<string> {
    // A plain ref is read from its file (no process forked); anything else, or a ref not there, asks git.
    const read = await readRef(join(this.dir, '.git'), what);
    if (read.kind === 'id') return read.id;
    return (await this.git(['rev-parse', '--verify', '-q', what])).stdout.trim();
  }

  private async hasCommit(what: string): Promise<boolean> {
    return (await this.git(['rev-parse', '--verify', '-q', `${what}^{commit}`], { okCodes: [1, 128] })).code === 0;
  }

  private ensureInit(): Promise<void> {
    this.initialised ??= this.init().catch((err) => {
      this.initialised = undefined;
      throw err;
    });
    return this.initialised;
  }

  private async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (!existsSync(join(this.dir, '.git'))) await this.git(['init', '-q', '-b', this.branch]);
    else await this.git(['symbolic-ref', 'HEAD', `refs/heads/${this.branch}`]);
    if (this.remote) {
      const remotes = (await this.git(['remote'])).stdout.split('\n');
      await this.git(remotes.includes('origin') ? ['remote', 'set-url', 'origin', this.remote.url] : ['remote', 'add', 'origin', this.remote.url]);
      if (await this.fetch()) {
        const local = (await this.hasCommit('HEAD')) ? await this.revParse('HEAD') : undefined;
        const remote = await this.revParse(`refs/remotes/origin/${this.branch}`);
        if (local && local !== remote && (await this.git(['merge-base', '--is-ancestor', local, remote], { okCodes: [1] })).code !== 0) {
          this.log?.warn({ local, remote, remoteUrl: this.remoteUrl }, 'gitops: local desired-state commits not on the remote are discarded (the remote is the source of truth)');
        }
        await this.git(['reset', '-q', '--hard', remote]);
      }
    }
    if (!(await this.hasCommit('HEAD'))) {
      await this.seed();
      await this.git(['add', '-A']);
      await this.git(['commit', '-q', '--no-verify', '-F', '-'], { input: 'gitops: initialise the desired-state repository\n' });
      if (this.remote) await this.publish(async () => undefined);
    } else {
      // A crash between writing files and committing leaves junk: the last commit is the truth.
      await this.git(['reset', '-q', '--hard', 'HEAD']);
      await this.git(['clean', '-fdq', '--', 'clusters']);
    }
    this.log?.info({ dir: this.dir, branch: this.branch, remoteUrl: this.remoteUrl }, 'gitops: desired-state repository ready');
  }

  private async seed(): Promise<void> {
    for (const folder of SEED_FOLDERS) {
      const from = join(this.seedDir, folder);
      if (existsSync(from)) await cp(from, join(this.dir, folder), { recursive: true, filter: (src) => !/\.test\.ts$/.test(src) });
    }
    await mkdir(join(this.dir, 'clusters'), { recursive: true });
    await writeFile(join(this.dir, 'clusters', '.gitkeep'), '');
    await writeFile(join(this.dir, 'README.md'), SEED_README);
  }

  /** Fetches the branch; false when the remote does not have it yet (an empty repository). */
  private async fetch(): Promise<boolean> {
    try {
      await this.git(['fetch', '-q', 'origin', `+refs/heads/${this.branch}:refs/remotes/origin/${this.branch}`], { network: true });
      return true;
    } catch (err) {
      if (err instanceof GitError && MISSING_REMOTE_REF.test(err.stderr)) return false;
      throw err;
    }
  }

  /**
   * One change = one commit: apply the change to the working tree and index, commit (empty
   * commits allowed: a lifecycle step that renders identical manifests still gets its own
   * revision), publish. On any failure the working tree and branch go back to where they were
   * and the error is thrown (redacted): nothing half-done is left to be picked up by the next write.
   */
  private async commitChange(dir: string, message: string, apply: () => Promise<void>): Promise<{ revision: string; changed: boolean }> {
    try {
      await this.ensureInit();
    } catch (err) {
      throw this.unavailable('Opening the desired-state repository failed', err);
    }
    let committed = false;
    const commit = async () => {
      await apply();
      await this.git(['commit', '-q', '--no-verify', '--allow-empty', '--cleanup=verbatim', '-F', '-'], { input: message });
      committed = true;
    };
    try {
      await commit();
      if (this.remote) await this.publish(commit);
      // One process for the new revision and whether its tree differs from its parent's.
      const [revision, tree, parentTree] = (await this.git(['rev-parse', 'HEAD', 'HEAD^{tree}', 'HEAD~1^{tree}'])).stdout.trim().split('\n');
      return { revision, changed: tree !== parentTree };
    } catch (err) {
      // Back to the last published state: before our commit, or what the remote has.
      const remoteRef = `refs/remotes/origin/${this.branch}`;
      const back = !committed ? 'HEAD' : this.remote && (await this.hasCommit(remoteRef)) ? remoteRef : 'HEAD~1';
      await this.git(['rebase', '--abort'], { okCodes: [1, 128] }).catch(() => undefined);
      await this.git(['reset', '-q', '--hard', back]).catch(() => undefined);
      await this.git(['clean', '-fdq', '--', dir]).catch(() => undefined);
      throw this.unavailable('Committing desired state to Git failed', err);
    }
  }

  /** A redacted 503 for the caller; the git detail (also redacted) stays in `details.reason`. */
  private unavailable(message: string, err: unknown): AppError {
    if (err instanceof AppError) return err;
    const reason = err instanceof Error ? this.redactor.redact(err.message) : 'unknown error';
    return new AppError('DEPENDENCY_UNAVAILABLE', message, { reason });
  }

  /**
   * Pushes HEAD to the remote branch. A non-fast-forward (another replica pushed first) is
   * answered by fetch + rebase and another push; when the rebase conflicts, the change is
   * re-applied on top of the remote instead (each directory has one writer: the instance's own).
   */
  private async publish(recommit: () => Promise<void>): Promise<void> {
    const attempts = Math.max(1, this.remote?.pushAttempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.git(['push', '-q', '--porcelain', 'origin', `HEAD:refs/heads/${this.branch}`], { network: true });
        await this.git(['update-ref', `refs/remotes/origin/${this.branch}`, 'HEAD']);
        return;
      } catch (err) {
        if (attempt >= attempts) throw err;
        const nonFastForward = err instanceof GitError && NON_FAST_FORWARD.test(err.stderr + err.stdout);
        this.log?.warn({ attempt, nonFastForward, remoteUrl: this.remoteUrl }, 'gitops: push rejected, retrying');
        if (!nonFastForward) {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          continue;
        }
        await this.fetch();
        const rebased = await this.git(['rebase', '-q', `refs/remotes/origin/${this.branch}`], { okCodes: [1, 128] });
        if (rebased.code !== 0) {
          await this.git(['rebase', '--abort'], { okCodes: [1, 128] });
          await this.git(['reset', '-q', '--hard', `refs/remotes/origin/${this.branch}`]);
          await recommit();
        }
      }
    }
  }
}

function checkRef(input: InstanceRef): InstanceRef {
  return {
    env: assertSegment('env', input.env),
    orgId: assertSegment('orgId', input.orgId),
    projectId: assertSegment('projectId', input.projectId),
    instanceId: assertSegment('instanceId', input.instanceId),
  };
}

function checkManifests(manifests: unknown): Manifest[] {
  if (!Array.isArray(manifests)) throw new AppError('UNPROCESSABLE', 'manifests must be a list');
  manifests.forEach((m, i) => {
    const ok =
      m && typeof m === 'object' && typeof m.apiVersion === 'string' && m.apiVersion && typeof m.kind === 'string' && /^[A-Za-z][A-Za-z0-9]*$/.test(m.kind) &&
      m.metadata && typeof m.metadata === 'object' && typeof m.metadata.name === 'string' && m.metadata.name;
    if (!ok) throw new AppError('UNPROCESSABLE', `manifests[${i}] is not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
    if (m.kind === 'Kustomization') throw new AppError('UNPROCESSABLE', `manifests[${i}]: the instance's kustomization is written by the desired-state repository`);
  });
  return manifests as Manifest[];
}

/** Trailer values are single-line: an actor cannot inject another trailer. */
function oneLine(s: string, max = 200): string {
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim().slice(0, max);
}

function commitMessage(ref: InstanceRef, action: string, actor?: string): string {
  const trailers = [`Instance-Id: ${ref.instanceId}`, `Org-Id: ${ref.orgId}`, `Project-Id: ${ref.projectId}`, `Env: ${ref.env}`, `Action: ${action}`];
  const who = actor === undefined ? '' : oneLine(actor);
  if (who) trailers.push(`Actor: ${who}`);
  return `instance ${ref.instanceId}: ${action}\n\n${trailers.join('\n')}\n`;
}

/** The default repository of a data directory: `<dataDir>/gitops`. */
export function createDesiredStateRepo(opts: Omit<GitDesiredStateRepoOptions, 'dir'> & { dataDir: string; dir?: string }): GitDesiredStateRepo {
  return new GitDesiredStateRepo({ ...opts, dir: opts.dir ?? join(opts.dataDir, 'gitops') });
}

const SEED_README = `# Agent Store desired state

Written by the Agent Store control plane; reconciled by Argo CD (or, on a development machine,
by the control plane's built-in reconciler). Do not edit instance directories by hand: the next
change to an instance replaces its directory.

\`\`\`
base/                 platform Deployments/Services and the CRDs (kustomize base)
crds/                 CustomResourceDefinitions of GatewayRoute, GatewayPolicy, ConnectorPolicy, …
argocd/               ApplicationSet (one Application per instance directory) and notifications
clusters/<env>/instances/<orgId>/<projectId>/<instanceId>/
                      one YAML file per manifest + kustomization.yaml
\`\`\`

Each change is one commit \`instance <instanceId>: <action>\` with the trailers
\`Instance-Id\`, \`Org-Id\`, \`Project-Id\`, \`Env\`, \`Action\` (and \`Actor\`), so
\`git log --grep 'Instance-Id: <id>'\` is an instance's deployment history.
`;
