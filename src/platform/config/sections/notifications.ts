import { defineSection } from '../define';

export interface NotificationsConfig {
  /** Deliver to private, loopback and link-local targets and over plain http (`NOTIFY_ALLOW_PRIVATE_TARGETS`; development only by default). */
  allowPrivateTargets: boolean;
  /** SMTP server of the e-mail channel (`SMTP_URL`, smtp:// or smtps://); unset = the log transport (recipient and subject only). */
  smtpUrl?: string;
  /** The From address of notification e-mails (`SMTP_FROM`). */
  smtpFrom: string;
  /** Run the outbox worker in this control-plane process (`NOTIFY_WORKER_ENABLED`). */
  workerEnabled: boolean;
  /** How often due notifications are looked for (`NOTIFY_POLL_MS`). */
  pollMs: number;
  /** Attempts before a notification is dead-lettered (`NOTIFY_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, with jitter, up to `retryMaxMs` (`NOTIFY_RETRY_BASE_MS`, `NOTIFY_RETRY_MAX_MS`). */
  retryBaseMs: number;
  retryMaxMs: number;
  /** One delivery attempt's time limit (`NOTIFY_TIMEOUT_MS`). */
  timeoutMs: number;
}

/** Notifications of orgs (low balance, suspension, …): the outbox worker, webhook targets, SMTP. */
export const notifications = defineSection({
  id: 'notifications',
  title: 'Notifications (webhooks and e-mail through the outbox)',
  vars: {
    NOTIFY_ALLOW_PRIVATE_TARGETS: { doc: 'Allow notification webhooks to private, loopback and link-local addresses and over plain http. Outside development endpoints must be public https URLs.', default: '1 in development, else 0' },
    SMTP_URL: { doc: 'SMTP server of notification e-mails: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465. Unset = e-mails stay in the outbox and only their recipient and subject are logged.', secret: true },
    SMTP_FROM: { doc: 'The From address of notification e-mails.', default: 'Agent Store <notifications@agent-store.local>' },
    NOTIFY_WORKER_ENABLED: { doc: 'Deliver the notification outbox from this control-plane process (every replica may: rows are claimed with SKIP LOCKED).', default: 'true' },
    NOTIFY_POLL_MS: { doc: 'How often the outbox worker looks for due notifications, in milliseconds (a new one is delivered at once).', default: '2000' },
    NOTIFY_MAX_ATTEMPTS: { doc: 'Delivery attempts before a notification is dead-lettered.', default: '8' },
    NOTIFY_RETRY_BASE_MS: { doc: 'Delay before the first retry; it doubles per attempt (with jitter) up to NOTIFY_RETRY_MAX_MS.', default: '30000' },
    NOTIFY_RETRY_MAX_MS: { doc: 'Longest delay between two attempts.', default: '3600000' },
    NOTIFY_TIMEOUT_MS: { doc: 'Time limit of one delivery attempt.', default: '10000' },
  },
  read: (r, ctx) => ({
    notifications: {
      allowPrivateTargets: r.bool('NOTIFY_ALLOW_PRIVATE_TARGETS', ctx.appEnv === 'development'),
      smtpUrl: r.url('SMTP_URL', undefined, ['smtp:', 'smtps:']),
      smtpFrom: r.str('SMTP_FROM', 'Agent Store <notifications@agent-store.local>'),
      workerEnabled: r.bool('NOTIFY_WORKER_ENABLED', true),
      pollMs: r.int('NOTIFY_POLL_MS', 2_000, 20, 3_600_000),
      maxAttempts: r.int('NOTIFY_MAX_ATTEMPTS', 8, 1, 100),
      retryBaseMs: r.int('NOTIFY_RETRY_BASE_MS', 30_000, 1, 86_400_000),
      retryMaxMs: r.int('NOTIFY_RETRY_MAX_MS', 3_600_000, 1, 7 * 86_400_000),
      timeoutMs: r.int('NOTIFY_TIMEOUT_MS', 10_000, 100, 120_000),
    } satisfies NotificationsConfig,
  }),
});
