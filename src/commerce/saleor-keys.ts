/**
 * Names of a paid Saleor order line, scoped by the Saleor instance that sold it. Saleor order and
 * line ids are global ids (`base64("Order:<uuid>")`) unique within one Saleor only: two stores
 * can send the same ids, so every name of a line carries its instance — the exact API URL
 * (`Saleor-Api-Url`, as allow-listed), shortened to a tag.
 *
 * - `Idempotency-Key` and ledger reference: `saleor:<tag>:<orderId>:<lineId>`
 * - instance `source_ref` (source `saleor`): `<tag>:<orderId>:<lineId>`
 *
 * The tag is the first 16 hex digits (64 bits) of SHA-256 over the API URL: fixed length (keys
 * stay within the 200 characters an Idempotency-Key may have), made of characters every key
 * pattern accepts, and the same in the Provisioner and the Control Plane, which both derive it.
 */
import { createHash } from 'node:crypto';

export function saleorInstanceTag(saleorApiUrl: string): string {
  return createHash('sha256').update(saleorApiUrl, 'utf8').digest('hex').slice(0, 16);
}

/** The commerce idempotency key of an order line (also its ledger reference). */
export function orderLineKey(saleorApiUrl: string, orderId: string, lineId: string): string {
  return `saleor:${saleorInstanceTag(saleorApiUrl)}:${orderId}:${lineId}`;
}

/** An instance's `source_ref` for a Saleor order line (with source `saleor`). */
export function orderLineSourceRef(saleorApiUrl: string, orderId: string, lineId: string): string {
  return `${saleorInstanceTag(saleorApiUrl)}:${orderId}:${lineId}`;
}
