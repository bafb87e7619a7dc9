/**
 * The app's page in Saleor's dashboard (the manifest's `appUrl`): plain HTML, escaped, saying
 * whether the Saleor instance is allowed and installed and where its orders go. No token, no order.
 */
import type { SaleorAppInstallation } from './installations';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function saleorAppPage(o: { saleorApiUrl: string | null; allowed: boolean; installation?: SaleorAppInstallation; baseUrl: string }): string {
  const base = o.baseUrl.replace(/\/+$/, '');
  let status: string;
  if (!o.saleorApiUrl) status = 'Open this page from the Saleor dashboard to see the state of your store.';
  else if (!o.allowed) status = `${escape(o.saleorApiUrl)} is not an allowed Saleor instance: add it to SALEOR_API_URLS.`;
  else if (!o.installation) status = `${escape(o.saleorApiUrl)} is allowed but the app is not installed yet.`;
  else status = `Installed for ${escape(o.installation.saleorApiUrl)} on ${o.installation.installedAt.toISOString()} (app ${escape(o.installation.appId)}).`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent Store</title></head>
<body>
<h1>Agent Store</h1>
<p>${status}</p>
<p>Paid orders (ORDER_FULLY_PAID) are received at <code>${escape(base)}/webhooks/saleor/order-fully-paid</code>, held by the Agent Store Provisioner and applied once: plan variants become instances, credit packs become paid credits.</p>
</body></html>
`;
}
