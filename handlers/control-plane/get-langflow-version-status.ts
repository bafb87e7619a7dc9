import type { Handler } from '../../generated/control-plane/operations';
import { versionStatus } from '../../src/catalog';

/** GET /integrations/langflow/versions/{versionId}/status — certification, live or not, active instances. */
export const getLangflowVersionStatus: Handler<'getLangflowVersionStatus'> = async (req, ctx) => {
  return { status: 200, body: await versionStatus(ctx.deps.db, req.params.versionId) };
};
