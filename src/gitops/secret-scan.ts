import { createHash } from 'node:crypto';
import type { Manifest } from '../capabilities/handler-types';

/**
 * Refuses desired state that carries secret material. Git history is forever (and replicated
 * to every clone and to Argo CD), so the check runs before anything touches the working tree.
 * Connector secrets may appear only as ExternalSecret references to their own Vault path.
 * Findings never contain the secret itself.
 */

export interface KnownSecrets {
  /** Literal values (binding credentials) that must not appear anywhere, also not base64-encoded. */
  values?: string[];
  /** sha256 hex fingerprints of values: any string (or token of a string) hashing to one is refused. */
  sha256?: string[];
}

export interface SecretFinding {
  /** Index of the manifest in the input. */
  index: number;
  kind: string;
  name: string;
  /** JSON-path-like location, e.g. `spec.headers.authorization`. */
  path: string;
  reason: string;
}

/** Shapes that are secret values whatever field they are in. Strong signals only, to keep false refusals rare. */
export const SECRET_PATTERNS: { name: string; re: RegExp }[] = [
  { name: 'a PEM private key', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { name: 'an AWS access key id', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'a GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/ },
  { name: 'a Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { name: 'an API secret key', re: /\b(?:sk|rk)[-_](?:live_|test_|proj-|ant-)?[A-Za-z0-9_-]{24,}/ },
  { name: 'a Google API key', re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { name: 'a JSON Web Token', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { name: 'an HTTP credential', re: /\b(?:Bearer|Basic)\s+[A-Za-z0-9+/_.=-]{16,}/ },
  { name: 'a URL with a password', re: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i },
];

/** Known values shorter than this are ignored (they would match ordinary words). */
export const MIN_KNOWN_SECRET_LENGTH = 6;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function* strings(value: unknown, path: string): Generator<{ path: string; value: string }> {
  if (typeof value === 'string') yield { path, value };
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* strings(value[i], `${path}[${i}]`);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = path ? `${path}.${k}` : k;
      yield { path: p, value: k };
      yield* strings(v, p);
    }
  }
}

/** `kv/data/connectors/<org>/<project>/<binding>` or the mount-relative `connectors/<org>/<project>/<binding>`. */
function vaultKeyPattern(orgId: string, projectId: string): RegExp {
  const esc = (s: string) => s.replace(/[-]/g, '\\-');
  return new RegExp(`^/?(?:[A-Za-z0-9_-]+/(?:data/)?)?connectors/${esc(orgId)}/${esc(projectId)}/[A-Za-z0-9_-]+$`);
}

export function scanForSecrets(manifests: Manifest[], opts: { known?: KnownSecrets; orgId: string; projectId: string }): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const values = (opts.known?.values ?? []).filter((v) => typeof v === 'string' && v.length >= MIN_KNOWN_SECRET_LENGTH);
  const needles = values.flatMap((v) => [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('base64url')]);
  const fingerprints = new Set((opts.known?.sha256 ?? []).map((f) => f.toLowerCase()));
  const vaultKey = vaultKeyPattern(opts.orgId, opts.projectId);

  manifests.forEach((m, index) => {
    const kind = typeof m?.kind === 'string' ? m.kind : '?';
    const name = typeof m?.metadata?.name === 'string' ? m.metadata.name : '?';
    const add = (path: string, reason: string) => findings.push({ index, kind, name, path, reason });

    if (kind === 'Secret' && (m.data != null || m.stringData != null)) {
      add(m.data != null ? 'data' : 'stringData', 'a Secret with data/stringData: connector secrets must be ExternalSecret references to their Vault path');
    }
    if (kind === 'ExternalSecret') {
      const spec = (m.spec ?? {}) as { data?: unknown; dataFrom?: unknown };
      const data = Array.isArray(spec.data) ? spec.data : [];
      data.forEach((d: any, i: number) => {
        const key = d?.remoteRef?.key;
        if (typeof key !== 'string' || !vaultKey.test(key)) {
          add(`spec.data[${i}].remoteRef.key`, `must reference this project's connector secrets in Vault (connectors/${opts.orgId}/${opts.projectId}/<bindingId>)`);
        }
      });
      const dataFrom = Array.isArray(spec.dataFrom) ? spec.dataFrom : [];
      dataFrom.forEach((d: any, i: number) => {
        if (d?.find !== undefined) add(`spec.dataFrom[${i}].find`, 'searching the secret store is not allowed: reference one Vault path');
        const key = d?.extract?.key;
        if (d?.extract !== undefined && (typeof key !== 'string' || !vaultKey.test(key))) {
          add(`spec.dataFrom[${i}].extract.key`, `must reference this project's connector secrets in Vault (connectors/${opts.orgId}/${opts.projectId}/<bindingId>)`);
        }
      });
    }

    for (const s of strings(m, '')) {
      if (needles.some((n) => s.value.includes(n))) {
        add(s.path, 'contains a known secret value of this instance');
        continue;
      }
      if (fingerprints.size) {
        const tokens = [s.value, ...s.value.split(/[\s:=,;"'&?]+/)].filter((t) => t.length >= MIN_KNOWN_SECRET_LENGTH);
        if (tokens.some((t) => fingerprints.has(sha256(t)))) {
          add(s.path, 'contains a value matching a known secret fingerprint');
          continue;
        }
      }
      const pattern = SECRET_PATTERNS.find((p) => p.re.test(s.value));
      if (pattern) add(s.path, `looks like ${pattern.name}`);
    }
  });
  return findings;
}
