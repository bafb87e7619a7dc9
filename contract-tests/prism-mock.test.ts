/**
 * `npm run mock -- <service>` is what frontend teams build against: Prism must answer every
 * operation of every spec with a realistic (example) success response when sent the spec's own
 * example request.
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
        test(`${op.operationId} answers its example`, async () => {
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
          const qs = query.toString();
          const res = await fetch(`${await base()}${filled}${qs ? `?${qs}` : ''}`, { method: method.toUpperCase(), headers, body });
          const text = await res.text();
          assert.ok(res.status >= 200 && res.status < 300, `${method.toUpperCase()} ${filled} → ${res.status} ${text.slice(0, 300)}`);
          if ((res.headers.get('content-type') ?? '').includes('json') && text) {
            const json = JSON.parse(text);
            assert.ok(json && typeof json === 'object' && Object.keys(json).length > 0, 'a realistic, non-empty example');
          }
        });
      }
    }
  });
}

function ref(spec: any, r: string): any {
  return r.replace(/^#\//, '').split('/').reduce((n: any, k) => n?.[k], spec);
}
