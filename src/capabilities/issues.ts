import type { ErrorObject } from 'ajv';
import type { ConfigIssue } from './handler-types';

/** A JSON pointer (RFC 6901) from path segments: `pointer('a', 0, 'b/c')` → `/a/0/b~1c`. */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

export function issue(path: string, message: string): ConfigIssue {
  return { path, message };
}

/**
 * Ajv errors as issues whose `path` points at the offending value: a missing required property or
 * an unexpected one points at that property, not at its parent object.
 */
export function ajvIssues(errors: readonly ErrorObject[] | null | undefined, prefix = ''): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let path = prefix + e.instancePath;
    let message = e.message ?? 'is invalid';
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof p.missingProperty === 'string') {
      path += pointer(p.missingProperty);
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof p.additionalProperty === 'string') {
      path += pointer(p.additionalProperty);
      message = 'is not a known field';
    } else if (e.keyword === 'enum' && Array.isArray(p.allowedValues)) {
      message = `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'propertyNames') {
      continue; // its inner error (below) names the key and the rule
    }
    if (e.propertyName !== undefined && e.keyword !== 'propertyNames') {
      path += pointer(e.propertyName);
      message = `key ${message}`;
    }
    // `if`/`oneOf` wrappers repeat what their branches already said.
    if (e.keyword === 'if' || e.keyword === 'oneOf' || e.keyword === 'anyOf') {
      if (out.some((o) => o.path.startsWith(path))) continue;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}
