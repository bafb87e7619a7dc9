import type { Handler } from '../../generated/provisioner/operations';
import { registerSaleorApp as register } from '../../src/provisioner/saleor-app/register';

/** POST /api/register — Saleor hands over the app token while installing the app. */
export const registerSaleorApp: Handler<'registerSaleorApp'> = async (req, ctx) => {
  const { saleorApiUrl, appId } = await register(
    { allowedApiUrls: ctx.deps.config.saleor.apiUrls, installations: ctx.deps.saleorApp.installations, appIdOf: ctx.deps.saleorApp.appIdOf },
    {
      saleorApiUrl: req.headers['saleor-api-url'],
      saleorDomain: req.headers['saleor-domain'],
      schemaVersion: req.headers['saleor-schema-version'],
      authToken: req.body.auth_token,
    },
  );
  ctx.annotate({ saleorApiUrl, saleorAppId: appId });
  return { status: 200, body: { success: true } };
};
