/**
 * ORDER_FULLY_PAID payload → one Control Plane `receiveSaleorOrderPaid` request per order line.
 *
 * Step 1, `parseOrderPayload`: both payload forms (the legacy JSON array with `metadata` as a
 * dict and snake_case lines; the subscription object with `metadata` as `[{key, value}]` and
 * camelCase lines) become one form-neutral `ParsedOrder`. The legacy lines are what
 * `saleor/webhook/payloads.py` `generate_order_lines_payload` writes: `product_sku`,
 * `product_variant_id`, `quantity`, prices — no variant or product metadata, so a legacy line is
 * mapped by its SKU only. The subscription form (the app's query, `saleor-app/order-fully-paid.graphql`)
 * also brings the variant's and its product's metadata.
 *
 * Step 2, `mapLine`: a parsed line becomes the Control Plane's `OrderPaidRequest`. What was bought
 * is read only from data the merchant controls — the variant's and its product's metadata and the
 * SKU. Order and order-line metadata are NOT trusted for it: Saleor copies checkout metadata,
 * which the buyer can write, into them, so a buyer could otherwise name the credits they get.
 * Order metadata only says where to provision (`orgId`, `projectId`; private metadata wins over
 * public), and the Control Plane checks the buyer may use that org/project.
 *
 * | line is a…  | when (first match)                                                                |
 * |-------------|-----------------------------------------------------------------------------------|
 * | credit pack | variant/product metadata `creditsAmount` (subscription form), or SKU `credits:<amount>`; top-up = creditsAmount × quantity |
 * | plan        | variant/product metadata `offeringVersionId` (+ `planId`) (subscription form), or SKU `<offeringSlug>:<planId>` resolved to the offering's published version by `CatalogResolver` |
 * A line that is neither, or contradicts itself (metadata plan ≠ SKU plan, both a pack and a
 * plan), cannot be mapped: a permanent `MappingError`.
 */
import type { OrderPaidRequest } from '../../generated/control-plane/types';
import { orderLineKey } from '../commerce/saleor-keys';

export type { OrderPaidRequest };

export interface ParsedLine {
  id: string;
  quantity: number;
  sku: string | null;
  variantId: string | null;
  /** The variant's metadata (merchant-controlled). */
  variantMetadata: Record<string, string>;
  /** The variant's product's metadata (merchant-controlled). */
  productMetadata: Record<string, string>;
}

export interface ParsedOrderHeader {
  id: string;
  number: string | null;
  email: string | null;
  orgId: string | null;
  projectId: string | null;
}

export interface ParsedOrder extends ParsedOrderHeader {
  form: 'subscription' | 'legacy';
  lines: ParsedLine[];
}

/** What one line is mapped from; kept in a dead letter so the line can be mapped again on replay. */
export interface LineSource {
  order: ParsedOrderHeader;
  line: ParsedLine;
}

export class MappingError extends Error {
  constructor(
    message: string,
    /** True when trying again later may succeed (the catalog was unreachable). */
    readonly transient = false,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
    this.name = 'MappingError';
  }
}

/** Resolves `<offeringSlug>:<planId>` SKUs to the offering's published version. */
export interface CatalogResolver {
  /** Throws MappingError (transient when the catalog is unreachable). */
  publishedVersion(slug: string, planId: string): Promise<string>;
}

export const PLAN_IDS = ['starter', 'pro', 'enterprise'] as const;
export type PlanId = (typeof PLAN_IDS)[number];

const OFFERING_VERSION_ID = /^ov_[A-Za-z0-9]{8,40}$/;
const ORG_ID = /^org_[A-Za-z0-9]{8,40}$/;
const PROJECT_ID = /^prj_[A-Za-z0-9]{8,40}$/;
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const PLAN_SKU = /^([a-z0-9]+(?:-[a-z0-9]+)*):(starter|pro|enterprise)$/;
const CREDITS_SKU = /^credits:([1-9][0-9]{0,8})$/;
const POSITIVE_INT = /^[1-9][0-9]{0,8}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_CREDITS = 100_000_000;
const MAX_QUANTITY = 100;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Saleor metadata in either shape (`{k: v}` or `[{key, value}]`) → a plain map of strings. */
export function metadataMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(value)) {
    for (const item of value) if (isObject(item) && typeof item.key === 'string' && typeof item.value === 'string') out[item.key] = item.value;
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function orderNumber(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return str(value);
}

function routing(publicMeta: Record<string, string>, privateMeta: Record<string, string>) {
  return {
    orgId: privateMeta.orgId ?? publicMeta.orgId ?? null,
    projectId: privateMeta.projectId ?? publicMeta.projectId ?? null,
  };
}

/**
 * Both ORDER_FULLY_PAID forms → ParsedOrder. The request schema has already checked the shape;
 * this throws only when no order can be found at all.
 */
export function parseOrderPayload(body: unknown): ParsedOrder {
  if (Array.isArray(body)) {
    const order = body[0];
    if (!isObject(order) || !str(order.id)) throw new MappingError('The legacy payload holds no order');
    const lines = Array.isArray(order.lines) ? order.lines.filter(isObject) : [];
    return {
      form: 'legacy',
      id: str(order.id)!,
      number: orderNumber(order.number),
      email: str(order.user_email),
      ...routing(metadataMap(order.metadata), metadataMap(order.private_metadata)),
      lines: lines.map((l) => ({
        id: String(l.id),
        quantity: Number(l.quantity),
        sku: str(l.product_sku),
        variantId: str(l.product_variant_id),
        // Saleor's legacy order payload carries no variant or product metadata
        // (saleor/webhook/payloads.py generate_order_lines_payload): the SKU alone says what was bought.
        variantMetadata: {},
        productMetadata: {},
      })),
    };
  }
  const order = isObject(body) ? body.order : undefined;
  if (!isObject(order) || !str(order.id)) throw new MappingError('The subscription payload holds no order');
  const lines = Array.isArray(order.lines) ? order.lines.filter(isObject) : [];
  return {
    form: 'subscription',
    id: str(order.id)!,
    number: orderNumber(order.number),
    email: str(order.userEmail),
    ...routing(metadataMap(order.metadata), metadataMap(order.privateMetadata)),
    lines: lines.map((l) => {
      const variant = isObject(l.variant) ? l.variant : undefined;
      const product = isObject(variant?.product) ? variant.product : undefined;
      return {
        id: String(l.id),
        quantity: Number(l.quantity),
        sku: str(l.productSku),
        // A variant deleted after the sale is null; the line still names it.
        variantId: str(variant?.id) ?? str(l.productVariantId),
        variantMetadata: metadataMap(variant?.metadata),
        productMetadata: metadataMap(product?.metadata),
      };
    }),
  };
}

/** `saleor:<instance tag>:<orderId>:<lineId>` — the Control Plane's commerce idempotency key (src/commerce/saleor-keys.ts). */
export function idempotencyKeyFor(saleorApiUrl: string, orderId: string, lineId: string): string {
  return orderLineKey(saleorApiUrl, orderId, lineId);
}

/**
 * Maps one line sold by the Saleor instance at `saleorApiUrl` to the Control Plane's
 * `OrderPaidRequest`; throws MappingError when it cannot.
 */
export async function mapLine(source: LineSource, saleorApiUrl: string, catalog?: CatalogResolver): Promise<OrderPaidRequest> {
  const { order, line } = source;
  if (!order.email || !EMAIL.test(order.email) || order.email.length > 254) {
    throw new MappingError('The order has no valid buyer email (userEmail / user_email)');
  }
  if (order.orgId !== null && !ORG_ID.test(order.orgId)) throw new MappingError(`Order metadata orgId "${order.orgId.slice(0, 60)}" is not an org id`);
  if (order.projectId !== null && !PROJECT_ID.test(order.projectId)) throw new MappingError(`Order metadata projectId "${order.projectId.slice(0, 60)}" is not a project id`);
  if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_QUANTITY) {
    throw new MappingError(`Line quantity must be an integer from 1 to ${MAX_QUANTITY} (got ${line.quantity})`);
  }

  const meta = { ...line.productMetadata, ...line.variantMetadata }; // the variant wins over its product
  const sku = line.sku;
  const creditsSku = sku ? CREDITS_SKU.exec(sku) : null;
  const planSku = sku ? PLAN_SKU.exec(sku) : null;

  const request: OrderPaidRequest = {
    saleorApiUrl,
    orderId: order.id,
    lineId: line.id,
    buyer: { email: order.email },
    kind: 'instance',
    quantity: line.quantity,
  };
  if (order.number !== null) request.orderNumber = order.number.slice(0, 50);
  if (order.orgId !== null) request.buyer.orgId = order.orgId;
  if (order.projectId !== null) request.buyer.projectId = order.projectId;
  if (line.variantId !== null) request.saleorVariantId = line.variantId.slice(0, 200);
  if (sku !== null) request.sku = sku.slice(0, 200);

  const creditsRaw = meta.creditsAmount ?? creditsSku?.[1];
  const isPlan = meta.offeringVersionId !== undefined || meta.planId !== undefined || planSku !== null;
  if (creditsRaw !== undefined) {
    if (isPlan) throw new MappingError('The line is both a credit pack (creditsAmount) and a plan (offeringVersionId/planId): fix the variant metadata or SKU');
    if (!POSITIVE_INT.test(creditsRaw) || Number(creditsRaw) > MAX_CREDITS) {
      throw new MappingError(`creditsAmount must be a whole number from 1 to ${MAX_CREDITS} (got "${creditsRaw.slice(0, 30)}")`);
    }
    if (meta.creditsAmount !== undefined && creditsSku && creditsSku[1] !== meta.creditsAmount) {
      throw new MappingError(`creditsAmount metadata (${meta.creditsAmount}) disagrees with the SKU ${sku}`);
    }
    request.kind = 'credit_pack';
    request.creditsAmount = Number(creditsRaw);
    return request;
  }

  if (!isPlan) {
    throw new MappingError(`The line is neither a credit pack nor a plan: no creditsAmount / offeringVersionId metadata and the SKU ${sku === null ? '(none)' : `"${sku.slice(0, 60)}"`} follows neither credits:<amount> nor <offeringSlug>:<planId>`);
  }
  const planId = meta.planId ?? planSku?.[2];
  if (planId === undefined || !(PLAN_IDS as readonly string[]).includes(planId)) {
    throw new MappingError(`The plan must be one of ${PLAN_IDS.join(', ')} (planId metadata or the SKU's suffix; got ${planId === undefined ? 'none' : `"${planId.slice(0, 30)}"`})`);
  }
  if (planSku && planSku[2] !== planId) throw new MappingError(`planId metadata (${planId}) disagrees with the SKU ${sku}`);
  let offeringVersionId = meta.offeringVersionId;
  if (offeringVersionId !== undefined) {
    if (!OFFERING_VERSION_ID.test(offeringVersionId)) throw new MappingError(`offeringVersionId metadata "${offeringVersionId.slice(0, 60)}" is not an offering version id`);
  } else {
    const slug = meta.offeringSlug ?? planSku?.[1];
    if (!slug || !SLUG.test(slug)) throw new MappingError('The plan line names no offering: set offeringVersionId metadata on the variant or use the SKU <offeringSlug>:<planId>');
    if (!catalog) throw new MappingError(`The offering "${slug}" cannot be resolved: no catalog is configured`);
    offeringVersionId = await catalog.publishedVersion(slug, planId);
  }
  request.kind = 'instance';
  request.offeringVersionId = offeringVersionId;
  request.planId = planId as PlanId;
  return request;
}
