/**
 * `npm run mock -- <service>` is what frontend teams build against: Prism must answer every
 * operation of every spec with a realistic (example) success response when sent the spec's own
 * example request; with `Prefer: code=<status>, example=<CODE>` it must answer every documented
 * error response with exactly that named example (the codes the operation really answers,
 * specs/errors.yaml) and the response's header examples; and a request that breaks the schema
 * gets the services' own 400 VALIDATION_FAILED, not Prism's 422.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { loadDefinition } from '../src/platform/spec';
import { sample } from '../test/support/schema-sample';

const services = readdirSync(new URL('../generated/openapi/', import.meta.url)).map((f) => f.replace('.openapi.yaml', ''));
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const procs: ChildProcess[] = [];
after(() => procs.forEach((p) => { try { process.kill(-p.pid!, 'SIGTERM'); } catch { /* gone */ } }));

async function startPrism(service: string): Promise<string> {
  const port = await freePort();
  // Its own process group, so the whole Prism tree stops with the suite.
  const p = spawn('bash', ['scripts/mock.sh', service, String(port)], { stdio: 'ignore', detached: true });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${url}/__probe__`);
      return url;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`prism for ${service} did not start`);
}

for (const service of services) {
  describe(`prism mock: ${service}`, () => {
    const spec: any = loadDefinition(service);
    let url: Promise<string> | undefined;
    const base = () => (url ??= startPrism(service));
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        const build = () => exampleRequest(spec, path, item, op);
        test(`${op.operationId} answers its example`, async () => {
          const { filled, headers, query, body } = build();
          const qs = query.toString();
          const res = await fetch(`${await base()}${filled}${qs ? `?${qs}` : ''}`, { method: method.toUpperCase(), headers, body });
          const text = await res.text();
          assert.ok(res.status >= 200 && res.status < 300, `${method.toUpperCase()} ${filled} → ${res.status} ${text.slice(0, 300)}`);
          if ((res.headers.get('content-type') ?? '').includes('json') && text) {
            const json = JSON.parse(text);
            assert.ok(json && typeof json === 'object' && Object.keys(json).length > 0, 'a realistic, non-empty example');
          }
        });
        test(`${op.operationId}: every documented error answers its named examples (Prefer: code, example)`, async () => {
          const { filled, headers, query, body } = build();
          const qs = query.toString();
          let asked = 0;
          for (const [status, r] of Object.entries<any>(op.responses)) {
            if (!/^[45]\d\d$/.test(status)) continue;
            const response = r.$ref ? ref(spec, r.$ref) : r;
            const examples = response.content?.['application/json']?.examples;
            assert.ok(examples && Object.keys(examples).length, `${op.operationId} ${status} has named examples`);
            for (const [name, ex] of Object.entries<any>(examples)) {
              asked++;
              const res = await fetch(`${await base()}${filled}${qs ? `?${qs}` : ''}`, { method: method.toUpperCase(), headers: { ...headers, prefer: `code=${status}, example=${name}` }, body });
              const json = await res.json();
              assert.equal(res.status, Number(status), `${op.operationId} Prefer code=${status}, example=${name}`);
              assert.equal(json.error?.code, name, `${op.operationId} ${status} example ${name} carries its code`);
              assert.deepEqual(json, ex.value);
              for (const [h, def] of Object.entries<any>(response.headers ?? {})) {
                const d = def.$ref ? ref(spec, def.$ref) : def;
                if (d.example !== undefined) assert.equal(res.headers.get(h), String(d.example), `${op.operationId} ${status} header ${h}`);
              }
            }
          }
          assert.ok(asked > 0 || !Object.keys(op.responses).some((st) => /^[45]/.test(st)));
        });
      }
    }
    test('a body that breaks the schema gets the services\' 400 VALIDATION_FAILED; malformed JSON 400 MALFORMED_JSON', async () => {
      const target = Object.entries<any>(spec.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]?.requestBody).map((m) => ({ path, item, method: m, op: item[m] })))[0];
      if (!target) return;
      const { filled, headers, query } = exampleRequest(spec, target.path, target.item, target.op);
      const qs = query.toString();
      const url = `${await base()}${filled}${qs ? `?${qs}` : ''}`;
      const res = await fetch(url, { method: target.method.toUpperCase(), headers: { ...headers, 'content-type': 'application/json', 'x-request-id': 'req-mock-invalid' }, body: JSON.stringify([1, 2, 3]) });
      const json = await res.json();
      assert.equal(res.status, 400, JSON.stringify(json));
      assert.equal(json.error.code, 'VALIDATION_FAILED');
      assert.equal(json.error.traceId, 'req-mock-invalid');
      assert.ok(Array.isArray(json.error.details.errors) && json.error.details.errors.length > 0);
      const bad = await fetch(url, { method: target.method.toUpperCase(), headers: { ...headers, 'content-type': 'application/json' }, body: '{"oops' });
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error.code, 'MALFORMED_JSON');
    });
  });
}

/** The operation's own example request: path, required header/query parameters and body from the spec's examples. */
function exampleRequest(spec: any, path: string, item: any, op: any) {
  const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => (p.$ref ? ref(spec, p.$ref) : p));
  const filled = path.replace(/\{([^}]+)\}/g, (_, n) => encodeURIComponent(String(params.find((p: any) => p.in === 'path' && p.name === n)?.example ?? params.find((p: any) => p.in === 'path' && p.name === n)?.schema?.example ?? 'x')));
  const headers: Record<string, string> = { authorization: 'Bearer mock-token', 'x-api-key': 'ask_mock', 'x-argocd-webhook-token': 'mock' };
  for (const p of params.filter((x: any) => x.in === 'header' && x.required)) headers[p.name] = String(p.example ?? p.schema?.example ?? sample(p.schema, spec));
  const query = new URLSearchParams();
  for (const p of params.filter((x: any) => x.in === 'query' && x.required)) query.set(p.name, String(p.example ?? p.schema?.example ?? sample(p.schema, spec)));
  let body: string | undefined;
  const media = op.requestBody && (op.requestBody.$ref ? ref(spec, op.requestBody.$ref) : op.requestBody).content?.['application/json'];
  if (media) {
    const ex = media.example ?? (media.examples && Object.values<any>(media.examples)[0]?.value);
    assert.ok(ex !== undefined, `${op.operationId} has no request example`);
    body = JSON.stringify(ex);
    headers['content-type'] = 'application/json';
  }
  return { filled, headers, query, body };
}

function ref(spec: any, r: string): any {
  return r.replace(/^#\//, '').split('/').reduce((n: any, k) => n?.[k], spec);
}
