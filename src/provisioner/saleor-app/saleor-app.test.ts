/**
 * The installable Saleor app: its subscription query (checked with graphql-js against Saleor's
 * types and against what the Provisioner reads), its manifest (checked against Saleor's manifest
 * shape), and the token registration over HTTP (the token only in the secret store).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Ajv from 'ajv';
import { buildSchema, execute, type FieldNode, Kind, parse, type SelectionSetNode, validate } from 'graphql';
import pino from 'pino';
import { openTestDb, type TestDb } from '../../../test/support/db';
import { http } from '../../../test/support/stack';
import { loadConfig } from '../../platform/config';
import { LocalEncryptedSecretStore } from '../../secrets';
import { createIdentity } from '../../auth/identity';
import { createProvisionerApp } from '../app';
import { createProvisionerDeps } from '../deps';
import { mapLine, parseOrderPayload } from '../order';
import { completeOrder, generateSaleorKey, saleorJwks, subscriptionPayload } from '../saleor-dev';
import { type FakeSaleor, startFakeSaleor } from '../testing';
import { appTokenPath } from './installations';
import { ORDER_FULLY_PAID_SUBSCRIPTION, saleorAppManifest } from './manifest';

const here = (f: string) => new URL(f, import.meta.url);
const schema = buildSchema(readFileSync(here('./saleor-schema-excerpt.graphql'), 'utf8'));
const query = parse(readFileSync(here('./order-fully-paid.graphql'), 'utf8'));
const OV = 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M';

const demo = completeOrder({
  number: 1042,
  email: 'ada@example.com',
  metadata: { orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X' },
  lines: [
    { sku: 'support-assistant:pro', metadata: { offeringVersionId: OV, planId: 'pro' } },
    { sku: 'pack-large', quantity: 2, productMetadata: { creditsAmount: '2500' } },
  ],
});

/** What Saleor would resolve for `demo` (more fields than the query asks for: only the selected ones come out). */
function saleorData() {
  const kv = (m: Record<string, string> = {}) => Object.entries(m).map(([key, value]) => ({ key, value }));
  return {
    event: {
      __typename: 'OrderFullyPaid',
      issuedAt: '2025-01-17T08:00:00+00:00',
      version: '3.20.0',
      order: {
        id: demo.id,
        number: String(demo.number),
        userEmail: demo.email,
        isPaid: true,
        created: '2025-01-17T07:59:00+00:00',
        user: null,
        metadata: kv(demo.metadata),
        privateMetadata: [],
        lines: demo.lines.map((l) => ({
          id: l.id,
          quantity: l.quantity,
          productName: l.sku,
          variantName: l.sku,
          productSku: l.sku,
          productVariantId: l.variantId,
          metadata: [{ key: 'creditsAmount', value: '99999' }], // buyer-writable line metadata
          privateMetadata: [],
          variant: { id: l.variantId, name: l.sku, sku: l.sku, metadata: kv(l.metadata), privateMetadata: [], product: { id: 'UHJvZHVjdDox', name: 'x', metadata: kv(l.productMetadata), privateMetadata: [] } },
        })),
      },
    },
  };
}

/** Paths of every field selected under `event` (fragments flattened), e.g. `order.lines[].variant.sku`. */
function selectedPaths(set: SelectionSetNode, prefix = ''): string[] {
  const out: string[] = [];
  for (const sel of set.selections) {
    if (sel.kind === Kind.INLINE_FRAGMENT) out.push(...selectedPaths(sel.selectionSet, prefix));
    else if (sel.kind === Kind.FIELD) {
      const f = sel as FieldNode;
      const path = prefix ? `${prefix}.${f.name.value}` : f.name.value;
      out.push(path);
      if (f.selectionSet) out.push(...selectedPaths(f.selectionSet, path));
    }
  }
  return out;
}

/** Runs `fn` on a proxy of `value` and answers every property path it read (array items as `[]`). */
function readPaths(value: unknown, fn: (v: unknown) => void): Set<string> {
  const seen = new Set<string>();
  const wrap = (v: unknown, path: string): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    const isArray = Array.isArray(v);
    return new Proxy(v as object, {
      get(target, prop, receiver) {
        const got = Reflect.get(target, prop, receiver);
        if (typeof prop === 'symbol') return got;
        if (isArray) {
          if (/^\d+$/.test(prop)) return wrap(got, `${path}[]`);
          return typeof got === 'function' ? got.bind(receiver) : got; // length, map, filter…
        }
        const next = path ? `${path}.${prop}` : prop;
        seen.add(next);
        return wrap(got, next);
      },
    });
  };
  fn(wrap(value, ''));
  return seen;
}

const normalize = (paths: Iterable<string>) => new Set([...paths].map((p) => p.replace(/\[\]/g, '')));

describe('the subscription query (order-fully-paid.graphql)', () => {
  test('is a valid subscription against Saleor\'s types, on OrderFullyPaid only', () => {
    assert.deepEqual(validate(schema, query).map((e) => e.message), []);
    const op = query.definitions[0]!;
    assert.equal(op.kind, Kind.OPERATION_DEFINITION);
    assert.equal(op.operation, 'subscription');
    const event = op.selectionSet.selections[0] as FieldNode;
    assert.equal(event.name.value, 'event');
    const fragments = event.selectionSet!.selections.map((s) => (s.kind === Kind.INLINE_FRAGMENT ? s.typeCondition?.name.value : s.kind));
    assert.deepEqual(fragments, ['OrderFullyPaid']);
    // A misspelt field is caught by the same check.
    const typo = parse(readFileSync(here('./order-fully-paid.graphql'), 'utf8').replace('productSku', 'productSKU'));
    assert.match(validate(schema, typo).map((e) => e.message).join(' '), /Cannot query field "productSKU" on type "OrderLine"/);
  });

  test('produces exactly the payload the dev Saleor sends (saleor-dev subscriptionPayload)', async () => {
    const result = await execute({ schema, document: query, rootValue: saleorData() });
    assert.deepEqual(result.errors ?? [], []);
    assert.deepEqual(JSON.parse(JSON.stringify(result.data!.event)), subscriptionPayload(demo));
  });

  test('selects every field the Provisioner reads, and reads every field it selects', async () => {
    const payload = JSON.parse(JSON.stringify((await execute({ schema, document: query, rootValue: saleorData() })).data!.event));
    // Saleor's variant is null once the variant was deleted after the sale: the fallbacks are read then.
    const variantDeleted = { ...payload, order: { ...payload.order, lines: payload.order.lines.map((l: any) => ({ ...l, variant: null })) } };
    const read = normalize([...readPaths(payload, (p) => parseOrderPayload(p)), ...readPaths(variantDeleted, (p) => parseOrderPayload(p))]);
    const op = query.definitions[0]!;
    assert.equal(op.kind, Kind.OPERATION_DEFINITION);
    const event = op.selectionSet.selections[0] as FieldNode;
    const selected = normalize(selectedPaths(event.selectionSet!));
    const selectedLeavesAndParents = [...selected];
    const notSelected = [...read].filter((p) => !selected.has(p));
    assert.deepEqual(notSelected, [], 'the parser reads fields the query does not ask Saleor for');
    // `key`/`value` of metadata items are read through metadataMap; every other selected field is read.
    const unread = selectedLeavesAndParents.filter((p) => !read.has(p) && !/\.(key|value)$/.test(p));
    assert.deepEqual(unread, [], 'the query asks Saleor for fields nobody reads');
  });

  test('its payload maps to the Control Plane requests; buyer-writable line metadata is not read', async () => {
    const payload = JSON.parse(JSON.stringify((await execute({ schema, document: query, rootValue: saleorData() })).data!.event));
    const order = parseOrderPayload(payload);
    const header = { id: order.id, number: order.number, email: order.email, orgId: order.orgId, projectId: order.projectId };
    const [plan, pack] = await Promise.all(order.lines.map((line) => mapLine({ order: header, line }, 'https://shop.example.com/graphql/')));
    assert.deepEqual([plan!.kind, plan!.offeringVersionId, plan!.planId, plan!.buyer.orgId], ['instance', OV, 'pro', 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X']);
    assert.deepEqual([pack!.kind, pack!.creditsAmount, pack!.quantity], ['credit_pack', 2500, 2]);
  });
});

/**
 * Saleor's manifest shape: `saleor/app/manifest_schema.py` (`ManifestSchema` and
 * `ManifestWebhookSchema`, pydantic with camelCase aliases: id, name, version required; the rest
 * optional with these types) plus what `manifest_validations.py` checks: permission names from
 * Saleor's permission enum (never MANAGE_APPS), async event names from WebhookEventAsyncType,
 * URLs the `AppURLValidator` accepts, and a subscription query.
 */
const SALEOR_MANIFEST_SCHEMA = {
  type: 'object',
  required: ['id', 'name', 'version'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    version: { type: 'string' },
    about: { type: ['string', 'null'] },
    permissions: { type: 'array', items: { type: 'string' } },
    appUrl: { type: ['string', 'null'] },
    tokenTargetUrl: { type: ['string', 'null'] },
    dataPrivacyUrl: { type: ['string', 'null'] },
    homepageUrl: { type: ['string', 'null'] },
    supportUrl: { type: ['string', 'null'] },
    audience: { type: ['string', 'null'] },
    requiredSaleorVersion: { type: ['string', 'null'] },
    author: { type: ['string', 'null'], pattern: '\\S' },
    extensions: { type: ['array', 'null'] },
    webhooks: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        required: ['name', 'targetUrl', 'query'],
        properties: {
          name: { type: 'string' },
          targetUrl: { type: 'string' },
          query: { type: 'string' },
          isActive: { type: 'boolean' },
          asyncEvents: { type: 'array', items: { type: 'string' } },
          syncEvents: { type: 'array', items: { type: 'string' } },
          customHeaders: { type: ['object', 'null'] },
          identifier: { type: ['string', 'null'], maxLength: 256 },
        },
      },
    },
  },
};
/** A few of Saleor's permission enum names (saleor/permission/enums.py) — the manifest may only use real ones. */
const SALEOR_PERMISSIONS = new Set(['MANAGE_ORDERS', 'MANAGE_PRODUCTS', 'MANAGE_USERS', 'MANAGE_CHECKOUTS', 'HANDLE_PAYMENTS', 'MANAGE_APPS']);
/** django URLValidator as Saleor's AppURLValidator narrows it: scheme://host[:port][/path] (localhost allowed). */
const APP_URL = /^[a-z0-9.+-]*:\/\/(?:[^\s:@/]+(?::[^\s:@/]*)?@)?(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|(?:[a-z0-9-]+\.)*[a-z0-9-]+)(?::\d{2,5})?(?:[/?#][^\s]*)?$/i;

describe('the manifest (GET /api/manifest)', () => {
  test('validates against Saleor\'s manifest shape and checks', () => {
    const manifest = saleorAppManifest('https://provisioner.example.com/');
    const ajv = new Ajv({ allErrors: true, strict: false });
    const valid = ajv.validate(SALEOR_MANIFEST_SCHEMA, manifest);
    assert.ok(valid, JSON.stringify(ajv.errors));
    for (const p of manifest.permissions as string[]) assert.ok(SALEOR_PERMISSIONS.has(p) && p !== 'MANAGE_APPS', p);
    for (const url of [manifest.appUrl, manifest.tokenTargetUrl, ...manifest.webhooks.map((w) => w.targetUrl)]) assert.match(url, APP_URL);
    assert.deepEqual(manifest.webhooks.map((w) => [w.asyncEvents, w.isActive, w.targetUrl]), [[['ORDER_FULLY_PAID'], true, 'https://provisioner.example.com/webhooks/saleor/order-fully-paid']]);
    assert.equal(manifest.tokenTargetUrl, 'https://provisioner.example.com/api/register');
    assert.deepEqual(validate(schema, parse(manifest.webhooks[0]!.query)), []);
    assert.equal(manifest.webhooks[0]!.query, ORDER_FULLY_PAID_SUBSCRIPTION);
    assert.doesNotMatch(ORDER_FULLY_PAID_SUBSCRIPTION, /#/, 'comments are not shipped');
  });
});

describe('installing the app: POST /api/register, GET /api/manifest, GET /api/app', () => {
  let db: TestDb;
  let saleor: FakeSaleor;
  let downApiUrl: string;
  let secretsDir: string;
  let url: string;
  let close: () => Promise<void>;
  const logs: string[] = [];
  const TOKEN = 'saleor-app-token-Zx81_vQ-secret';

  before(async () => {
    db = await openTestDb();
    saleor = await startFakeSaleor(saleorJwks(await generateSaleorKey()));
    saleor.appTokens.set(TOKEN, 'QXBwOjQy');
    downApiUrl = `${await closedPortUrl()}/graphql/`;
    secretsDir = (await import('node:fs')).mkdtempSync((await import('node:path')).join((await import('node:os')).tmpdir(), 'saleor-app-secrets-'));
    const config = loadConfig({ APP_ENV: 'test', DATA_DIR: secretsDir, SALEOR_API_URLS: `${saleor.apiUrl},${downApiUrl}`, PROVISIONER_BASE: 'https://provisioner.example.com' });
    const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _e, cb) => { logs.push(String(chunk)); cb(); } }));
    const deps = createProvisionerDeps({ config, log, db: db.db, identity: await createIdentity(config) }, { secrets: new LocalEncryptedSecretStore(secretsDir) });
    const app = await createProvisionerApp(deps, { validateResponses: true });
    url = (await app.listen(0, '127.0.0.1')).url;
    close = () => app.close();
  });
  after(async () => {
    await close?.();
    await saleor?.close();
    await db?.close();
  });

  const register = (token: string, apiUrl = saleor.apiUrl, extra: Record<string, string> = {}) =>
    http('POST', `${url}/api/register`, { body: { auth_token: token }, headers: { 'saleor-api-url': apiUrl, 'saleor-domain': new URL(apiUrl).host, 'saleor-schema-version': '3.20', ...extra } });

  test('GET /api/manifest answers the manifest under PROVISIONER_BASE', async () => {
    const res = await http('GET', `${url}/api/manifest`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, saleorAppManifest('https://provisioner.example.com'));
  });

  test('a token Saleor confirms is stored in the secret store only; a reinstall replaces it', async () => {
    const res = await register(TOKEN);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { success: true });
    assert.equal(saleor.graphqlAuth.at(-1), `Bearer ${TOKEN}`, 'Saleor was asked with the token');
    const row = await db.db('saleor_app_installations').where({ saleor_api_url: saleor.apiUrl }).first();
    assert.deepEqual([row.app_id, row.secret_path, row.secret_version, row.schema_version], ['QXBwOjQy', appTokenPath(saleor.apiUrl), 1, '3.20']);
    assert.doesNotMatch(JSON.stringify(row), new RegExp(TOKEN));
    const store = new LocalEncryptedSecretStore(secretsDir);
    assert.equal((await store.get(appTokenPath(saleor.apiUrl))).data.token, TOKEN);
    const onDisk = readFileSync(`${secretsDir}/kv/${appTokenPath(saleor.apiUrl)}.json`, 'utf8');
    assert.doesNotMatch(onDisk, new RegExp(TOKEN), 'encrypted at rest');

    saleor.appTokens.set('second-token-0123456789', 'QXBwOjQy');
    assert.equal((await register('second-token-0123456789')).status, 200);
    assert.equal((await store.get(appTokenPath(saleor.apiUrl))).data.token, 'second-token-0123456789');
    assert.equal((await db.db('saleor_app_installations').where({ saleor_api_url: saleor.apiUrl }).first()).secret_version, 2);
    assert.deepEqual(logs.filter((l) => l.includes(TOKEN) || l.includes('second-token-0123456789')), [], 'the token is never logged');
  });

  test('refusals store nothing: not allow-listed 403, a token Saleor does not know 401, Saleor unreachable 503, no header 400', async () => {
    const before = await db.db('saleor_app_installations').count<{ count: string }[]>('* as count');
    const cases: [string, Awaited<ReturnType<typeof register>>, number, string][] = [
      ['not allow-listed', await register(TOKEN, 'https://evil.example/graphql/'), 403, 'FORBIDDEN'],
      ['Saleor-Domain mismatch', await register(TOKEN, saleor.apiUrl, { 'saleor-domain': 'evil.example' }), 403, 'FORBIDDEN'],
      ['forged token', await register('made-up-token-0000'), 401, 'UNAUTHENTICATED'],
      ['Saleor unreachable', await register('another-token-1111', downApiUrl), 503, 'DEPENDENCY_UNAVAILABLE'],
      ['no Saleor-Api-Url', await http('POST', `${url}/api/register`, { body: { auth_token: TOKEN } }), 400, 'VALIDATION_FAILED'],
      ['no token', await http('POST', `${url}/api/register`, { body: {}, headers: { 'saleor-api-url': saleor.apiUrl } }), 400, 'VALIDATION_FAILED'],
    ];
    for (const [name, res, status, code] of cases) {
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, name);
      assert.doesNotMatch(JSON.stringify(res.body), /made-up-token|another-token|saleor-app-token/, `${name}: no token in the answer`);
    }
    assert.deepEqual(await db.db('saleor_app_installations').count('* as count'), before);
    assert.equal((await db.db('saleor_app_installations').where({ saleor_api_url: downApiUrl })).length, 0);
  });

  test('GET /api/app tells whether the Saleor instance is allowed and installed, escaped, without the token', async () => {
    const installed = await http('GET', `${url}/api/app?saleorApiUrl=${encodeURIComponent(saleor.apiUrl)}`);
    assert.equal(installed.status, 200);
    assert.match(installed.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(installed.body, /Installed for/);
    assert.doesNotMatch(installed.body, /token/i);
    const unknown = await http('GET', `${url}/api/app?saleorApiUrl=${encodeURIComponent('https://evil.example/graphql/<script>')}`);
    assert.match(unknown.body, /not an allowed Saleor instance/);
    assert.doesNotMatch(unknown.body, /<script>/);
  });
});

/** A URL nothing listens on (connection refused): a port we bound and released. */
async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

