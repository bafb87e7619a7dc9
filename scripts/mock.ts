/**
 * `npm run mock -- <service> [port]`: Prism serves the bundled spec (examples, request validation)
 * behind a small proxy that answers CORS exactly as the real service does — from the spec's
 * `x-cors` (src/platform/http/cors.ts, the same middleware) — instead of Prism's own CORS, which
 * reflects any origin with credentials on every operation. So a page that works against the mock
 * works against the real service, and one the real service refuses is refused here too.
 *
 * Requests are validated first exactly as the services validate them
 * (src/platform/http/request-validation.ts): a body or parameter that breaks the spec gets the
 * services' 400 VALIDATION_FAILED (malformed JSON: 400 MALFORMED_JSON), where Prism alone would
 * answer its own 422. `Prefer: code=…` asks Prism for a documented response and skips this check.
 *
 * The mock has no instances: `configured` and `widget` origins are `CORS_ALLOWED_ORIGINS` plus
 * loopback origins (http://localhost:<port>, http://127.0.0.1:<port>), where a frontend's dev
 * server runs.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import Koa from 'koa';
import { OpenAPIBackend } from 'openapi-backend';
import { AppError, errorBody } from '../src/platform/errors';
import { corsMiddleware } from '../src/platform/http/cors';
import { isJsonContentType, parseJsonBody } from '../src/platform/http/request-body';
import { requestIdFrom } from '../src/platform/http/request-id';
import { VALIDATION_OPTIONS, validationFailed } from '../src/platform/http/request-validation';
import { loadDefinition } from '../src/platform/spec';

const SERVICES = ['control-plane', 'gateway', 'connector-gateway', 'runner', 'provisioner'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function main() {
  const [service, portArg] = process.argv.slice(2);
  if (!service || !SERVICES.includes(service)) {
    console.error(`usage: npm run mock -- <service> [port]   services: ${SERVICES.join(' ')}`);
    process.exit(2);
  }
  const port = Number(portArg ?? 4010);
  const upstreamPort = await freePort();
  const prism = spawn('npx', ['prism', 'mock', '--host', '127.0.0.1', '--port', String(upstreamPort), '--cors=false', `generated/openapi/${service}.openapi.yaml`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = () => {
    prism.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  prism.on('exit', (code) => process.exit(code ?? 1));

  const api = new OpenAPIBackend({ definition: loadDefinition(service), quick: true, validate: false });
  await api.init();
  const validator = new OpenAPIBackend({ definition: loadDefinition(service), quick: true, ...VALIDATION_OPTIONS });
  await validator.init();
  const configured = new Set((process.env.CORS_ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const allowed = (origin: string) => configured.has(origin) || /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/.test(origin);
  // Requests wait until Prism answers, so a client never meets a half-started mock.
  const ready = (async () => {
    for (let i = 0; ; i++) {
      try {
        await fetch(`http://127.0.0.1:${upstreamPort}/__probe__`);
        return;
      } catch {
        if (i > 1200) throw new Error('Prism did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  const koa = new Koa();
  koa.use(corsMiddleware(api, {
    decider: { configured: allowed, widget: async (origin) => allowed(origin) },
    alwaysExpose: service === 'gateway' ? ['X-Gateway-Overhead-Ms', 'Server-Timing'] : [],
  }));
  koa.use(async (ctx) => {
    await ready;
    const headers = new Headers();
    for (const [k, v] of Object.entries(ctx.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(k)) headers.set(k, v);
    const chunks: Buffer[] = [];
    for await (const c of ctx.req) chunks.push(c as Buffer);
    if (!/code=/.test(ctx.get('prefer'))) {
      const refused = refusal(validator, ctx.method, ctx.path, ctx.querystring, ctx.headers as Record<string, string>, Buffer.concat(chunks));
      if (refused) {
        const requestId = requestIdFrom(ctx.headers['x-request-id']);
        ctx.status = refused.status;
        ctx.set('X-Request-Id', requestId);
        ctx.body = errorBody(refused, requestId);
        return;
      }
    }
    const res = await fetch(`http://127.0.0.1:${upstreamPort}${ctx.url}`, { method: ctx.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined, redirect: 'manual' });
    ctx.status = res.status;
    res.headers.forEach((v, k) => {
      if (!['content-length', 'transfer-encoding', 'connection'].includes(k) && !k.startsWith('access-control-')) ctx.set(k, v);
    });
    ctx.body = Buffer.from(await res.arrayBuffer());
    ctx.state.served = { operationId: '', status: res.status };
  });
  koa.listen(port, '127.0.0.1', () => console.log(`mock: ${service} on http://127.0.0.1:${port} (Prism on ${upstreamPort}, CORS from the spec's x-cors)`));
}

/** The services' refusal of a request that breaks the spec, or undefined when it is valid (or unrouted: Prism answers that). */
function refusal(validator: OpenAPIBackend, method: string, path: string, query: string, headers: Record<string, string>, raw: Buffer): AppError | undefined {
  let body: unknown;
  try {
    if (raw.length) body = isJsonContentType(headers['content-type']) ? parseJsonBody(raw) : raw.toString('utf8');
  } catch (err) {
    return err instanceof AppError ? err : undefined;
  }
  const request = { method, path, query, headers, body };
  const operation = validator.matchOperation(request);
  if (!operation) return undefined;
  const result = validator.validateRequest(request, operation);
  return result.valid ? undefined : validationFailed(result.errors);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
