import type { Handler } from '../../generated/gateway/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /v1/widget/session:init — not built yet: answers 501 NOT_IMPLEMENTED. */
export const initWidgetSession: Handler<'initWidgetSession'> = notImplemented('initWidgetSession');
