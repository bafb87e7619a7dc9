/**
 * Every answer is counted under the operation it was routed to — refusals included (401, 403,
 * 400 from validation or a malformed body), with response validation OFF as in production — so
 * the error-rate alerts (WidgetInitFailures, BillingAuthorizeErrors, …) can see them. Only a path
 * that matches no operation is `unrouted`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http, startTestStack, type TestStack } from '../../../test/support/stack';

type Sample = { labels: Record<string, string>; value: number };

function samples(text: string, metric: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${metric}\\{(.*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

async function count(base: string, labels: Record<string, string>): Promise<number> {
  const text = (await http('GET', `${base}/metrics`)).body as string;
  return samples(text, 'agentstore_http_requests_total')
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

for (const validateResponses of [false, true]) {
  describe(`metrics by operation (response validation ${validateResponses ? 'on' : 'off'})`, () => {
    let stack: TestStack;
    let cp: string;
    let gw: string;
    before(async () => {
      stack = await startTestStack(['control-plane', 'gateway'], { SEED_DEMO: '0' }, { validateResponses });
      cp = stack.url('control-plane');
      gw = stack.url('gateway');
    });
    after(async () => stack?.close());

    test('a 401 (no token) on authorizeBudget is counted as authorizeBudget, not unrouted', async () => {
      const r = await http('POST', `${cp}/billing/authorize`, { body: { instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', estimatedBudget: 1 }, headers: { 'idempotency-key': 'm-1' } });
      assert.equal(r.status, 401);
      assert.equal(await count(cp, { operation: 'authorizeBudget', status: '401', code: 'UNAUTHENTICATED', service: 'control-plane' }), 1);
    });

    test('a 403 (a user token on a service operation) and a 400 (validation, malformed JSON) keep their operation', async () => {
      const user = await stack.userToken('metrics@example.com');
      const forbidden = await http('POST', `${cp}/billing/authorize`, { token: user, body: { instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', estimatedBudget: 1 }, headers: { 'idempotency-key': 'm-2' } });
      assert.equal(forbidden.status, 403);
      const gateway = await stack.serviceToken('gateway');
      const invalid = await http('POST', `${cp}/billing/authorize`, { token: gateway, body: { estimatedBudget: 'lots' }, headers: { 'idempotency-key': 'm-3' } });
      assert.equal(invalid.status, 400);
      const malformed = await http('POST', `${cp}/billing/authorize`, { token: gateway, raw: '{"instanceId":', headers: { 'content-type': 'application/json', 'idempotency-key': 'm-4' } });
      assert.equal(malformed.status, 400);
      assert.equal(await count(cp, { operation: 'authorizeBudget', status: '403' }), 1);
      assert.equal(await count(cp, { operation: 'authorizeBudget', status: '400' }), 2);
      assert.equal(await count(cp, { operation: 'authorizeBudget', status: '400', code: 'VALIDATION_FAILED' }), 1);
      assert.equal(await count(cp, { operation: 'unrouted', status: '400' }), 0);
    });

    test('a refused widget session init is counted as initWidgetSession on the gateway', async () => {
      const r = await http('POST', `${gw}/v1/widget/session:init`, {
        headers: { origin: 'https://evil.example' },
        body: { instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', visitorId: 'vis_metrics' },
      });
      assert.ok(r.status >= 400, String(r.status));
      assert.equal(await count(gw, { operation: 'initWidgetSession', status: String(r.status), service: 'gateway' }), 1);
    });

    test('only a path that matches no operation is unrouted; the latency histogram has the operation too', async () => {
      assert.equal((await http('GET', `${cp}/no-such-route`)).status, 404);
      assert.equal(await count(cp, { operation: 'unrouted', status: '404' }), 1);
      const text = (await http('GET', `${cp}/metrics`)).body as string;
      assert.ok(samples(text, 'agentstore_http_request_duration_seconds_count').some((s) => s.labels.operation === 'authorizeBudget' && s.value >= 1));
    });
  });
}
