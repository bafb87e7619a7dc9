import type { Handler } from '../../generated/control-plane/operations';
import { notImplemented } from '../../src/platform/http/not-implemented';

/** POST /integrations/saleor/order-paid — not built yet: answers 501 NOT_IMPLEMENTED. */
export const receiveSaleorOrderPaid: Handler<'receiveSaleorOrderPaid'> = notImplemented('receiveSaleorOrderPaid');
