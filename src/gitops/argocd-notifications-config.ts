/**
 * Decodes an `argocd-notifications-cm` ConfigMap the way notifications-engine does, with its Go
 * types, so a value that YAML accepts but Go refuses (the classic: `retryWaitMin: 1s` into a
 * time.Duration) is caught before Argo CD silently sends no notification at all.
 *
 * Followed from argoproj/notifications-engine:
 * - pkg/api/config.go `ParseConfig`: keys `template.<name>` → services.Notification,
 *   `trigger.<name>` → []triggers.Condition, `service.<type>(.<name>)` → the service's options
 *   (decoded when the service is built, `services.NewService`), `subscriptions`, `defaultTriggers`;
 *   `$key` strings are replaced from argocd-notifications-secret first (replaceServiceConfigSecrets).
 * - pkg/services/webhook.go `WebhookOptions` {url, headers []{name,value}, basicAuth
 *   {username,password}, retryWaitMin/retryWaitMax time.Duration, retryMax int,
 *   insecureSkipVerify bool, + pkg/util/http TransportOptions {maxIdleConns, maxIdleConnsPerHost,
 *   maxConnsPerHost int, idleConnTimeout string}} and `WebhookNotification` {method, body, path}.
 * - pkg/triggers/service.go `Condition` {oncePer, when, description string, send []string}.
 * - sigs.k8s.io/yaml `Unmarshal`: YAML (go-yaml v2, YAML 1.1) → JSON → encoding/json. encoding/json
 *   matches keys to fields by json tag, then case-insensitively; ignores unknown keys; refuses a
 *   JSON string for a number (time.Duration is an int64 of nanoseconds), a fraction for an int,
 *   a number or bool for a string; null leaves the zero value.
 */
import { parse } from 'yaml';

export type GoType =
  | 'string'
  | 'bool'
  | 'int'
  | 'duration'
  | { slice: GoType }
  | { map: GoType }
  | { ptr: GoType }
  | { struct: string; fields: Record<string, GoType> };

const header: GoType = { struct: 'Header', fields: { name: 'string', value: 'string' } };
export const WEBHOOK_OPTIONS: GoType = {
  struct: 'WebhookOptions',
  fields: {
    url: 'string',
    headers: { slice: header },
    basicAuth: { ptr: { struct: 'BasicAuth', fields: { username: 'string', password: 'string' } } },
    retryWaitMin: 'duration',
    retryWaitMax: 'duration',
    retryMax: 'int',
    insecureSkipVerify: 'bool',
    // embedded httputil.TransportOptions: promoted fields
    maxIdleConns: 'int',
    maxIdleConnsPerHost: 'int',
    maxConnsPerHost: 'int',
    idleConnTimeout: 'string',
  },
};
const WEBHOOK_NOTIFICATION: GoType = { struct: 'WebhookNotification', fields: { method: 'string', body: 'string', path: 'string' } };
/** services.Notification, with the parts this platform uses typed (other services are opaque). */
export const NOTIFICATION: GoType = { struct: 'Notification', fields: { message: 'string', webhook: { map: WEBHOOK_NOTIFICATION } } };
export const CONDITIONS: GoType = { slice: { struct: 'Condition', fields: { oncePer: 'string', when: 'string', description: 'string', send: { slice: 'string' } } } };

const goName = (t: GoType): string =>
  typeof t === 'string' ? ({ string: 'string', bool: 'bool', int: 'int', duration: 'time.Duration' } as const)[t]
    : 'slice' in t ? `[]${goName(t.slice)}` : 'map' in t ? `map[string]${goName(t.map)}` : 'ptr' in t ? `*${goName(t.ptr)}` : t.struct;

const jsonKind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'number' ? 'number' : typeof v);

/** encoding/json errors for `value` decoded into `type` (empty = Go would accept it). */
export function goDecodeErrors(value: unknown, type: GoType, where: { struct?: string; field?: string } = {}): string[] {
  if (value === null || value === undefined) return [];
  const fail = (what: string) => [`json: cannot unmarshal ${what} into Go ${where.field ? `struct field ${where.struct}.${where.field}` : 'value'} of type ${goName(type)}`];
  const kind = jsonKind(value);
  if (typeof type === 'string') {
    if (type === 'string') return kind === 'string' ? [] : fail(kind);
    if (type === 'bool') return kind === 'boolean' ? [] : fail(kind);
    if (kind !== 'number') return fail(kind);
    return Number.isInteger(value) && Number.isSafeInteger(value) ? [] : fail(`number ${String(value)}`);
  }
  if ('ptr' in type) return goDecodeErrors(value, type.ptr, where);
  if ('slice' in type) return kind === 'array' ? (value as unknown[]).flatMap((v) => goDecodeErrors(v, type.slice, where)) : fail(kind);
  if (kind !== 'object') return fail(kind);
  if ('map' in type) return Object.values(value as object).flatMap((v) => goDecodeErrors(v, type.map, where));
  const out: string[] = [];
  for (const [key, v] of Object.entries(value as object)) {
    const field = Object.hasOwn(type.fields, key) ? key : Object.keys(type.fields).find((f) => f.toLowerCase() === key.toLowerCase());
    if (field) out.push(...goDecodeErrors(v, type.fields[field]!, { struct: type.struct, field }));
  }
  return out;
}

/** YAML as sigs.k8s.io/yaml reads it (go-yaml v2: YAML 1.1 scalars such as yes/no are booleans). */
export function goYaml(text: string): unknown {
  return parse(text, { version: '1.1' });
}

/** `$key` references replaced from the secret's keys, as ParseConfig does for service options. */
function withSecrets(text: string, secret: Record<string, string>): string {
  return text.replace(/[$][\w-]+/g, (ref) => secret[ref.slice(1)] ?? ref);
}

export interface ParsedNotificationsConfig {
  services: Record<string, { type: string; options: Record<string, unknown> }>;
  templates: Record<string, { webhook?: Record<string, { method?: string; body?: string; path?: string }> }>;
  triggers: Record<string, { oncePer?: string; when?: string; description?: string; send?: string[] }[]>;
  errors: string[];
}

/** ParseConfig plus building every service, with every error notifications-engine would report. */
export function parseNotificationsConfig(data: Record<string, string>, secret: Record<string, string> = {}): ParsedNotificationsConfig {
  const cfg: ParsedNotificationsConfig = { services: {}, templates: {}, triggers: {}, errors: [] };
  const decode = (key: string, text: string, type: GoType) => {
    let value: unknown;
    try {
      value = goYaml(text);
    } catch (err) {
      cfg.errors.push(`${key}: ${(err as Error).message}`);
      return undefined;
    }
    const errors = goDecodeErrors(value, type);
    cfg.errors.push(...errors.map((e) => `${key}: ${e}`));
    return errors.length ? undefined : value;
  };
  for (const [key, text] of Object.entries(data)) {
    const parts = key.split('.');
    if (key.startsWith('template.')) {
      const t = decode(key, text, NOTIFICATION);
      if (t) cfg.templates[parts.slice(1).join('.')] = t as ParsedNotificationsConfig['templates'][string];
    } else if (key.startsWith('trigger.')) {
      const t = decode(key, text, CONDITIONS);
      if (t) cfg.triggers[parts.slice(1).join('.')] = t as ParsedNotificationsConfig['triggers'][string];
    } else if (key.startsWith('service.')) {
      if (parts.length !== 2 && parts.length !== 3) {
        cfg.errors.push(`invalid service key; expected 'service.<type>(.<name>)' but got '${key}'`);
        continue;
      }
      const [type, name] = parts.length === 3 ? [parts[1]!, parts[2]!] : [parts[1]!, parts[1]!];
      if (type !== 'webhook') continue; // only the webhook service is used here
      const o = decode(key, withSecrets(text, secret), WEBHOOK_OPTIONS);
      if (o) cfg.services[name] = { type, options: o as Record<string, unknown> };
    }
  }
  return cfg;
}
