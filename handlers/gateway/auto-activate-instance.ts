import type { Handler } from '../../generated/gateway/operations';
import { userToken } from '../../src/gateway/auth';
import { autoActivate } from '../../src/gateway/trial';

/** POST /v1/instances/autoActivate — a trial instance of a published offering, waited for until active. */
export const autoActivateInstance: Handler<'autoActivateInstance'> = async (req, ctx) =>
  autoActivate(ctx.deps, userToken(ctx.caller), req.body, ctx);
