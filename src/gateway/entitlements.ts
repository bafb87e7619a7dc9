/**
 * Entitlements, fetched per (credential, instance) and cached briefly.
 *
 * The gateway has no database: whether a caller may run an instance is the Control Plane's call,
 * made by forwarding the caller's own credential to `getInstanceEntitlements` (a user token: the
 * user must be a member of the instance's project; a project API key: its project, and its
 * instance list; widget sessions use the gateway's service token, the session itself being bound
 * to the instance). So the cache key is sha256(credential) + instance id, never the credential.
 *
 * - Only `active` answers are cached, for min(`cacheTtlSeconds`, 5 s): a caller never sees a
 *   paused instance as runnable for longer than that, and an instance that just became active
 *   runs at once (nothing non-active lingers).
 * - Invalidated per instance on lifecycle signals (in-process or Redis pub/sub from the Control
 *   Plane) and when authorize answers NOT_ENTITLED or 404; a fetch in flight during an
 *   invalidation is not stored (per-instance epoch).
 * - Concurrent misses for one key share one request; bounded LRU (default 10,000 entries).
 * - Errors are not cached: a revoked API key or a removed member is refused as soon as the cached
 *   answer expires.
 */
import { createHash } from 'node:crypto';
import type { Entitlements } from '../../generated/control-plane/types';
import type { CallOptions, ControlPlaneClient, Credential } from './cp-client';

export const MAX_ENTITLEMENTS_TTL_MS = 5_000;

export interface EntitlementsCache {
  get(instanceId: string, credential: Credential, o: CallOptions): Promise<Entitlements>;
  /** Drops every cached answer for the instance (all credentials). */
  invalidate(instanceId: string): void;
  readonly size: number;
}

interface Entry {
  value: Entitlements;
  expiresAt: number;
  instanceId: string;
}

export function credentialKey(c: Credential): string {
  if (c.kind === 'service' || c.kind === 'none') return c.kind;
  const secret = c.kind === 'bearer' ? c.token : c.key;
  return `${c.kind}:${createHash('sha256').update(secret).digest('base64url')}`;
}

export function createEntitlementsCache(opts: {
  cp: ControlPlaneClient;
  maxEntries?: number;
  now?: () => number;
  onLookup?: (result: 'hit' | 'miss') => void;
}): EntitlementsCache {
  const maxEntries = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const byInstance = new Map<string, Set<string>>();
  const inFlight = new Map<string, Promise<Entitlements>>();
  const epochs = new Map<string, number>();

  const drop = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    const keys = byInstance.get(e.instanceId);
    keys?.delete(key);
    if (keys && keys.size === 0) byInstance.delete(e.instanceId);
  };

  const store = (key: string, instanceId: string, value: Entitlements) => {
    const ttlMs = Math.min(MAX_ENTITLEMENTS_TTL_MS, Math.max(0, value.cacheTtlSeconds) * 1000);
    if (value.state !== 'active' || ttlMs <= 0) return;
    drop(key);
    entries.set(key, { value, expiresAt: now() + ttlMs, instanceId });
    let keys = byInstance.get(instanceId);
    if (!keys) byInstance.set(instanceId, (keys = new Set()));
    keys.add(key);
    while (entries.size > maxEntries) drop(entries.keys().next().value as string);
  };

  return {
    async get(instanceId, credential, o) {
      const key = `${instanceId}\n${credentialKey(credential)}`;
      const hit = entries.get(key);
      if (hit) {
        if (hit.expiresAt > now()) {
          opts.onLookup?.('hit');
          return hit.value;
        }
        drop(key);
      }
      opts.onLookup?.('miss');
      let pending = inFlight.get(key);
      if (!pending) {
        const epoch = epochs.get(instanceId) ?? 0;
        pending = opts.cp
          .getEntitlements(instanceId, credential, { requestId: o.requestId })
          .then((value) => {
            if ((epochs.get(instanceId) ?? 0) === epoch) store(key, instanceId, value);
            return value;
          })
          .finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
    invalidate(instanceId) {
      epochs.set(instanceId, (epochs.get(instanceId) ?? 0) + 1);
      if (epochs.size > maxEntries) epochs.delete(epochs.keys().next().value as string);
      for (const key of [...(byInstance.get(instanceId) ?? [])]) drop(key);
    },
    get size() {
      return entries.size;
    },
  };
}
