import type { Handler } from '../../generated/provisioner/operations';
import { saleorAppManifest } from '../../src/provisioner/saleor-app/manifest';

/** GET /api/manifest — the Saleor app manifest, its URLs under PROVISIONER_BASE. */
export const getSaleorAppManifest: Handler<'getSaleorAppManifest'> = async (_req, ctx) => {
  return { status: 200, body: saleorAppManifest(ctx.deps.config.urls.provisioner) };
};
