/**
 * The Saleor app manifest of the Provisioner (`GET /api/manifest`), in Saleor's manifest shape:
 * `saleor/app/manifest_schema.py` (`ManifestSchema`: id, version, name, about, permissions,
 * appUrl, tokenTargetUrl, webhooks[{name, targetUrl, query, isActive, asyncEvents}], camelCase)
 * and the checks of `saleor/app/manifest_validations.py` (permissions from Saleor's permission
 * enum, async events from `WebhookEventAsyncType`, a valid subscription query). Saleor fetches it
 * when an operator installs the app by URL, then posts the app token to `tokenTargetUrl`.
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../../platform/paths';

/** The subscription whose `event` Saleor sends as the ORDER_FULLY_PAID body (comments dropped). */
export const ORDER_FULLY_PAID_SUBSCRIPTION = readFileSync(projectPath('src', 'provisioner', 'saleor-app', 'order-fully-paid.graphql'), 'utf8')
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n')
  .trim();

export const SALEOR_APP_ID = 'agent-store.provisioner';
/** Saleor permissions the app asks for: order events need MANAGE_ORDERS. */
export const SALEOR_APP_PERMISSIONS = ['MANAGE_ORDERS'] as const;
/** Subscription webhooks on ORDER_FULLY_PAID with `crit`-less and `crit` signatures alike: Saleor 3.14+. */
export const REQUIRED_SALEOR_VERSION = '>=3.14';

const packageVersion = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;

export interface SaleorAppManifest {
  id: string;
  version: string;
  name: string;
  about: string;
  permissions: (typeof SALEOR_APP_PERMISSIONS)[number][];
  appUrl: string;
  tokenTargetUrl: string;
  requiredSaleorVersion: string;
  webhooks: { name: string; targetUrl: string; query: string; isActive: boolean; asyncEvents: 'ORDER_FULLY_PAID'[] }[];
}

/** The manifest, its URLs under `baseUrl` (the Provisioner's public address, PROVISIONER_BASE). */
export function saleorAppManifest(baseUrl: string): SaleorAppManifest {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    id: SALEOR_APP_ID,
    version: packageVersion,
    name: 'Agent Store',
    about: 'Turns paid orders into Agent Store instances and credit top-ups: every ORDER_FULLY_PAID order is held by the Agent Store Provisioner and applied once.',
    permissions: [...SALEOR_APP_PERMISSIONS],
    appUrl: `${base}/api/app`,
    tokenTargetUrl: `${base}/api/register`,
    requiredSaleorVersion: REQUIRED_SALEOR_VERSION,
    webhooks: [
      {
        name: 'Agent Store: order fully paid',
        targetUrl: `${base}/webhooks/saleor/order-fully-paid`,
        query: ORDER_FULLY_PAID_SUBSCRIPTION,
        isActive: true,
        asyncEvents: ['ORDER_FULLY_PAID'],
      },
    ],
  };
}
