/**
 * Every operation of every spec, called through the running services: without credentials
 * it answers a canonical 401; with valid credentials and a request sampled from the spec it
 * never answers 400 (the spec's own examples are valid) nor 500 (every response is validated
 * against the spec), and an operation not built yet answers a canonical 501.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { handlers as connectorGateway } from '../../generated/connector-gateway/handler-registry';
import { handlers as controlPlane } from '../../generated/control-plane/handler-registry';
import { handlers as gateway } from '../../generated/gateway/handler-registry';
import { handlers as provisioner } from '../../generated/provisioner/handler-registry';
import { handlers as runner } from '../../generated/runner/handler-registry';
import { loadDefinition } from '../../src/platform/spec';
import { isNotImplemented } from '../../src/platform/http/not-implemented';
import type { ServiceName } from '../../src/stack';
import { sample, samplePath } from '../support/schema-sample';
import { http, startTestStack, type TestStack } from '../support/stack';

const registries: Record<ServiceName, Record<string, unknown>> = {
  'control-plane': controlPlane, gateway, 'connector-gateway': connectorGateway, runner, provisioner,
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

let stack: TestStack;
before(async () => {
  stack = await startTestStack(['control-plane', 'gateway', 'connector-gateway', 'runner', 'provisioner'], { ARGOCD_WEBHOOK_TOKEN: 'test-argocd-token-0123456789' });
});
after(async () => stack?.close());

for (const service of Object.keys(registries) as ServiceName[]) {
  const spec: any = loadDefinition(service);
  describe(`${service}: every operation`, () => {
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => (p.$ref ? resolve(spec, p.$ref) : p));
        const security: string[][] = (op.security ?? spec.security ?? []).map((r: any) => Object.keys(r));
        const url = () => stack.url(service) + samplePath(path, params, spec) + sampleQuery(params, spec);
        const body = op.requestBody ? requestExample(resolveMaybe(spec, op.requestBody).content['application/json'], spec) : undefined;
        const anonymousAllowed = security.some((r) => r.length === 0);

        if (security.length && !anonymousAllowed) {
          test(`${op.operationId}: no credentials → 401 UNAUTHENTICATED`, async () => {
            const res = await http(method.toUpperCase(), url(), { body, headers: { 'x-request-id': `req-${op.operationId}` } });
            assert.equal(res.status, 401, JSON.stringify(res.body));
            assert.equal(res.body.error.code, 'UNAUTHENTICATED');
            assert.equal(res.body.error.traceId, `req-${op.operationId}`);
            assert.equal(res.headers.get('x-request-id'), `req-${op.operationId}`);
          });
        }

        test(`${op.operationId}: valid request → spec-conformant answer${isNotImplemented(registries[service][op.operationId]) ? ' (501 until built)' : ''}`, async (t) => {
          const headers = await credentials(op, security, params, spec);
          if (!headers) return t.skip('no credential for this scheme in the test stack yet');
          const res = await http(method.toUpperCase(), url(), { body, headers });
          assert.notEqual(res.status, 400, `sampled request refused: ${JSON.stringify(res.body)}`);
          assert.notEqual(res.status, 500, `server error: ${JSON.stringify(res.body)}`);
          if (isNotImplemented(registries[service][op.operationId])) {
            assert.equal(res.status, 501);
            assert.equal(res.body.error.code, 'NOT_IMPLEMENTED');
          }
        });
      }
    }
  });
}

async function credentials(op: any, security: string[][], params: any[], spec: any): Promise<Record<string, string> | undefined> {
  const headers: Record<string, string> = {};
  for (const p of params.filter((x) => x.in === 'header')) {
    if (p.required) headers[p.name.toLowerCase()] = String(p.example ?? sample(p.schema, spec));
  }
  if (!security.length) return headers;
  const schemes = security.flat();
  const roles: string[] = op['x-roles'] ?? [];
  if (schemes.includes('bearerAuth')) {
    const svc = roles.find((r) => r.startsWith('service:'))?.slice('service:'.length);
    const userAllowed = roles.length === 0 || roles.some((r) => !r.startsWith('service:'));
    headers.authorization = `Bearer ${userAllowed || !svc ? await stack.userToken() : await stack.serviceToken(svc as any)}`;
    return headers;
  }
  if (schemes.includes('argocdWebhookAuth')) {
    headers['x-argocd-webhook-token'] = 'test-argocd-token-0123456789';
    return headers;
  }
  return undefined;
}

/** The spec's own request example (what Prism and the docs show), else a sample from the schema. */
function requestExample(media: any, spec: any): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = media.examples && Object.values<any>(media.examples)[0];
  if (first) return (first.$ref ? resolve(spec, first.$ref) : first).value;
  return sample(media.schema, spec);
}

function sampleQuery(params: any[], spec: any): string {
  const q = new URLSearchParams();
  for (const p of params.filter((x) => x.in === 'query' && x.required)) q.set(p.name, String(p.example ?? sample(p.schema, spec)));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function resolve(spec: any, ref: string): any {
  return ref.replace(/^#\//, '').split('/').reduce((n: any, k) => n?.[k], spec);
}

function resolveMaybe(spec: any, o: any): any {
  return o?.$ref ? resolve(spec, o.$ref) : o;
}
