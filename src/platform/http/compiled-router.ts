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
 */
import type { Operation, OpenAPIRouter, Request } from 'openapi-backend';

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

  router.getOperations = () => operations;
  router.getOperation = (operationId: string) => byId.get(operationId);
  router.matchOperation = matchOperation;
}
