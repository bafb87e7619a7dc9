/**
 * CORS, by the spec. An operation a browser may call from another origin says so with
 * `x-cors: { origins: [...] }` (see each spec's description); everything else answers no
 * `Access-Control-*` at all, so the browser keeps other origins out.
 *
 * Origin classes:
 * - `public`: anyone may read (`Access-Control-Allow-Origin: *`; anonymous catalog reads);
 * - `configured`: the origins of signed-in browser apps (hosted chat, console) in
 *   `CORS_ALLOWED_ORIGINS`;
 * - `widget`: a page embedding an instance's widget, on that instance's `web_widget.allowedOrigins`.
 *   A preflight carries neither body nor credentials, so it cannot name the instance: any web
 *   origin may *send* (the operation itself refuses other origins, 403 `ORIGIN_NOT_ALLOWED`),
 *   and whether it may *read* the answer is decided after the handler, when the instance is known.
 *
 * Headers come from the spec too: `Access-Control-Allow-Headers` lists `Content-Type` (when there
 * is a body), `Authorization` (bearer schemes) and the operation's header parameters — never
 * `X-Api-Key` (project API keys are server-side secrets); `Access-Control-Expose-Headers` lists
 * the response headers the operation declares plus the service's always-sent ones. Credentials
 * (cookies) are never allowed: callers send bearer tokens, and `*` never goes with credentials.
 * `@koa/cors` writes the headers; the decision is ours.
 */
import koaCors from '@koa/cors';
import type Koa from 'koa';
import type { OpenAPIBackend } from 'openapi-backend';
import { AppError, errorBody } from '../errors';
import type { Caller } from './handler-types';
import { requestIdFrom } from './request-id';

export const CORS_ORIGIN_CLASSES = ['public', 'configured', 'widget'] as const;
export type CorsOriginClass = (typeof CORS_ORIGIN_CLASSES)[number];

export interface CorsRule {
  operationId: string;
  method: string;
  origins: CorsOriginClass[];
  allowHeaders: string[];
  exposeHeaders: string[];
}

/** What the service learned while answering: who called, which instance, which error. */
export interface ServedRequest {
  operationId: string;
  status: number;
  caller?: Caller;
  instanceId?: string;
  errorCode?: string;
}

export interface CorsDecider {
  /** `configured` origins (hosted chat, console). */
  configured(origin: string): boolean;
  /** `widget` operations, after the handler: may this origin read this answer? */
  widget?(origin: string, served: ServedRequest): Promise<boolean>;
  /** The origin a widget caller's session is bound to (decides an answer streamed before the handler returns). */
  boundOrigin?(caller: Caller): string | undefined;
}

export interface CorsOptions {
  decider: CorsDecider;
  /** Headers every answer of the service carries and browsers may read (beyond the spec's). */
  alwaysExpose?: string[];
  /** Preflight cache, seconds (Chromium caps it at 7200). */
  maxAgeSeconds?: number;
}

/** Always readable: the correlation id and the rate-limit wait. */
const BASE_EXPOSE = ['X-Request-Id', 'Retry-After'];

/** A web origin as browsers send it: scheme://host[:port], http or https. */
export function isWebOrigin(origin: string): boolean {
  if (origin.length > 300) return false;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === origin;
  } catch {
    return false;
  }
}

/**
 * An origin and, when its host is a loopback name, the same scheme and port under the other
 * loopback names: a browser on `http://localhost:8081` and one on `http://127.0.0.1:8081` reach the
 * same local service, so a development stack accepts both for its own origin.
 */
export function loopbackAliases(origin: string): string[] {
  const u = new URL(origin);
  if (!['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return [u.origin];
  const port = u.port ? `:${u.port}` : '';
  return ['localhost', '127.0.0.1', '[::1]'].map((h) => `${u.protocol}//${h}${port}`);
}

function corsOf(operation: Record<string, unknown>): CorsOriginClass[] | undefined {
  const ext = operation['x-cors'] as { origins?: unknown } | undefined;
  if (ext === undefined) return undefined;
  const origins = ext?.origins;
  if (!Array.isArray(origins) || origins.length === 0 || origins.some((o) => !CORS_ORIGIN_CLASSES.includes(o))) {
    throw new Error(`x-cors of ${String(operation.operationId)} must be { origins: [${CORS_ORIGIN_CLASSES.join(' | ')}, …] }`);
  }
  return origins as CorsOriginClass[];
}

/** The CORS rules of a (dereferenced) spec, by operationId. */
export function corsRulesOf(api: OpenAPIBackend, alwaysExpose: string[] = []): Map<string, CorsRule> {
  const rules = new Map<string, CorsRule>();
  const schemes = ((api.definition.components?.securitySchemes ?? {}) as Record<string, { type?: string; scheme?: string }>);
  for (const op of api.getOperations()) {
    const origins = corsOf(op as unknown as Record<string, unknown>);
    if (!origins) continue;
    const allow = new Set<string>();
    if (op.requestBody) allow.add('Content-Type');
    for (const requirement of op.security ?? []) {
      for (const name of Object.keys(requirement)) {
        const s = schemes[name];
        if (s?.type === 'http' && s.scheme?.toLowerCase() === 'bearer') allow.add('Authorization');
      }
    }
    for (const p of (op.parameters ?? []) as { in?: string; name?: string }[]) {
      if (p.in === 'header' && p.name && p.name.toLowerCase() !== 'origin') allow.add(p.name);
    }
    const expose = new Set<string>([...BASE_EXPOSE, ...alwaysExpose]);
    for (const response of Object.values(op.responses ?? {}) as { headers?: Record<string, unknown> }[]) {
      for (const h of Object.keys(response?.headers ?? {})) expose.add(h);
    }
    rules.set(op.operationId!, {
      operationId: op.operationId!,
      method: op.method.toUpperCase(),
      origins,
      allowHeaders: [...allow],
      exposeHeaders: [...expose].sort(),
    });
  }
  return rules;
}

/**
 * The middleware, to run outside the service's own request handling (it reads `ctx.state.served`,
 * which createServiceApp sets when it has answered).
 */
export function corsMiddleware(api: OpenAPIBackend, opts: CorsOptions): Koa.Middleware {
  const rules = corsRulesOf(api, opts.alwaysExpose);
  const maxAge = opts.maxAgeSeconds ?? 600;
  const match = (method: string, path: string): CorsRule | undefined => {
    try {
      const op = api.router.matchOperation({ method, path, headers: {} });
      return op?.operationId ? rules.get(op.operationId) : undefined;
    } catch {
      return undefined;
    }
  };

  /** Preflight: may this origin send this request? */
  async function mayPreflight(rule: CorsRule, origin: string): Promise<string> {
    if (!isWebOrigin(origin)) return '';
    if (rule.origins.includes('public')) return '*';
    if (rule.origins.includes('widget')) return origin;
    return rule.origins.includes('configured') && opts.decider.configured(origin) ? origin : '';
  }

  /** Actual request: may this origin read this answer? */
  async function mayRead(rule: CorsRule, origin: string, served: ServedRequest | undefined): Promise<string> {
    if (rule.origins.includes('public')) return '*';
    if (!isWebOrigin(origin)) return '';
    const widgetCaller = served?.caller?.kind === 'widget';
    if (rule.origins.includes('configured') && !widgetCaller && opts.decider.configured(origin)) return origin;
    if (rule.origins.includes('widget') && opts.decider.widget && served) {
      return (await opts.decider.widget(origin, served).catch(() => false)) ? origin : '';
    }
    return '';
  }

  const preflights = new Map<string, Koa.Middleware>();
  const answers = new Map<string, Koa.Middleware>();
  const noop = async () => undefined;
  for (const rule of rules.values()) {
    preflights.set(rule.operationId, koaCors({
      origin: (ctx) => mayPreflight(rule, ctx.get('Origin')),
      allowMethods: [rule.method],
      allowHeaders: rule.allowHeaders,
      maxAge,
      credentials: false,
    }));
    answers.set(rule.operationId, koaCors({
      origin: (ctx) => mayRead(rule, ctx.get('Origin'), ctx.state.served as ServedRequest | undefined),
      exposeHeaders: rule.exposeHeaders,
      credentials: false,
    }));
  }

  return async (ctx, next) => {
    const origin = ctx.get('Origin');
    const requested = ctx.get('Access-Control-Request-Method');
    if (ctx.method === 'OPTIONS' && origin && requested) {
      const rule = match(requested.toUpperCase(), ctx.path);
      if (!rule) return next(); // not a browser-facing operation: the service answers (404/405)
      ctx.vary('Origin');
      const allowed = await mayPreflight(rule, origin);
      if (!allowed) {
        const requestId = requestIdFrom(ctx.get('x-request-id') || undefined);
        ctx.set('X-Request-Id', requestId);
        ctx.status = 403;
        ctx.body = errorBody(new AppError('ORIGIN_NOT_ALLOWED', `${origin} may not call ${rule.operationId} from a browser`, { origin, operationId: rule.operationId }), requestId);
        return;
      }
      return preflights.get(rule.operationId)!(ctx, noop);
    }
    const rule = match(ctx.method, ctx.path);
    if (!rule) return next();
    // An answer the handler streams itself (its head written before it returns) is decided at that
    // moment, from what is known then: the class, the configured origins, a widget session's origin.
    const res = ctx.res;
    const writeHead = res.writeHead;
    let decided = false;
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof res.writeHead>) {
      if (!decided) {
        decided = true;
        res.setHeader('Vary', ctx.response.get('Vary') ? `${ctx.response.get('Vary')}, Origin` : 'Origin');
        const allow = origin ? mayReadNow(rule, origin, (ctx.state.request as { caller?: Caller } | undefined)?.caller) : '';
        if (allow) {
          res.setHeader('Access-Control-Allow-Origin', allow);
          res.setHeader('Access-Control-Expose-Headers', rule.exposeHeaders.join(','));
        }
      }
      return writeHead.apply(this, args);
    } as typeof res.writeHead;
    try {
      await next();
    } finally {
      if (!res.headersSent) res.writeHead = writeHead;
    }
    if (res.headersSent) return;
    decided = true;
    if (!origin) {
      ctx.vary('Origin'); // caches must not give this answer to a browser on another origin
      return;
    }
    await answers.get(rule.operationId)!(ctx, noop);
  };

  function mayReadNow(rule: CorsRule, origin: string, caller: Caller | undefined): string {
    if (rule.origins.includes('public')) return '*';
    if (!isWebOrigin(origin)) return '';
    if (caller?.kind === 'widget') return rule.origins.includes('widget') && opts.decider.boundOrigin?.(caller) === origin ? origin : '';
    return rule.origins.includes('configured') && opts.decider.configured(origin) ? origin : '';
  }
}
