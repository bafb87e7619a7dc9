/**
 * openapi-backend's router (5.x, `router.js`) rebuilds the flat operation list with lodash twice
 * per `matchOperation`, and compiles one RegExp per path template per request; `getOperation`
 * rebuilds the list too. With 70-odd operations per service and two matches per request (CORS and
 * routing), that was the largest single CPU cost of a request after the database.
 *
 * `compileRouter` replaces those three methods on one router instance, after `init()` (the
 * definition is dereferenced and never changes afterwards), with tables built once:
 * - the operation list, and a map by operationId;
 * - an exact `method path` map;
 * - every operation's path pattern compiled once, ordered by specificity (the length of the path
 *   without its `{…}` templates, longest first; a stable order, as lodash `orderBy` is).
 * The answers are the same as the library's: an exact path and method first; else the most
 * specific matching path whose method matches; else 405 when some path matched, 404 when none
 * (thrown with the library's messages when `strict`, else undefined). `compiled-router.test.ts`
 * compares both routers over every operation of every spec and over unrouted paths.
 *
 * `parseRequest` runs four times per request (before routing, after it, in validation, and again
 * on the coerced request), ~8 µs each: lodash over the headers, the cookie and query parsers on
 * empty input, and the operation's path template compiled again each time. The usual request — no
 * query string, no cookie, an operation without path parameters — is parsed here to the same
 * result directly; any other goes to the library's own `parseRequest`.
 */
import type { Operation, OpenAPIRouter, ParsedRequest, Request } from 'openapi-backend';

const escapeRegExp = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The library's `pathTemplateToPattern`: `{x}` matches one path segment, the rest literally. */
const patternOf = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '\0').split('\0').map(escapeRegExp).join('[^/]+')}$`);

export function compileRouter(router: OpenAPIRouter): void {
  const operations = router.getOperations();
  const byId = new Map<string, Operation>();
  for (const op of operations) if (op.operationId && !byId.has(op.operationId)) byId.set(op.operationId, op);
  const exact = new Map<string, Operation>();
  for (const op of operations) if (!exact.has(`${op.method} ${op.path}`)) exact.set(`${op.method} ${op.path}`, op);
  const specificity = (path: string) => path.replace(/\{.*?\}/g, '').length;
  // The library's own root check (private in its typings; the same method is called).
  const underApiRoot = (path: string) => (router as unknown as { isUnderApiRoot(p: string): boolean }).isUnderApiRoot(path);
  const patterns = operations
    .map((op, i) => ({ op, re: patternOf(op.path), rank: specificity(op.path), i }))
    .sort((a, b) => b.rank - a.rank || a.i - b.i);

  function matchOperation(req: Request): Operation | undefined;
  function matchOperation(req: Request, strict: true): Operation;
  function matchOperation(req: Request, strict?: boolean): Operation | undefined {
    const normalized = router.normalizeRequest(req);
    if (!underApiRoot(normalized.path)) {
      if (strict) throw Error('404-notFound: no route matches request');
      return undefined;
    }
    const path = router.normalizePath(normalized.path);
    const hit = exact.get(`${normalized.method} ${path}`);
    if (hit) return hit;
    let pathMatched = false;
    for (const p of patterns) {
      if (!p.re.test(path)) continue;
      pathMatched = true;
      if (p.op.method === normalized.method) return p.op;
    }
    if (!strict) return undefined;
    throw Error(pathMatched ? '405-methodNotAllowed: this method is not registered for the route' : '404-notFound: no route matches request');
  }

  // No query: an empty query string, or the empty object validation leaves on the coerced request.
  const noQuery = (q: Request['query']) => q === '' || (typeof q === 'object' && q !== null && Object.getPrototypeOf(q) === Object.prototype && Object.keys(q).length === 0);
  // The library's empty cookie jar (the `cookie` parser's object for no cookies), to give the same kind.
  const original = router.parseRequest.bind(router);
  const cookieJar = Object.getPrototypeOf(original({ method: 'get', path: '/', headers: {} }).cookies) as object | null;
  function parseRequest(req: Request, operation?: Operation): ParsedRequest {
    if (!noQuery(req.query) || (operation && operation.path.includes('{'))) return original(req, operation);
    const headers: Record<string, string | string[]> = {};
    for (const name of Object.keys(req.headers)) headers[name.toLowerCase()] = req.headers[name]!;
    if (headers.cookie !== undefined) return original(req, operation);
    let requestBody = req.body;
    if (req.body && typeof req.body !== 'object') {
      try {
        requestBody = JSON.parse(req.body.toString());
      } catch {
        // as the library: malformed JSON is reported by validation
      }
    }
    // The library's `{ ...normalizeRequest(req), params, headers, query, cookies, requestBody }`, built
    // by assignment (the spread of a request then overwriting its keys cost ~3 µs alone). A template
    // without parameters has none to take from the path (the library's answer: {}).
    const parsed = Object.assign({}, req) as ParsedRequest;
    let path = req.path?.trim() || '';
    if (!path.startsWith('/')) path = `/${path}`;
    parsed.path = path.split('?')[0]!;
    parsed.method = req.method.trim().toLowerCase();
    parsed.params = {};
    parsed.headers = headers;
    parsed.query = {};
    parsed.cookies = Object.create(cookieJar) as Record<string, string>;
    parsed.requestBody = requestBody;
    return parsed;
  }

  router.getOperations = () => operations;
  router.getOperation = (operationId: string) => byId.get(operationId);
  router.matchOperation = matchOperation;
  router.parseRequest = parseRequest;
}
