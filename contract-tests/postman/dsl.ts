/**
 * The small language the Postman collection is written in: one `request({...})` per call with its
 * exact expected status, what it checks and what it remembers for later requests, grouped by
 * `folder(...)` into journeys. `collection.ts` turns them into Postman v2.1 JSON (`npm run gen`).
 *
 * Checks and saves are JavaScript run by Newman after the response; in scope are `body` (the
 * parsed JSON answer, or undefined), `res` (`pm.response`) and `v(name)` (a collection variable).
 */
export type Service = 'control-plane' | 'gateway' | 'connector-gateway' | 'runner' | 'provisioner';

/** The variable prefix of each service: `{{CP_BASE}}` (through the validating proxy), `{{CP_DIRECT}}`. */
export const SERVICE_VAR: Record<Service, string> = {
  'control-plane': 'CP',
  gateway: 'API',
  'connector-gateway': 'CONN',
  runner: 'RUNNER',
  provisioner: 'PROVISIONER',
};

/** Tokens newman.sh mints (scripts/token.ts) and passes as variables. */
export type Token = 'USER_JWT' | 'OTHER_USER_JWT' | 'SERVICE_JWT' | 'PROVISIONER_JWT' | 'OPERATOR_JWT' | 'USER_OPERATOR_JWT' | 'PUBLISHER_JWT' | 'RUNNER_JWT' | 'MEMBER_JWT';

/** `[name, code]`: `code` is a statement (or several) using pm.expect. */
export type Check = [name: string, code: string];

export interface RequestSpec {
  name: string;
  /** `METHOD /path?query`, the path as the service's spec has it with `{{VARS}}` for parameters. */
  call: string;
  /** The service answering; omit with `url` for a call outside the platform. */
  service?: Service;
  /** A full URL outside the platform's specs (a presigned upload, the upstream API, Vault). */
  url?: string;
  /**
   * Why this request goes straight to the service instead of through the validating proxy: it
   * breaks the spec on purpose (no token, malformed JSON, unknown route) or its route is not part of
   * a spec (health, the development issuer). Everything else is checked by Prism.
   */
  direct?: string;
  token?: Token;
  headers?: Record<string, string>;
  idempotencyKey?: string;
  /** JSON (serialised) or a raw string. */
  body?: unknown;
  /** The exact status expected; it must be one the operation documents. */
  status: number;
  /** Expect the canonical error body with this `error.code` (and `traceId` = `X-Request-Id`). */
  error?: string;
  checks?: Check[];
  /** Collection variables to set: name → JavaScript expression. */
  saves?: Record<string, string>;
  /** Repeat the request (up to `max` times, 200 ms apart) until `until` is true, then run `then`. */
  poll?: { until: string; max?: number; then?: Check[] };
  /** Script lines run before the request is sent (e.g. signing its raw body into a variable). */
  prerequest?: string[];
  description?: string;
}

export interface FolderSpec {
  name: string;
  description: string;
  requests: RequestSpec[];
}

export function request(spec: RequestSpec): RequestSpec {
  return spec;
}

export function folder(name: string, description: string, requests: RequestSpec[]): FolderSpec {
  return { name, description, requests };
}

/** A JS string literal for a value embedded in a check. */
export const js = (v: unknown) => JSON.stringify(v);
