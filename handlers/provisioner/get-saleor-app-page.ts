import type { Handler } from '../../generated/provisioner/operations';
import { normalizeSaleorApiUrl } from '../../src/platform/config';
import { saleorAppPage } from '../../src/provisioner/saleor-app/page';

/** GET /api/app — the app's page in the Saleor dashboard (no token, no orders). */
export const getSaleorAppPage: Handler<'getSaleorAppPage'> = async (req, ctx) => {
  const apiUrl = req.query.saleorApiUrl ? normalizeSaleorApiUrl(req.query.saleorApiUrl) : undefined;
  const allowed = apiUrl !== undefined && ctx.deps.config.saleor.apiUrls.includes(apiUrl);
  const installation = allowed ? await ctx.deps.saleorApp.installations.get(apiUrl!) : undefined;
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: saleorAppPage({ saleorApiUrl: req.query.saleorApiUrl ?? null, allowed, installation, baseUrl: ctx.deps.config.urls.provisioner }),
  };
};
