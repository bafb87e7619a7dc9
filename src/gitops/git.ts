import { execFile } from 'node:child_process';

/**
 * The git CLI through `execFile` (never a shell string). Every call runs with a scrubbed
 * environment: no inherited `GIT_*` variables (a hook's GIT_DIR must not redirect us), no
 * system/global config (a user's `commit.gpgsign` or hooks must not change what we commit),
 * no interactive prompts, C locale (stable messages we can recognise). Credentials reach git
 * only through environment variables built by {@link credentialEnv}, never through argv or
 * `.git/config`, and every error message is passed through {@link Redactor} first.
 */

/** `GIT_*` variables a deployment may legitimately set for transport (SSH keys, CA bundles, proxies). */
const PASS_THROUGH = new Set(['GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'GIT_PROXY_COMMAND', 'GIT_TRACE']);

export function baseGitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GIT_') && !PASS_THROUGH.has(k)) continue;
    env[k] = v;
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_CONFIG_GLOBAL = '/dev/null';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.LC_ALL = 'C';
  env.LANG = 'C';
  return env;
}

export interface RemoteCredentials {
  /** Username for HTTP basic auth (GitHub accepts any non-empty name with a token; `x-access-token` is conventional). */
  username?: string;
  /** Password or access token. */
  password?: string;
  /** Send `Authorization: Bearer <password>` instead of basic auth (some Git servers want this for tokens). */
  scheme?: 'basic' | 'bearer';
}

/**
 * Environment that makes git send the credential as an HTTP header for this remote only
 * (`http.<url>.extraHeader`, set through GIT_CONFIG_COUNT/KEY/VALUE, git ≥ 2.31). The value lives
 * in this child's environment for the duration of one fetch/push: not in argv (visible in `ps`),
 * not in `.git/config`, not in the remote URL.
 */
export function credentialEnv(remoteUrl: string, creds: RemoteCredentials | undefined): Record<string, string> {
  if (!creds?.password) return {};
  const value =
    creds.scheme === 'bearer'
      ? `Authorization: Bearer ${creds.password}`
      : `Authorization: Basic ${Buffer.from(`${creds.username ?? 'x-access-token'}:${creds.password}`).toString('base64')}`;
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${remoteUrl}.extraHeader`, GIT_CONFIG_VALUE_0: value };
}

/** Replaces every known secret (and its base64 forms) and any URL userinfo in a text. */
export class Redactor {
  private readonly needles: string[] = [];
  add(...secrets: (string | undefined)[]): this {
    for (const s of secrets) {
      if (!s) continue;
      this.needles.push(s, Buffer.from(s).toString('base64'));
    }
    this.needles.sort((a, b) => b.length - a.length);
    return this;
  }
  addCredentials(creds: RemoteCredentials | undefined): this {
    if (!creds?.password) return this;
    this.add(creds.password, `${creds.username ?? 'x-access-token'}:${creds.password}`);
    return this;
  }
  redact(text: string): string {
    let out = text.replace(/\/\/[^/@\s]*@/g, '//[redacted]@');
    for (const n of this.needles) out = out.split(n).join('[redacted]');
    return out;
  }
}

/** The remote URL as it may be logged or stored: without userinfo. */
export function redactRemoteUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return raw.replace(/\/\/[^/@\s]*@/g, '//');
  }
}

export class GitError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | string | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`git ${command} failed (exit ${exitCode}): ${stderr.trim() || stdout.trim() || 'no output'}`);
    this.name = 'GitError';
  }
}

export interface GitRunOptions {
  cwd: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  redactor?: Redactor;
  timeoutMs?: number;
  /** Exit codes that are answers rather than failures (e.g. `diff --quiet` → 1). */
  okCodes?: number[];
}

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `git <args>` in `cwd`. Rejects with a redacted {@link GitError} on a non-zero exit not in `okCodes`. */
export function git(args: string[], opts: GitRunOptions): Promise<GitResult> {
  const env = { ...baseGitEnv(), ...opts.env };
  const redact = (s: string) => (opts.redactor ? opts.redactor.redact(s) : s);
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd: opts.cwd, env, maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        const code = err ? ((err as NodeJS.ErrnoException & { code?: unknown }).code as number | string | null) : 0;
        if (!err || (typeof code === 'number' && opts.okCodes?.includes(code))) {
          resolve({ stdout, stderr, code: typeof code === 'number' ? code : 0 });
          return;
        }
        // The error's own message repeats the command line; build ours from redacted parts only.
        const e = new GitError(args[0] ?? '', (err as { killed?: boolean }).killed ? 'timeout' : code ?? null, redact(String(stderr ?? '')), redact(String(stdout ?? '')));
        reject(e);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/**
 * `git cat-file --batch` for many objects at once: one process for a whole reconcile pass
 * instead of one per file. Missing objects come back as `undefined`.
 */
export async function readBlobs(cwd: string, specs: string[]): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  if (!specs.length) return out;
  const env = baseGitEnv();
  const buf = await new Promise<Buffer>((resolve, reject) => {
    const child = execFile('git', ['cat-file', '--batch'], { cwd, env, maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' }, (err, stdout, stderr) => {
      if (err) reject(new GitError('cat-file', (err as { code?: number }).code ?? null, String(stderr), ''));
      else resolve(stdout);
    });
    child.stdin?.end(specs.map((s) => `${s}\n`).join(''));
  });
  let pos = 0;
  for (const spec of specs) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    const header = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      out.set(spec, undefined);
      continue;
    }
    const size = Number(header.split(' ')[2]);
    const type = header.split(' ')[1];
    out.set(spec, type === 'blob' ? buf.subarray(pos, pos + size).toString('utf8') : undefined);
    pos += size + 1; // content + trailing LF
  }
  return out;
}
