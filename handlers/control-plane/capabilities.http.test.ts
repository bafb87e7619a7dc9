/** listCapabilities and getCapability over HTTP: public, spec-valid, schema served for config forms. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { capabilityRegistry } from '../../src/capabilities/registry';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

let stack: TestStack;
let cp: string;
before(async () => {
  stack = await startTestStack(['control-plane']);
  cp = stack.url('control-plane');
});
after(async () => stack?.close());

test('GET /capabilities lists the 16 registry entries without a token, in registry order, without configSchema', async () => {
  const res = await http('GET', `${cp}/capabilities`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.registryVersion, capabilityRegistry().version);
  assert.deepEqual(
    res.body.items.map((c: any) => c.id),
    capabilityRegistry().capabilities.map((c) => c.id),
  );
  assert.equal(res.body.nextCursor, null);
  const widget = res.body.items.find((c: any) => c.id === 'web_widget');
  assert.deepEqual(widget.provisioning, { handler: 'web_widget.v1', kinds: ['WidgetConfig', 'GatewayPolicy'] });
  assert.equal(widget.saleorValue, 'web-widget');
  assert.deepEqual(widget.metering.dimensions.map((d: any) => [d.name, d.credits, d.per]), [['widget_runs', 1, 1]]);
  assert.ok(res.body.items.every((c: any) => !('configSchema' in c)));
});

test('GET /capabilities?layer= filters by layer', async () => {
  const res = await http('GET', `${cp}/capabilities?layer=experience`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.items.map((c: any) => c.id), ['api_endpoint', 'chat_ui', 'web_widget']);
});

test('GET /capabilities pages with limit and an opaque cursor until nextCursor is null', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: any = await http('GET', `${cp}/capabilities?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.items.length <= 5);
    seen.push(...res.body.items.map((c: any) => c.id));
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 4);
  assert.deepEqual(seen, capabilityRegistry().capabilities.map((c) => c.id));
});

test('GET /capabilities with a forged cursor answers 400 VALIDATION_FAILED', async () => {
  const res = await http('GET', `${cp}/capabilities?cursor=bm90LWEtY3Vyc29y`);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED');
});

test('GET /capabilities with an unknown layer answers 400 VALIDATION_FAILED', async () => {
  const res = await http('GET', `${cp}/capabilities?layer=space`);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED');
});

test('GET /capabilities/{id} serves the capability with a configSchema a form renderer can compile', async () => {
  const res = await http('GET', `${cp}/capabilities/web_widget`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.id, 'web_widget');
  assert.equal(res.body.layer, 'experience');
  assert.deepEqual(res.body.configSchema, capabilityRegistry().require('web_widget').configSchema);
  assert.equal(res.body.configSchema.properties.allowedOrigins.type, 'array');
  const ajv = addFormats(new Ajv({ strict: false, useDefaults: true }));
  const validate = ajv.compile(res.body.configSchema);
  const form: Record<string, unknown> = {};
  assert.ok(validate(form));
  assert.equal(form.position, 'bottom-right', 'defaults are in the served schema');
});

test('every registry capability is served by GET /capabilities/{id}', async () => {
  for (const c of capabilityRegistry().capabilities) {
    const res = await http('GET', `${cp}/capabilities/${c.id}`);
    assert.equal(res.status, 200, `${c.id}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.provisioning.handler, `${c.id}.v${c.v}`);
  }
});

test('GET /capabilities/{id} for an unknown id answers 404 NOT_FOUND', async () => {
  const res = await http('GET', `${cp}/capabilities/no_such_capability`);
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, 'NOT_FOUND');
  assert.equal(res.body.error.message, 'Capability not found');
});

test('GET /capabilities/{id} with a malformed id answers 400 VALIDATION_FAILED', async () => {
  const res = await http('GET', `${cp}/capabilities/Not-An-Id`);
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'VALIDATION_FAILED');
});
