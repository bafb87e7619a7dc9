/**
 * The Saleor side of a webhook, for `npm run saleor:send-order` and the tests: an RS256 key
 * (kid = RFC 7638 thumbprint) published as a JWKS, ORDER_FULLY_PAID payloads in both forms,
 * and signing byte for byte as Saleor does. Written from Saleor's and pyjwt's source:
 * - `saleor/core/jwt_manager.py` `jws_encode`: pyjwt `api_jws.encode(body, key, "RS256",
 *   headers={"kid": <thumbprint>, "crit": ["b64"]}, is_payload_detached=True)`; before saleor
 *   PR #15485 (3.20.0, 3.19.1 and backports) the headers had no `crit`.
 * - pyjwt `jwt/api_jws.py` `encode`: header `{"typ": "JWT", "alg": …}` updated with the given
 *   headers, then `b64: false`; `json.dumps(header, separators=(",", ":"), sort_keys=True)`
 *   (pyjwt ≥ 2.4.1/2.5.0; 2.4.0, which Saleor 3.5 locked, did not sort: insertion order);
 *   base64url without padding; signing input `b64url(header) + "." + body`; the middle part
 *   emptied: `<header>..<signature>`.
 * - `saleor/webhook/transport/utils.py` `send_webhook_using_http`: the headers sent.
 * - payload bytes: the legacy payload is Django's JSON serializer (`json.dump`, default
 *   separators `", "`/`": "`, `ensure_ascii=False`, objects joined by `","` inside `[...]`);
 *   the subscription payload is `json.dumps({**data})` (default separators, ASCII-escaped).
 */
import { createHmac, createPrivateKey, randomUUID, sign as cryptoSign } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';

/**
 * Which Saleor signs: `crit` — 3.20+ and the backports (`{"alg","b64","crit","kid","typ"}`);
 * `no-crit` — 3.19.0 and earlier on pyjwt ≥ 2.4.1 (sorted, no `crit`); `no-crit-unsorted` —
 * Saleor on pyjwt 2.4.0 (`{"typ","alg","kid","b64"}` in insertion order).
 */
export type SaleorJwsForm = 'crit' | 'no-crit' | 'no-crit-unsorted';

export interface SaleorSignOptions {
  form?: SaleorJwsForm;
  /** Extra or overriding protected-header members (tests of refusals). */
  header?: Record<string, unknown>;
}

export interface SaleorSigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
  /** `<b64url(protected)>..<b64url(signature)>`, exactly as Saleor's pyjwt makes it. */
  sign(body: Uint8Array | string, opts?: SaleorSignOptions): Promise<string>;
}

/** The protected header JSON as pyjwt serialises it for Saleor. */
export function pyjwtProtectedHeader(kid: string, opts: SaleorSignOptions = {}): string {
  const form = opts.form ?? 'crit';
  const headers: Record<string, unknown> = form === 'crit' ? { kid, crit: ['b64'] } : { kid };
  const header: Record<string, unknown> = { typ: 'JWT', alg: 'RS256', ...headers, ...opts.header };
  if (header.b64 === undefined) header.b64 = false;
  const ordered = form === 'no-crit-unsorted' ? header : Object.fromEntries(Object.keys(header).sort().map((k) => [k, header[k]]));
  return JSON.stringify(ordered);
}

export async function saleorKeyFromJwk(privateJwk: JWK): Promise<SaleorSigningKey> {
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint({ kty: privateJwk.kty, n: privateJwk.n, e: privateJwk.e }));
  const key = createPrivateKey({ key: { ...privateJwk } as never, format: 'jwk' });
  const publicJwk: JWK = { kty: 'RSA', n: privateJwk.n, e: privateJwk.e, kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    privateJwk: { ...privateJwk, kid },
    publicJwk,
    async sign(body, opts = {}) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
      const protectedB64 = Buffer.from(pyjwtProtectedHeader(kid, opts), 'utf8').toString('base64url');
      const signature = cryptoSign('RSA-SHA256', Buffer.concat([Buffer.from(`${protectedB64}.`, 'ascii'), bytes]), key);
      return `${protectedB64}..${signature.toString('base64url')}`;
    },
  };
}

/**
 * Python's `json.dumps(value)` byte for byte for JSON data: separators `", "` and `": "`,
 * non-ASCII escaped as `\uXXXX` unless `ensureAscii` is false. (Integers only: Saleor's
 * encoder writes Decimals as strings.)
 */
export function pythonJsonDumps(value: unknown, opts: { ensureAscii?: boolean } = {}): string {
  const ensureAscii = opts.ensureAscii ?? true;
  const str = (s: string) => {
    const json = JSON.stringify(s);
    return ensureAscii ? json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
  };
  const walk = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return str(v);
    if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(walk).join(', ')}]`;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${str(k)}: ${walk(x)}`).join(', ')}}`;
  };
  return walk(value);
}

/** The bytes Saleor sends for a payload: the legacy array as Django's serializer writes it, the subscription payload as `json.dumps`. */
export function saleorPayloadBytes(payload: unknown): string {
  if (Array.isArray(payload)) return `[${payload.map((o) => pythonJsonDumps(o, { ensureAscii: false })).join(',')}]`;
  return pythonJsonDumps(payload);
}

export async function generateSaleorKey(): Promise<SaleorSigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  return saleorKeyFromJwk(await exportJWK(privateKey));
}

/** Keeps one key in `<dir>/signing-key.json` (mode 0600), creating it on first use. */
export async function loadOrCreateSaleorKey(dir: string): Promise<SaleorSigningKey> {
  const file = path.join(dir, 'signing-key.json');
  try {
    return await saleorKeyFromJwk(JSON.parse(await readFile(file, 'utf8')) as JWK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = await generateSaleorKey();
  await writeFile(file, JSON.stringify(key.privateJwk, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return key;
}

export function saleorJwks(...keys: SaleorSigningKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** Legacy signature: lowercase hex HMAC-SHA256 of the body with the webhook's secret key. */
export function saleorHmac(body: Uint8Array | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Every header Saleor sends with a webhook (and the deprecated X-Saleor-* duplicates). */
export function saleorHeaders(o: { apiUrl: string; signature: string; event?: string; domain?: string }): Record<string, string> {
  const event = o.event ?? 'order_fully_paid';
  const domain = o.domain ?? new URL(o.apiUrl).host;
  return {
    'content-type': 'application/json',
    'saleor-event': event,
    'saleor-domain': domain,
    'saleor-signature': o.signature,
    'saleor-api-url': o.apiUrl,
    'x-saleor-event': event,
    'x-saleor-domain': domain,
    'x-saleor-signature': o.signature,
  };
}

export interface DemoLine {
  /** Defaults to a fresh OrderLine global id. */
  id?: string;
  quantity?: number;
  sku: string;
  variantId?: string;
  /** Variant metadata (merchant-controlled). */
  metadata?: Record<string, string>;
  /** Product metadata (merchant-controlled). */
  productMetadata?: Record<string, string>;
}

export interface DemoOrder {
  id?: string;
  number?: number;
  email: string;
  /** Order metadata (public; orgId / projectId). */
  metadata?: Record<string, string>;
  lines: DemoLine[];
}

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

/** Fills in ids the way Saleor shapes them (base64 global ids over UUIDs). */
export function completeOrder(o: DemoOrder): Required<Pick<DemoOrder, 'id' | 'number'>> & DemoOrder & { lines: (DemoLine & { id: string; variantId: string; quantity: number })[] } {
  return {
    ...o,
    id: o.id ?? globalId('Order', randomUUID()),
    number: o.number ?? Math.floor(1000 + Math.random() * 9000),
    lines: o.lines.map((l) => ({
      ...l,
      id: l.id ?? globalId('OrderLine', randomUUID()),
      variantId: l.variantId ?? globalId('ProductVariant', String(Math.floor(100 + Math.random() * 900))),
      quantity: l.quantity ?? 1,
    })),
  };
}

const kv = (m: Record<string, string> = {}) => Object.entries(m).map(([key, value]) => ({ key, value }));

/**
 * The subscription payload as Saleor sends it for the app's query
 * (`saleor-app/order-fully-paid.graphql`): the query's `event`, exactly its fields
 * (saleor-app.test.ts checks this against graphql-js executing the query).
 */
export function subscriptionPayload(order: ReturnType<typeof completeOrder>): unknown {
  return {
    order: {
      id: order.id,
      number: String(order.number),
      userEmail: order.email,
      metadata: kv(order.metadata),
      privateMetadata: [],
      lines: order.lines.map((l) => ({
        id: l.id,
        quantity: l.quantity,
        productSku: l.sku,
        productVariantId: l.variantId,
        variant: {
          id: l.variantId,
          metadata: kv(l.metadata),
          product: { metadata: kv(l.productMetadata) },
        },
      })),
    },
  };
}

/** The legacy (non-subscription) payload: a JSON array with the order, snake_case fields, metadata as dicts. */
export function legacyPayload(order: ReturnType<typeof completeOrder>): unknown {
  return [
    {
      type: 'Order',
      id: order.id,
      token: randomUUID(),
      number: order.number,
      created: new Date().toISOString(),
      status: 'unfulfilled',
      origin: 'checkout',
      user_email: order.email,
      metadata: order.metadata ?? {},
      private_metadata: {},
      channel: { type: 'Channel', id: globalId('Channel', '1'), slug: 'default-channel', currency_code: 'USD' },
      total_gross_amount: 49,
      lines: order.lines.map((l) => ({
        type: 'OrderLine',
        id: l.id,
        product_name: l.sku,
        variant_name: l.sku,
        product_sku: l.sku,
        product_variant_id: l.variantId,
        quantity: l.quantity,
        currency: 'USD',
        unit_price_gross_amount: '49.00',
        allocations: [],
      })),
      fulfillments: [],
      payments: [],
    },
  ];
}
