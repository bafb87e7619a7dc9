/**
 * Tweaks carry the effective config and binding *references*, never secrets. This guard
 * refuses tweaks holding a value that looks like a credential before they leave the Runner.
 * The refusal names the node and field and the rule that matched, never the value.
 */
import { AppError } from '../platform/errors';
import type { Tweaks } from './types';

/** Well-known credential shapes, matched anywhere inside a string value. */
const VALUE_RULES: [rule: string, pattern: RegExp][] = [
  ['private_key_pem', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['openai_style_key', /\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}/],
  ['stripe_key', /\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/],
  ['aws_access_key_id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['github_token', /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/],
  ['gitlab_token', /\bglpat-[A-Za-z0-9_-]{20,}/],
  ['slack_token', /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ['google_api_key', /\bAIza[0-9A-Za-z_-]{35}/],
  ['vault_token', /\bhv[sbr]\.[A-Za-z0-9_-]{20,}/],
  ['jwt', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  ['authorization_header', /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/],
  ['url_with_credentials', /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i],
];

/** Field names that hold credentials, compared word by word (`openai_api_key`, `clientSecret`). */
const SECRET_WORDS = new Set(['password', 'passwd', 'passphrase', 'secret', 'credential', 'credentials', 'authorization', 'token', 'apikey']);
const SECRET_PAIRS = [['api', 'key'], ['access', 'key'], ['private', 'key'], ['secret', 'key']];
/** A last word like these makes the field a reference to a secret, not the secret itself. */
const REFERENCE_SUFFIXES = new Set(['ref', 'reference', 'id', 'ids', 'name', 'path', 'env', 'var', 'variable', 'field']);
/** Values that are references: a Langflow global variable / env name, `vault:…`, a binding id, `${…}`. */
const REFERENCE_VALUE = /^(?:[A-Z][A-Z0-9_]{1,127}|vault:[A-Za-z0-9_./:#-]+|bind_[A-Za-z0-9]{8,40}|\$\{[A-Za-z0-9_.:-]+\})$/;

function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

function isSecretField(key: string): boolean {
  const w = words(key);
  if (!w.length || REFERENCE_SUFFIXES.has(w[w.length - 1])) return false;
  if (w.some((x) => SECRET_WORDS.has(x))) return true;
  return SECRET_PAIRS.some(([a, b]) => w.some((x, i) => x === a && w[i + 1] === b));
}

export interface SecretFinding {
  nodeId: string;
  /** Dotted path of the field inside the node's tweaks (`headers.Authorization`). */
  field: string;
  rule: string;
}

/** Every place in `tweaks` that looks like a secret. */
export function findSecrets(tweaks: Tweaks | undefined): SecretFinding[] {
  const found: SecretFinding[] = [];
  const visit = (nodeId: string, path: string[], key: string | undefined, value: unknown, depth: number) => {
    if (depth > 32) return;
    if (typeof value === 'string') {
      const field = path.join('.') || '(value)';
      const hit = VALUE_RULES.find(([, p]) => p.test(value));
      if (hit) return void found.push({ nodeId, field, rule: hit[0] });
      if (key !== undefined && value.trim() !== '' && isSecretField(key) && !REFERENCE_VALUE.test(value.trim())) {
        found.push({ nodeId, field, rule: 'secret_field_with_literal_value' });
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(nodeId, [...path, String(i)], key, v, depth + 1));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(nodeId, [...path, k], k, v, depth + 1);
    }
  };
  for (const [nodeId, params] of Object.entries(tweaks ?? {})) visit(nodeId, [], undefined, params, 0);
  return found;
}

/** Throws 422 INVALID_CONFIG when any tweak looks like a secret (names where, never what). */
export function assertNoSecretsInTweaks(tweaks: Tweaks | undefined): void {
  const findings = findSecrets(tweaks);
  if (findings.length) {
    throw new AppError('INVALID_CONFIG', 'Tweaks must carry references, never secrets: refusing to send values that look like credentials', {
      findings: findings.slice(0, 20),
    });
  }
}
