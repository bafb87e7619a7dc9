import type { Handler } from '../../generated/gateway/operations';
import { credentialOf } from '../../src/gateway/auth';
import { createUploadTicket } from '../../src/gateway/run-media';
import { assertCallerMayRun, channelOf, widgetCheck } from '../../src/gateway/runs';
import { AppError } from '../../src/platform/errors';

/**
 * POST /v1/uploads — a presigned PUT for one image, PDF or audio file of a later run, for the
 * callers that may run the instance (src/gateway/run-media.ts).
 */
export const createRunUpload: Handler<'createRunUpload'> = async (req, ctx) => {
  const channel = channelOf(ctx.caller);
  if (channel === 'trigger') throw new AppError('FORBIDDEN', 'Uploads are made by users, project API keys and widget sessions');
  const who = ctx.caller!;
  widgetCheck(channel, who, req.body.instanceId, ctx);
  const ent = await ctx.deps.entitlements.get(req.body.instanceId, credentialOf(who), { requestId: ctx.requestId, signal: ctx.signal });
  ctx.annotate({ orgId: ent.orgId, projectId: ent.projectId, instanceId: ent.instanceId });
  assertCallerMayRun(channel, ent, ctx);
  return { status: 201, body: await createUploadTicket(ctx.deps.objectStore, ent, who, req.body) };
};
