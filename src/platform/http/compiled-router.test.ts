/**
 * The compiled router answers exactly as openapi-backend's own router: for every operation of
 * every bundled spec (a concrete path for its template, under each HTTP method, with and without
 * a trailing slash and a query string), and for paths no operation has.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { OpenAPIBackend, type Document, type Request } from 'openapi-backend';
import YAML from 'yaml';
import { compileRouter } from './compiled-router';

const DIR = resolve(import.meta.dirname, '../../../generated/openapi');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'];

async function backend(definition: Document) {
  const api = new OpenAPIBackend({ definition: structuredClone(definition), quick: true, validate: false });
  await api.init();
  return api;
}

const outcome = (f: () => unknown) => {
  try {
    const op = f() as { operationId?: string } | undefined;
    return op ? `op:${op.operationId}` : 'none';
  } catch (err) {
    return `throw:${(err as Error).message}`;
  }
};

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml'))) {
  test(`${file}: the compiled router matches the library's router`, async () => {
    const definition = YAML.parse(readFileSync(join(DIR, file), 'utf8')) as Document;
    const original = (await backend(definition)).router;
    const compiledApi = await backend(definition);
    compileRouter(compiledApi.router);
    const compiled = compiledApi.router;

    const paths = new Set<string>(['/', '/nope', '/v1', '/v1/nope/deeper/still', '/healthz']);
    for (const p of Object.keys(definition.paths ?? {})) {
      const concrete = p.replace(/\{[^}]+\}/g, 'abc_01');
      paths.add(concrete);
      paths.add(`${concrete}/`);
      paths.add(`${concrete}?x=1&y=2`);
      paths.add(`${concrete}/extra`);
      paths.add(p.replace(/\{[^}]+\}/g, 'with.dot'));
    }
    let compared = 0;
    for (const path of paths) {
      for (const method of METHODS) {
        for (const strict of [false, true]) {
          const req = { method, path, headers: {} };
          assert.equal(outcome(() => compiled.matchOperation(req, strict as true)), outcome(() => original.matchOperation(req, strict as true)), `${method} ${path} strict=${strict}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 100);
    assert.deepEqual(compiled.getOperations().map((o) => `${o.method} ${o.path} ${o.operationId}`), original.getOperations().map((o) => `${o.method} ${o.path} ${o.operationId}`));
    for (const op of original.getOperations()) assert.equal(compiled.getOperation(op.operationId!)?.path, op.path);
  });
}

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml'))) {
  test(`${file}: the compiled router parses requests as the library's router does`, async () => {
    const definition = YAML.parse(readFileSync(join(DIR, file), 'utf8')) as Document;
    const original = (await backend(definition)).router;
    const compiledApi = await backend(definition);
    compileRouter(compiledApi.router);
    const compiled = compiledApi.router;

    const headerSets: Record<string, string | string[]>[] = [
      {},
      { 'Content-Type': 'application/json', Authorization: 'Bearer abc', 'x-request-id': 'req_1', 'X-Multi': ['a', 'b'] },
      { cookie: 'a=1; b=2', 'content-type': 'application/json' },
      { Cookie: ['a=1', 'c=3'] },
    ];
    const bodies: unknown[] = [undefined, { instanceId: 'inst_1', input: { text: 'hi' } }, '{"a":1}', 'not json', ''];
    const queries: Request['query'][] = ['', {}, 'limit=5&cursor=x', { limit: '5' }, undefined];
    let compared = 0;
    for (const op of [undefined, ...original.getOperations()]) {
      const path = op ? op.path.replace(/\{[^}]+\}/g, 'abc_01') : '/v1/nope';
      for (const headers of headerSets) {
        for (const body of bodies) {
          for (const query of queries) {
            const req = { method: (op?.method ?? 'get').toUpperCase(), path, headers, body, query } as Request;
            const label = `${op?.operationId ?? 'unrouted'} ${JSON.stringify({ headers, body, query })}`;
            assert.deepStrictEqual(compiled.parseRequest(req, op), original.parseRequest(req, op), label);
            compared++;
          }
        }
      }
    }
    assert.ok(compared > 100);
  });
}
