import { createServer, type Server } from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { OpenAPIBackend, type Context as OpenApiContext, type Document } from 'openapi-backend';
import { AppError, errorBody, toAppError } from '../errors';
import type { Logger } from '../logger';
import type { Registry } from 'prom-client';
import type { Caller, OperationHandler, RequestContext } from './handler-types';
import { compileRouter } from './compiled-router';
import { corsMiddleware, type CorsOptions, type ServedRequest } from './cors';
import { docsRoutes } from './docs';
import { createHttpMetrics } from './metrics';
import { isJsonContentType, parseJsonBody, readRawBody } from './request-body';
import { requestIdFrom } from './request-id';
import { tracingMiddleware } from '../tracing/koa';
import { VALIDATION_OPTIONS, validationFailed } from './request-validation';
import { recordStatus } from './status-recorder';
import { authorize, type ScopeResolver } from '../policy/authorize';
import { decide, type ResolvedScope } from '../policy/engine';
import { parseScope, type ScopeEntry } from '../policy/scope';

/**
 * Establishes the caller for one security scheme. Returns undefined when the request carries
 * no credentials for this scheme; throws AppError (UNAUTHENTICATED …) when they are invalid.
 */
export type SecurityResolver = (input: {
  headers: Record<string, string | undefined>;
  operationId: string;
  requestId: string;
}) => Promise<Caller | undefined>;

export interface ServiceAppOptions<Deps> {
  name: string;
  definition: Document;
  handlers: Record<string, OperationHandler<any, any, Deps>>;
  deps: Deps;
  security: Record<string, SecurityResolver>;
  log: Logger;
  /** Validate every response against the spec; a violation becomes a 500 naming it (tests). */
  validateResponses?: boolean;
  /** Throws when the service cannot serve (database, …): /readyz answers 503. */
  ready?: () => Promise<void>;
  bodyLimitBytes?: number;
  /** Routes outside the spec (dev OIDC discovery, metrics). Return true when handled. */
  extraRoutes?: (ctx: Koa.Context) => Promise<boolean> | boolean;
  /** Called once per finished request. */
  onResponse?: (info: { operationId: string; method: string; status: number; durationMs: number }) => void;
  /** Where GET /metrics collects from; the platform's request metrics are added to it. */
  registry?: Registry;
  /** CORS for the operations whose spec says `x-cors` (cors.ts); without it no operation answers CORS. */
  cors?: CorsOptions;
  /** Resolves the tenant resources operations name in `x-scope` (services that own them). */
  scopes?: ScopeResolver;
}

export interface ServiceApp {
  name: string;
  koa: Koa;
  api: OpenAPIBackend;
  listen(port: number, host?: string): Promise<{ server: Server; url: string }>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
}

interface RequestState {
  requestId: string;
  /** The operation the request was routed to, as soon as routing knows it ('unrouted' before, and for unknown routes). */
  operationId: string;
  /**
   * The request's logger (its requestId and annotated fields bound), made when a line is written:
   * most requests write none, and a pino child per annotation cost more than the rest of the
   * bookkeeping. `requestLog` makes it; `annotate` drops it so the next one binds the new fields.
   */
  log?: Logger;
  rawBody: Buffer;
  caller?: Caller;
  signal: AbortSignal;
  fields: Record<string, unknown>;
  /** The resolved, authorized resource scope; undefined until authorization ran. */
  scope?: ResolvedScope;
}

interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

const lower = (h: Record<string, string | string[] | undefined>) => {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
};

export async function createServiceApp<Deps>(opts: ServiceAppOptions<Deps>): Promise<ServiceApp> {
  // GET /openapi.json and /docs: the bundled spec as loaded, before openapi-backend dereferences it.
  const docs = docsRoutes(opts.name, structuredClone(opts.definition));
  const api = new OpenAPIBackend({
    definition: opts.definition,
    strict: true,
    quick: true, // validators compile on first use: start-up ~0.5 s faster per service
    ...VALIDATION_OPTIONS,
  });
  const shutdown = new AbortController();
  // Each request's own controller, until its answer is done: shutdown aborts them with its reason.
  // (One controller per request instead of AbortSignal.any over two: ~15 µs less per request.)
  const answering = new Set<AbortController>();
  shutdown.signal.addEventListener('abort', () => {
    for (const c of answering) c.abort(shutdown.signal.reason);
  }, { once: true });
  const metrics = createHttpMetrics(opts.name, opts.registry);

  const securityHandler = (scheme: string, resolve: SecurityResolver) =>
    async (c: OpenApiContext, _k: Koa.Context, state: RequestState) => {
      const caller = await resolve({ headers: lower(c.request.headers), operationId: c.operation.operationId!, requestId: state.requestId });
      return caller ?? false;
    };
  for (const [scheme, resolve] of Object.entries(opts.security)) api.registerSecurityHandler(scheme, securityHandler(scheme, resolve));

  api.register({
    notFound: async (c: OpenApiContext) => {
      throw new AppError('NOT_FOUND', `No route for ${c.request.method.toUpperCase()} ${c.request.path}`);
    },
    methodNotAllowed: async (c: OpenApiContext) => {
      const allowed = ['get', 'put', 'post', 'delete', 'patch']
        .filter((method) => api.router.matchOperation({ ...c.request, method }) !== undefined)
        .map((m) => m.toUpperCase());
      throw new AppError('METHOD_NOT_ALLOWED', `${c.request.method.toUpperCase()} is not allowed on ${c.request.path}`, { allowed }, { headers: { Allow: allowed.join(', ') } });
    },
    validationFail: async (c: OpenApiContext, _k: Koa.Context, state: RequestState) => {
      routed(state, c);
      throw validationFailed(c.validation.errors);
    },
    unauthorizedHandler: async (c: OpenApiContext, _k: Koa.Context, state: RequestState) => {
      routed(state, c);
      const failure = Object.values(c.security ?? {}).find((r: any) => r?.error)?.error;
      if (failure instanceof AppError) throw failure;
      if (failure) throw new AppError('UNAUTHENTICATED', 'Credentials could not be verified', undefined, { cause: failure });
      throw new AppError('UNAUTHENTICATED', 'Missing credentials: send a bearer token or an API key');
    },
    postSecurityHandler: async (c: OpenApiContext, k: Koa.Context, state: RequestState) => {
      routed(state, c);
      // Credentials that were presented but are invalid are refused, even where anonymous access is allowed.
      const failure = Object.values(c.security ?? {}).find((r: any) => r?.error)?.error;
      if (failure instanceof AppError) throw failure;
      for (const requirement of c.operation.security ?? []) {
        const results = Object.keys(requirement).map((s) => c.security?.[s]);
        if (results.length && results.every((r: any) => r && !r.error)) {
          state.caller = results[0] as Caller;
          break;
        }
      }
      // Unauthenticated requests go on to the 401 (unauthorizedHandler) before anything is looked up.
      const authenticated = (c.security as { authorized?: boolean } | undefined)?.authorized !== false || !(c.operation.security ?? []).length;
      // Before request validation: who may call and in what format come first. A scope field
      // that is missing or malformed leaves the decision for after validation.
      if (authenticated) state.scope = await authorize({
        operationId: c.operation.operationId!,
        scope: scopeOf(c.operation.operationId!),
        roles: (c.operation as any)['x-roles'] ?? [],
        caller: state.caller,
        request: { params: c.request.params, query: c.request.query, body: c.request.requestBody },
        resolver: opts.scopes,
        final: false,
      });
      const declared = Object.keys((c.operation.requestBody as any)?.content ?? {});
      const type = k.get('content-type');
      if (state.rawBody.length && declared.length && !declared.some((d) => type.toLowerCase().startsWith(d))) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${declared.join(' or ')}`, { accepted: declared });
      }
    },
  });

  for (const [operationId, handler] of Object.entries(opts.handlers)) {
    api.register(operationId, async (c: OpenApiContext, _k: Koa.Context, state: RequestState) => {
      state.operationId = operationId;
      state.scope ??= await authorize({
        operationId,
        scope: scopeOf(operationId),
        roles: (c.operation as any)['x-roles'] ?? [],
        caller: state.caller,
        request: { params: c.request.params, query: c.request.query, body: c.request.requestBody },
        resolver: opts.scopes,
        final: true,
      });
      const ctx: RequestContext<Deps> = {
        operationId,
        requestId: state.requestId,
        get log() {
          return requestLog(state);
        },
        set log(log: Logger) {
          state.log = log;
        },
        deps: opts.deps,
        caller: state.caller,
        scope: state.scope,
        allows: (other) => !!state.scope && decide(state.caller, other, state.scope).allow,
        rawBody: state.rawBody,
        origin: c.request.headers.origin as string | undefined,
        signal: state.signal,
        annotate: (fields) => {
          Object.assign(state.fields, fields);
          state.log = undefined;
        },
      };
      const req = { params: c.request.params, query: c.request.query, headers: lower(c.request.headers), body: c.request.requestBody };
      return handler(req, ctx);
    });
  }
  await api.init();
  compileRouter(api.router);
  // Every operation declares its resource scope; a spec without one does not start.
  const scopes = new Map<string, ScopeEntry[]>();
  for (const op of api.getOperations()) scopes.set(op.operationId!, parseScope((op as any)['x-scope'], op.operationId!));
  const scopeOf = (operationId: string) => scopes.get(operationId)!;

  const koa = new Koa({ proxy: true });
  // Errors Koa meets after the answer started (a streamed body's client going away) land here,
  // in the service's log, instead of Koa's default console output.
  koa.on('error', (err: NodeJS.ErrnoException) => {
    if (err?.code === 'ERR_STREAM_PREMATURE_CLOSE') opts.log.debug({ code: err.code }, 'client closed a streamed response');
    else opts.log.error({ err }, 'error after the response started');
  });
  // First: every request's server span, continuing the caller's traceparent (src/platform/tracing).
  koa.use(tracingMiddleware(opts.name));
  if (opts.cors) koa.use(corsMiddleware(api, opts.cors));
  const limit = opts.bodyLimitBytes ?? 1024 * 1024;
  let inFlight = 0;

  koa.use(async (k) => {
    const started = performance.now();
    const requestId = requestIdFrom(k.get('x-request-id') || undefined);
    k.set('X-Request-Id', requestId);
    const abort = new AbortController();
    // The response's 'close' (not the request's: that one fires as soon as the body is read)
    // tells that the client went away before the answer was written.
    const onClose = () => { if (!k.res.writableFinished) abort.abort(new Error('client closed the connection')); };
    k.res.once('close', onClose);
    // Until the answer is written (a streamed one outlives this middleware), shutdown aborts it too.
    if (shutdown.signal.aborted) abort.abort(shutdown.signal.reason);
    else {
      answering.add(abort);
      k.res.once('close', () => answering.delete(abort));
    }
    const signal = abort.signal;
    const state: RequestState = { requestId, operationId: 'unrouted', rawBody: Buffer.alloc(0), signal, fields: {} };
    // Outer middleware (CORS for a streamed answer) may need the caller before the handler returns.
    k.state.request = state;
    inFlight++;
    try {
      if (k.path === '/healthz' && k.method === 'GET') {
        k.body = { status: 'ok', service: opts.name };
        return;
      }
      if (k.path === '/readyz' && k.method === 'GET') {
        try {
          if (shutdown.signal.aborted) throw new Error('shutting down');
          await opts.ready?.();
          k.body = { status: 'ready', service: opts.name };
        } catch (err) {
          requestLog(state).warn({ err }, 'not ready');
          throw new AppError('DEPENDENCY_UNAVAILABLE', 'Service is not ready', { service: opts.name });
        }
        return;
      }
      if (k.path === '/metrics' && k.method === 'GET') {
        k.type = metrics.registry.contentType;
        k.body = await metrics.registry.metrics();
        return;
      }
      if (docs(k)) return;
      if (opts.extraRoutes && (await opts.extraRoutes(k))) return;

      state.rawBody = await readRawBody(k.req, limit);
      let body: unknown;
      if (state.rawBody.length) {
        body = isJsonContentType(k.get('content-type')) ? parseJsonBody(state.rawBody) : state.rawBody.toString('utf8');
      }
      const result = (await api.handleRequest(
        { method: k.method, path: k.path, query: k.querystring, headers: k.headers as Record<string, string>, body },
        k,
        state,
      )) as HandlerResult;
      respond(k, result, state.operationId);
    } catch (thrown) {
      const err = toAppError(thrown);
      if (err.status >= 500 && err.code !== 'NOT_IMPLEMENTED') requestLog(state).error({ err: thrown, code: err.code }, err.message);
      else if (opts.log.isLevelEnabled('debug')) requestLog(state).debug({ code: err.code, reason: err.message }, 'request refused');
      for (const [h, v] of Object.entries(err.headers ?? {})) k.set(h, v);
      k.status = err.status;
      k.body = errorBody(err, requestId);
      // Refused before routing (a body that is too large or not JSON): still counted under its operation.
      if (state.operationId === 'unrouted') state.operationId = safeMatch(api, k) ?? state.operationId;
      if (opts.validateResponses && state.operationId !== 'unrouted') checkResponse(k, state.operationId);
    } finally {
      const operationId = state.operationId;
      // What CORS (and other outer middleware) may want to know about this answer.
      const served: ServedRequest = {
        operationId,
        status: k.status,
        caller: state.caller,
        instanceId: typeof state.fields.instanceId === 'string' ? state.fields.instanceId : undefined,
        errorCode: (k.body as { error?: { code?: string } } | null)?.error?.code,
      };
      k.state.served = served;
      inFlight--;
      k.res.off('close', onClose);
      const durationMs = performance.now() - started;
      if (opts.log.isLevelEnabled('info')) requestLog(state).info({ method: k.method, path: k.path, status: k.status, operationId, durationMs: Math.round(durationMs * 100) / 100, ...state.fields }, 'request');
      opts.onResponse?.({ operationId, method: k.method, status: k.status, durationMs });
      if (operationId !== 'unrouted' || k.status >= 400) {
        metrics.observe({ operationId, status: k.status, code: (k.body as { error?: { code?: string } } | null)?.error?.code, durationMs });
      }
    }
  });

  /** The request's logger: the service's, with the request's id and annotated fields bound (one child, made once per set of fields). */
  function requestLog(state: RequestState): Logger {
    return (state.log ??= opts.log.child({ requestId: state.requestId, ...state.fields }));
  }

  function respond(k: Koa.Context, result: HandlerResult, operationId: string) {
    k.status = result.status;
    for (const [h, v] of Object.entries(result.headers ?? {})) k.set(h, v);
    if (result.contentType) {
      k.type = result.contentType;
      // A Readable (text/event-stream) is piped as it is written; Koa destroys it when the client goes away.
      k.body = result.body as string | Readable;
    } else if (result.body !== undefined) {
      k.body = result.body;
    } else {
      k.body = null;
    }
    if (opts.validateResponses) checkResponse(k, operationId);
  }

  function checkResponse(k: Koa.Context, operationId: string) {
    recordStatus(opts.name, operationId, k.status, k.body);
    // Headers are checked like bodies: the operation's declared headers for this status.
    const headerVerdict = api.validateResponseHeaders(k.response.headers as Record<string, string>, operationId, { statusCode: k.status });
    if (headerVerdict.errors?.length) {
      const errors = headerVerdict.errors.map((e) => ({ path: `/headers${e.instancePath}`, message: e.message }));
      opts.log.error({ operationId, status: k.status, errors }, 'response headers do not match the spec');
      k.status = 500;
      k.body = errorBody(new AppError('INTERNAL', `Response headers of ${operationId} do not match the spec`, { errors }), k.response.get('X-Request-Id') || 'unknown');
      return;
    }
    if (typeof k.body === 'string' || k.body === null || k.body === undefined || k.body instanceof Readable) return;
    const verdict = api.validateResponse(JSON.parse(JSON.stringify(k.body)), operationId, k.status);
    if (verdict.errors?.length) {
      const errors = verdict.errors.map((e) => ({ path: e.instancePath, message: e.message }));
      opts.log.error({ operationId, status: k.status, errors }, 'response does not match the spec');
      k.status = 500;
      k.body = errorBody(new AppError('INTERNAL', `Response of ${operationId} does not match the spec`, { errors }), k.response.get('X-Request-Id') || 'unknown');
    }
  }

  let server: Server | undefined;
  return {
    name: opts.name,
    koa,
    api,
    async listen(port, host = '127.0.0.1') {
      server = createServer(koa.callback());
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      return { server, url: `http://${host}:${addr.port}` };
    },
    async close(graceMs = 10_000) {
      if (!server) return;
      const s = server;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      shutdown.abort(new Error('server shutting down'));
      s.closeAllConnections();
      await closed;
    },
  };
}

/** Records the operation openapi-backend routed the request to (errors included). */
function routed(state: RequestState, c: OpenApiContext): void {
  if (c.operation?.operationId) state.operationId = c.operation.operationId;
}

function safeMatch(api: OpenAPIBackend, k: Koa.Context): string | undefined {
  try {
    return api.router.matchOperation({ method: k.method, path: k.path, headers: {} }, true)?.operationId;
  } catch {
    return undefined;
  }
}
