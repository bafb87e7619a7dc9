import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** PATCH /offerings/{offeringId} — not built yet: answers 501 NOT_IMPLEMENTED. */
export const updateOffering: Handler<'updateOffering'> = notImplemented('updateOffering');
