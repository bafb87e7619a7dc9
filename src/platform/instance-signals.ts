/**
 * Instance lifecycle signals: the Control Plane announces "instance X changed" (paused,
 * resumed, terminated, upgraded, reconfigured) and every Gateway drops what it cached about X.
 *
 * - in-process (default): an EventEmitter, enough when the services share one process (`npm start`);
 * - Redis pub/sub (REDIS_URL set): one channel, so every gateway replica hears every control
 *   plane replica.
 *
 * Signals are an optimisation, never the safety net: gateways also cache for at most the
 * entitlements' `cacheTtlSeconds` (≤ 5 s) and the Control Plane's authorize refuses runs on an
 * instance that is not active, so a lost signal delays a refusal by seconds and costs nothing.
 */
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from './logger';

export const INSTANCE_SIGNALS_CHANNEL = 'agent-store:instances:changed';

export interface InstanceSignals {
  /** Announces that an instance changed (fire and forget: never throws). */
  publish(instanceId: string): void;
  /** Calls `listener` for every announced instance id; returns the unsubscribe function. */
  subscribe(listener: (instanceId: string) => void): () => void;
  close(): Promise<void>;
}

export function inProcessInstanceSignals(): InstanceSignals {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(instanceId) {
      emitter.emit('changed', instanceId);
    },
    subscribe(listener) {
      emitter.on('changed', listener);
      return () => emitter.off('changed', listener);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

/**
 * Redis pub/sub. The subscriber connection is opened on the first `subscribe` (a control plane
 * that only publishes never holds one). Local listeners also hear local publishes through Redis.
 */
export function redisInstanceSignals(url: string, log: Logger, channel = INSTANCE_SIGNALS_CHANNEL): InstanceSignals {
  const listeners = new Set<(instanceId: string) => void>();
  let publisher: Redis | undefined;
  let subscriber: Redis | undefined;
  let closed = false;
  const opts = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true } as const;
  const warn = (what: string) => (err: unknown) => log.warn({ err, channel }, `instance signals: ${what}`);
  return {
    publish(instanceId) {
      if (closed) return;
      publisher ??= new Redis(url, opts).on('error', warn('publisher error'));
      publisher.publish(channel, instanceId).catch(warn('publish failed'));
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!subscriber && !closed) {
        subscriber = new Redis(url, opts).on('error', warn('subscriber error'));
        subscriber.on('message', (ch: string, message: string) => {
          if (ch !== channel) return;
          for (const l of listeners) l(message);
        });
        subscriber.subscribe(channel).catch(warn('subscribe failed'));
      }
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
      await Promise.all([publisher, subscriber].filter((c): c is Redis => !!c).map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

export function createInstanceSignals(redisUrl: string | undefined, log: Logger): InstanceSignals {
  return redisUrl ? redisInstanceSignals(redisUrl, log) : inProcessInstanceSignals();
}
