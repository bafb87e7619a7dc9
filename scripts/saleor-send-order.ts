/**
 * `npm run saleor:send-order -- --offering <slug> --plan starter --email buyer@example.com [--credits 500]`
 *
 * Plays Saleor for the local stack: keeps an RS256 key in `DATA_DIR/saleor-dev/` (kid = RFC 7638
 * thumbprint), serves its JWKS at `http://127.0.0.1:<port>/.well-known/jwks.json` while it runs,
 * builds an ORDER_FULLY_PAID payload the way Saleor does, byte for byte (the subscription form of
 * the app's query; `--legacy` for the legacy array, whose lines carry no metadata and are mapped
 * by SKU only), signs it the way Saleor does (pyjwt's JWS with a detached, unencoded payload:
 * with `crit: ["b64"]` as Saleor 3.20+ does, `--no-crit` as Saleor 3.19.0 and earlier do; or the
 * legacy HMAC with `--hmac-secret`), sends it with every Saleor header (and the deprecated
 * X-Saleor-* duplicates) and prints the Provisioner's answer: the order held in its inbox (it is
 * delivered to the Control Plane right after; operators follow it with `GET /inbox/{inboxId}`).
 *
 * The Provisioner must trust this "Saleor": in development `SALEOR_API_URLS` defaults to
 * http://127.0.0.1:8089/graphql/ (this script's default port). With another `--port`, start the
 * stack with `SALEOR_API_URLS=http://127.0.0.1:<port>/graphql/ npm start`.
 *
 * Lines (merchant data as the Provisioner reads it):
 * - `--offering <slug> --plan <starter|pro|enterprise>` → SKU `<slug>:<plan>`, variant metadata
 *   `planId` (+ `offeringVersionId` with `--offering-version ov_…`; without it the Provisioner
 *   resolves the slug to the offering's published version through the catalog);
 * - `--credits <n>` → SKU `credits:<n>`, variant metadata `creditsAmount`.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { orderLineKey } from '../src/commerce/saleor-keys';
import { completeOrder, legacyPayload, loadOrCreateSaleorKey, saleorHeaders, saleorHmac, saleorJwks, saleorPayloadBytes, subscriptionPayload, type DemoLine } from '../src/provisioner/saleor-dev';

const USAGE = `usage: npm run saleor:send-order -- [--offering <slug> --plan <starter|pro|enterprise>] [--credits <n>] --email <buyer>
  [--quantity <n>] [--offering-version ov_…] [--org org_…] [--project prj_…]
  [--legacy] [--no-crit] [--duplicate] [--hmac-secret <secret>] [--url http://127.0.0.1:8084] [--port 8089]
  --legacy     the legacy (non-subscription) array payload: lines mapped by SKU only
  --no-crit    sign as Saleor 3.19.0 and earlier: the JWS header without crit ["b64"]`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      offering: { type: 'string' },
      plan: { type: 'string', default: 'starter' },
      'offering-version': { type: 'string' },
      credits: { type: 'string' },
      quantity: { type: 'string', default: '1' },
      email: { type: 'string' },
      org: { type: 'string' },
      project: { type: 'string' },
      legacy: { type: 'boolean', default: false },
      'no-crit': { type: 'boolean', default: false },
      duplicate: { type: 'boolean', default: false },
      'hmac-secret': { type: 'string' },
      url: { type: 'string', default: process.env.PROVISIONER_BASE ?? `http://127.0.0.1:${process.env.PROVISIONER_PORT ?? 8084}` },
      port: { type: 'string', default: '8089' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.email || (!values.offering && !values.credits)) {
    console.error(USAGE);
    return 2;
  }
  const quantity = Number(values.quantity);
  const lines: DemoLine[] = [];
  if (values.offering) {
    const metadata: Record<string, string> = { planId: values.plan! };
    if (values['offering-version']) metadata.offeringVersionId = values['offering-version'];
    lines.push({ sku: `${values.offering}:${values.plan}`, quantity, metadata });
  }
  if (values.credits) {
    lines.push({ sku: `credits:${values.credits}`, quantity: values.offering ? 1 : quantity, metadata: { creditsAmount: values.credits } });
  }
  const metadata: Record<string, string> = {};
  if (values.org) metadata.orgId = values.org;
  if (values.project) metadata.projectId = values.project;
  const order = completeOrder({ email: values.email, metadata, lines });

  const key = await loadOrCreateSaleorKey(join(process.env.DATA_DIR ?? '.data', 'saleor-dev'));
  const jwks = saleorJwks(key);
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(jwks));
      return;
    }
    res.writeHead(404).end();
  });
  const port = Number(values.port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve the JWKS on 127.0.0.1:${port}: ${(err as Error).message} (try --port)`)));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const apiUrl = `http://127.0.0.1:${port}/graphql/`;

  try {
    const raw = saleorPayloadBytes(values.legacy ? legacyPayload(order) : subscriptionPayload(order));
    const form = values['no-crit'] ? 'no-crit' : 'crit';
    const signature = values['hmac-secret'] ? saleorHmac(raw, values['hmac-secret']) : await key.sign(raw, { form });
    const headers = saleorHeaders({ apiUrl, signature });
    const target = `${values.url!.replace(/\/+$/, '')}/webhooks/saleor/order-fully-paid`;

    console.log(`Saleor (dev): ${apiUrl}  JWKS ${apiUrl.replace('/graphql/', '/.well-known/jwks.json')}  kid ${key.kid}`);
    const signedAs = values['hmac-secret'] ? 'HMAC-SHA256' : `JWS RS256 detached, ${form === 'crit' ? 'crit ["b64"] (Saleor 3.20+)' : 'no crit (Saleor 3.19.0 and earlier)'}`;
    console.log(`ORDER_FULLY_PAID (${values.legacy ? 'legacy array, lines by SKU' : 'subscription'} payload, ${signedAs}) → ${target}`);
    console.log(`  order ${order.id} #${order.number}, buyer ${order.email}`);
    for (const l of order.lines) console.log(`  line ${l.id}  sku ${l.sku} × ${l.quantity}  Idempotency-Key ${orderLineKey(apiUrl, order.id, l.id)}`);
    if (values.legacy && values['offering-version']) console.log('  (--legacy: Saleor\'s legacy payload carries no variant metadata; the plan is found by its SKU, not --offering-version)');

    let ok = true;
    for (let i = 0; i < (values.duplicate ? 2 : 1); i++) {
      if (i > 0) console.log('\nDuplicate delivery (same bytes, same signature — Saleor redelivering):');
      let res: Response;
      try {
        res = await fetch(target, { method: 'POST', headers, body: raw });
      } catch (err) {
        console.error(`\nThe provisioner at ${values.url} is unreachable (${(err as Error).message}). Is the stack running (npm start)?`);
        return 1;
      }
      const text = await res.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // not JSON: print as is
      }
      console.log(`\n← ${res.status} ${res.statusText}  (X-Request-Id ${res.headers.get('x-request-id') ?? '-'})\n${shown}`);
      if (res.status === 403) console.log(`\nHint: the provisioner does not trust ${apiUrl}; start it with SALEOR_API_URLS=${apiUrl}`);
      ok &&= res.ok;
    }
    return ok ? 0 : 1;
  } finally {
    server.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`saleor:send-order failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  },
);
