/**
 * The control plane's notifications from its configuration: the target policy (private targets
 * and plain http only where allowed), the e-mail transport (SMTP or the log transport) and the
 * outbox worker with both channels.
 */
import type { Knex } from 'knex';
import type { NotificationsConfig } from '../platform/config/sections/notifications';
import type { Logger } from '../platform/logger';
import { systemResolver, type Resolver } from '../platform/net-guard';
import type { SecretStore } from '../secrets/secret-store';
import { emailChannel, logTransport, smtpTransport, type MailTransport } from './email-channel';
import type { TargetPolicy } from './endpoints';
import { onNotificationCommitted } from './outbox';
import { webhookChannel } from './webhook-channel';
import { createNotificationWorker, type NotificationWorker } from './worker';

export interface Notifications {
  policy: TargetPolicy;
  transport: MailTransport;
  worker: NotificationWorker;
  start(): void;
  stop(): Promise<void>;
}

export function buildNotifications(o: { db: Knex; secrets: SecretStore; config: NotificationsConfig; log: Logger; resolver?: Resolver }): Notifications {
  const policy: TargetPolicy = { allowPrivateTargets: o.config.allowPrivateTargets, resolver: o.resolver ?? systemResolver };
  const transport = o.config.smtpUrl ? smtpTransport(o.config.smtpUrl, o.config.timeoutMs) : logTransport(o.log);
  const worker = createNotificationWorker({
    db: o.db,
    log: o.log,
    pollMs: o.config.pollMs,
    maxAttempts: o.config.maxAttempts,
    retryBaseMs: o.config.retryBaseMs,
    retryMaxMs: o.config.retryMaxMs,
    leaseMs: Math.max(60_000, o.config.timeoutMs * 3),
    channels: {
      webhook: webhookChannel({ db: o.db, secrets: o.secrets, policy, timeoutMs: o.config.timeoutMs }),
      email: emailChannel(transport, o.config.smtpFrom),
    },
  });
  let unsubscribe: (() => void) | undefined;
  return {
    policy,
    transport,
    worker,
    start() {
      if (!o.config.workerEnabled) return;
      unsubscribe = onNotificationCommitted(() => worker.kick());
      worker.start();
    },
    async stop() {
      unsubscribe?.();
      await worker.stop();
      transport.close();
    },
  };
}
