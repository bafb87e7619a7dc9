import type { Handler } from '../../generated/runner/operations';
import { executeRun as execute } from '../../src/runner/execute';

/** POST /v1/runs — verify the artifact, run it on the configured runtime, answer output + usage. */
export const executeRun: Handler<'executeRun'> = async (req, ctx) => {
  const { runId, instanceId, orgId, projectId, versionId } = req.body;
  ctx.annotate({ runId, instanceId, versionId, ...(orgId ? { orgId } : {}), ...(projectId ? { projectId } : {}) });
  const body = await execute(ctx.deps, req.body, { requestId: ctx.requestId, signal: ctx.signal, log: ctx.log });
  return { status: 200, body };
};
