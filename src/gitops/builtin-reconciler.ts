import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../platform/logger';
import type { GitDesiredStateRepo } from './desired-state-repo';
import { git, readBlobs } from './git';
import type { DeploymentHealthReport, DeploymentHealthSink } from './health';
import { verifyInstanceDirectory, type ManifestValidator } from './kustomization';
import { appNameFor, parseInstancePath, type InstanceRef } from './naming';

/**
 * The embedded stand-in for Argo CD. After each commit of the desired-state repository it
 * checks every instance directory the commit changed (kustomization lists exactly the files,
 * manifests parse and validate, namespace and labels match the path, no secret material) and
 * reports through the same DeploymentHealthSink the Argo CD webhook uses: valid → Synced +
 * Healthy at that revision, invalid → OutOfSync + Degraded naming the file and the problem,
 * directory removed → Missing.
 *
 * Commits are noticed through the repository's commit event (immediately) and by polling
 * `head()` (commits made by anything else). The last reconciled revision is kept in
 * `.git/agentstore-builtin-reconciler`, so a restart checks exactly what it missed; with no
 * record it checks every instance once.
 */

export interface BuiltinReconcilerOptions {
  repo: GitDesiredStateRepo;
  sink: DeploymentHealthSink;
  /** Per-manifest validation: `validateManifest` from src/capabilities/manifest-schemas. */
  validateManifest: ManifestValidator;
  log?: Logger;
  /** Only these envs (`clusters/<env>/…`); default all. */
  envs?: string[];
  /** How often `head()` is polled for commits not announced by the event (default 1000 ms; 0 = never). */
  pollIntervalMs?: number;
  /** Attempts per report when the sink fails with a 5xx/unknown error (default 4). */
  reportAttempts?: number;
}

const MARKER = 'agentstore-builtin-reconciler';
const MAX_MESSAGE = 4000;
const MAX_PATHSPECS = 200;

interface Target {
  ref: InstanceRef;
  dir: string;
  revision: string;
}

export class BuiltinReconciler {
  private readonly opts: BuiltinReconcilerOptions;
  private running = false;
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private pass?: Promise<void>;
  private again = false;
  private last?: string;
  private abort = new AbortController();

  constructor(opts: BuiltinReconcilerOptions) {
    this.opts = opts;
  }

  /** The last revision fully reconciled. */
  get revision(): string | undefined {
    return this.last;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    const marker = join(this.opts.repo.dir, '.git', MARKER);
    await this.opts.repo.head(); // initialises the repository
    if (existsSync(marker)) this.last = (await readFile(marker, 'utf8')).trim() || undefined;
    this.unsubscribe = this.opts.repo.onCommit(() => this.kick());
    this.kick();
    this.schedule();
  }

  /** Stops watching; waits for a pass in progress. Leaves no timer behind. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /** Reconciles up to the current head now; resolves when that pass (and any it triggered) is done. */
  async reconcileNow(): Promise<void> {
    this.kick();
    while (this.pass) await this.pass;
  }

  private schedule() {
    const every = this.opts.pollIntervalMs ?? 1000;
    if (!this.running || every <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
      this.schedule();
    }, every);
  }

  /** Starts a pass, or asks the running one to go round again. */
  private kick() {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.reconcile();
          } catch (err) {
            this.opts.log?.error({ err }, 'gitops: built-in reconcile pass failed');
          }
        } while (this.again && this.running);
      } finally {
        this.pass = undefined;
      }
    })();
  }

  private run(args: string[], okCodes?: number[]) {
    return git(args, { cwd: this.opts.repo.dir, okCodes });
  }

  private async reconcile(): Promise<void> {
    const head = await this.opts.repo.head();
    if (head === this.last || !this.running) return;
    const targets = await this.changedSince(this.last, head);
    const files = await this.readDirectories(head, targets);
    for (const t of targets) {
      if (!this.running) return;
      await this.send(this.evaluate(t, files.get(t.dir)));
    }
    this.last = head;
    await writeFile(join(this.opts.repo.dir, '.git', MARKER), `${head}\n`);
  }

  /** Instance directories changed (or named by trailers) in `from..to`, each with the last commit that touched it. */
  private async changedSince(from: string | undefined, to: string): Promise<Target[]> {
    const targets = new Map<string, Target>();
    const add = (ref: InstanceRef & { dir: string }, revision: string) => {
      if (this.opts.envs && !this.opts.envs.includes(ref.env)) return;
      targets.delete(ref.dir); // re-insert: order by last change
      targets.set(ref.dir, { ref: { env: ref.env, orgId: ref.orgId, projectId: ref.projectId, instanceId: ref.instanceId }, dir: ref.dir, revision });
    };
    const incremental = from !== undefined && (await this.run(['merge-base', '--is-ancestor', from, to], [1, 128])).code === 0;
    if (!incremental) {
      // First run (or rewritten history): every instance directory at `to`, reported at `to`.
      const { stdout } = await this.run(['ls-tree', '-r', '--name-only', to, '--', 'clusters/']);
      for (const path of stdout.split('\n')) {
        const p = parseInstancePath(path);
        if (p && p.rest) add(p, to);
      }
      return [...targets.values()];
    }
    const SEP = '\x1e';
    const { stdout } = await this.run([
      'log', '--reverse', '--first-parent', '--diff-merges=first-parent', '--no-renames', '--name-only',
      `--format=${SEP}%H%x1f%(trailers:key=Instance-Id,key=Org-Id,key=Project-Id,key=Env,separator=%x1f)%x1f`,
      `${from}..${to}`,
    ]);
    for (const chunk of stdout.split(SEP).slice(1)) {
      const [sha, ...rest] = chunk.split('\x1f');
      const paths = rest.pop() ?? '';
      const trailers: Record<string, string> = {};
      for (const t of rest) {
        const i = t.indexOf(':');
        if (i > 0) trailers[t.slice(0, i).trim()] = t.slice(i + 1).trim();
      }
      for (const path of paths.split('\n')) {
        const p = parseInstancePath(path.trim());
        if (p) add(p, sha);
      }
      // A commit that changed nothing on disk (same manifests rewritten) still names its instance.
      if (trailers['Instance-Id'] && trailers['Org-Id'] && trailers['Project-Id'] && trailers['Env']) {
        const p = parseInstancePath(`clusters/${trailers['Env']}/instances/${trailers['Org-Id']}/${trailers['Project-Id']}/${trailers['Instance-Id']}/x`);
        if (p) add(p, sha);
      }
    }
    return [...targets.values()];
  }

  /** Every file of the target directories at `rev`, in two git processes whatever the count. */
  private async readDirectories(rev: string, targets: Target[]): Promise<Map<string, Map<string, string | undefined>>> {
    const byDir = new Map<string, Map<string, string | undefined>>();
    if (!targets.length) return byDir;
    const wanted = new Set(targets.map((t) => t.dir));
    const pathspecs = targets.length > MAX_PATHSPECS ? ['clusters/'] : targets.map((t) => `${t.dir}/`);
    const { stdout } = await this.run(['ls-tree', '-r', '--name-only', rev, '--', ...pathspecs]);
    const paths: string[] = [];
    for (const path of stdout.split('\n')) {
      const p = parseInstancePath(path);
      if (!p || !p.rest || !wanted.has(p.dir)) continue;
      if (!byDir.has(p.dir)) byDir.set(p.dir, new Map());
      byDir.get(p.dir)!.set(p.rest, undefined);
      if (/\.ya?ml$/.test(p.rest) && !p.rest.includes('/')) paths.push(path);
    }
    const blobs = await readBlobs(this.opts.repo.dir, paths.map((p) => `${rev}:${p}`));
    for (const path of paths) {
      const p = parseInstancePath(path)!;
      byDir.get(p.dir)!.set(p.rest, blobs.get(`${rev}:${path}`));
    }
    return byDir;
  }

  private evaluate(t: Target, files: Map<string, string | undefined> | undefined): DeploymentHealthReport {
    const base = { instanceId: t.ref.instanceId, application: appNameFor(t.ref.instanceId), revision: t.revision, source: 'builtin' as const };
    if (!files || files.size === 0) {
      return { ...base, sync: 'Synced', health: 'Missing', operationPhase: 'Succeeded', message: 'desired-state directory removed' };
    }
    const verdict = verifyInstanceDirectory(t.ref, files, this.opts.validateManifest);
    if (verdict.ok) {
      return { ...base, sync: 'Synced', health: 'Healthy', operationPhase: 'Succeeded', message: `built-in reconciler: ${verdict.resources} resource(s) valid` };
    }
    let message = `built-in reconciler: ${verdict.problems.join('; ')}`;
    if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`;
    return { ...base, sync: 'OutOfSync', health: 'Degraded', operationPhase: 'Failed', message };
  }

  /** Delivers one report; retries transient failures, not 4xx answers (unknown instance). */
  private async send(report: DeploymentHealthReport): Promise<void> {
    const attempts = this.opts.reportAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.sink.report(report);
        this.opts.log?.debug({ instanceId: report.instanceId, health: report.health, revision: report.revision }, 'gitops: built-in reconciler reported');
        return;
      } catch (err) {
        const status = (err as { status?: unknown }).status;
        const permanent = typeof status === 'number' && status < 500;
        if (permanent || attempt >= attempts || !this.running) {
          this.opts.log?.warn({ err, instanceId: report.instanceId, health: report.health, revision: report.revision }, 'gitops: health report not delivered');
          return;
        }
        await sleep(50 * 4 ** (attempt - 1), this.abort.signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
