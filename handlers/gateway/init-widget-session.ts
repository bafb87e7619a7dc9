import type { Handler } from '../../generated/gateway/operations';
import { initWidgetSession as init } from '../../src/gateway/widget';

/** POST /v1/widget/session:init — Origin-checked session token + branding (src/gateway/widget.ts). */
export const initWidgetSession: Handler<'initWidgetSession'> = async (req, ctx) => ({
  status: 200,
  body: await init(ctx.deps, req.body, req.headers.origin, ctx),
});
