/**
 * The audit event: its wire shape (the spec's `AuditEvent`), how its hash is computed, who the
 * actor is, and the redaction every recorded `data` goes through.
 *
 * hash = sha256(prevHash + canonicalJson(event without prevHash/hash)) — exactly the fields the
 * API serves, so anyone holding an export can re-verify the chain without the database.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../../generated/control-plane/types';
import { canonicalJson } from '../platform/idempotency';
import type { Caller } from '../platform/http/handler-types';

export type { AuditEvent };
export type AuditActor = AuditEvent['actor'];

/** prevHash of an org's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a caller records; the chain fields (id, seq, hashes, time) are added by `recordAudit`. */
export interface AuditInput {
  orgId: string;
  projectId?: string | null;
  /** Dotted action, e.g. `instance.created`, `wallet.topup`, `billing.settled`. */
  action: string;
  resourceType: string;
  resourceId: string;
  actor: AuditActor;
  requestId?: string | null;
  /**
   * Action-specific fields. Name the subjects `instanceId` / `walletId` so the event is found by
   * them. Keys that name secrets are dropped (see `redact`); never put secrets here anyway.
   */
  data?: Record<string, unknown>;
  /** Default: now. */
  at?: Date;
}

export interface AuditRow {
  id: string;
  org_id: string;
  project_id: string | null;
  seq: number;
  action: string;
  resource_type: string;
  resource_id: string;
  actor_type: AuditActor['type'];
  actor_id: string;
  request_id: string | null;
  data: Record<string, unknown>;
  created_at: Date;
  prev_hash: string;
  hash: string;
}

export const AUDIT_COLUMNS =
  'id, org_id, project_id, seq, action, resource_type, resource_id, actor_type, actor_id, request_id, data, created_at, prev_hash, hash';

export function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    seq: r.seq,
    orgId: r.org_id,
    projectId: r.project_id,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    actor: { type: r.actor_type, id: r.actor_id },
    requestId: r.request_id,
    data: r.data ?? {},
    prevHash: r.prev_hash,
    hash: r.hash,
    createdAt: r.created_at.toISOString(),
  };
}

/** sha256(prevHash + canonical JSON of the event's content). */
export function hashEvent(prevHash: string, e: Omit<AuditEvent, 'prevHash' | 'hash'>): string {
  const content = {
    id: e.id,
    seq: e.seq,
    orgId: e.orgId,
    projectId: e.projectId ?? null,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    actor: { type: e.actor.type, id: e.actor.id },
    requestId: e.requestId ?? null,
    data: e.data ?? {},
    createdAt: e.createdAt,
  };
  return createHash('sha256').update(prevHash).update(canonicalJson(content)).digest('hex');
}

/** Key names (case-, `_`- and `-`-insensitive suffixes) that are never recorded. */
const SECRET_KEY = /(secret|password|passphrase|token|credentials?|authorization|privatekey|apikey|clientsecret|accesskey|cookie)$/;

/**
 * A JSON-safe copy of `data` without secret-named keys (recursively). Dates become ISO strings,
 * so what is hashed is exactly what jsonb gives back.
 */
export function redact(data: Record<string, unknown> | undefined): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(walk);
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      if (SECRET_KEY.test(k.toLowerCase().replace(/[_-]/g, ''))) continue;
      out[k] = walk(val);
    }
    return out;
  };
  return JSON.parse(JSON.stringify(walk(data ?? {}) ?? {})) as Record<string, unknown>;
}

const SYSTEM_ACTORS = new Set(['argocd', 'builtin', 'control-plane', 'system', 'sweeper', 'reconciler']);

/**
 * The actor behind an `actor` string as the services record it (`caller.subject`):
 * `service-account-<name>` / `service:<name>` → service, `apikey:<id>` → API key, the platform's
 * own components → system, anything else → a user subject.
 */
export function actorFromString(actor: string | null | undefined): AuditActor {
  if (!actor) return { type: 'system', id: 'control-plane' };
  if (actor.startsWith('service-account-')) return { type: 'service', id: `service:${actor.slice('service-account-'.length)}` };
  if (actor.startsWith('service:')) return { type: 'service', id: actor };
  if (actor.startsWith('apikey:')) return { type: 'api_key', id: actor.slice('apikey:'.length) };
  if (SYSTEM_ACTORS.has(actor)) return { type: 'system', id: actor };
  return { type: 'user', id: actor };
}

/** The actor behind an HTTP caller. */
export function actorOf(caller: Caller | undefined): AuditActor {
  if (!caller) return { type: 'system', id: 'control-plane' };
  if (caller.kind === 'user') return { type: 'user', id: caller.subject };
  if (caller.kind === 'api_key') return { type: 'api_key', id: caller.keyId ?? caller.subject };
  if (caller.kind === 'service' || caller.kind === 'webhook') {
    const svc = [...caller.roles].find((r) => r.startsWith('svc:'));
    return { type: 'service', id: svc ? `service:${svc.slice(4)}` : actorFromString(caller.subject).id };
  }
  return { type: 'system', id: caller.subject };
}
