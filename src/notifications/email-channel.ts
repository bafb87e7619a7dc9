/**
 * The e-mail channel: a plain-text message per notification to the recipients written on its
 * outbox row, sent through nodemailer's SMTP transport (`SMTP_URL`). Without `SMTP_URL` the
 * log transport stands in: it logs the recipients and the subject only (never the body), and the
 * outbox row stays readable through the deliveries list.
 *
 * SMTP replies: 2xx = delivered; 5xx on every recipient is permanent; anything else is retried.
 */
import nodemailer from 'nodemailer';
import type { Logger } from '../platform/logger';
import type { AttemptOutcome, OutboxRow } from './outbox';

export interface Mail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The outbox id, as Message-ID local part and X-Notification-Id (receivers can deduplicate). */
  id: string;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'log';
  send(mail: Mail): Promise<void>;
  close(): void;
}

const SUBJECTS: Record<string, (d: Record<string, unknown>) => string> = {
  'wallet.low_balance': (d) => `Low credit balance: ${String(d.balance)} credits left (threshold ${String(d.threshold)})`,
  'instance.suspended_for_credits': (d) => `Instance ${String(d.instanceId)} suspended: its wallet ran out of credits`,
};

export function subjectOf(kind: string, data: Record<string, unknown>): string {
  return SUBJECTS[kind]?.(data) ?? `Notification: ${kind}`;
}

export function textOf(row: Pick<OutboxRow, 'kind' | 'payload'>): string {
  const lines = [subjectOf(row.kind, row.payload.data), '', `Event: ${row.kind}`, `Time: ${row.payload.timestamp}`];
  for (const [k, v] of Object.entries(row.payload.data)) lines.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${lines.join('\n')}\n`;
}

export function smtpTransport(smtpUrl: string, timeoutMs: number): MailTransport {
  const t = nodemailer.createTransport(smtpUrl, { connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs } as never);
  return {
    kind: 'smtp',
    async send(m) {
      await t.sendMail({ from: m.from, to: m.to, subject: m.subject, text: m.text, messageId: `<${m.id}@agent-store>`, headers: { 'X-Notification-Id': m.id } });
    },
    close: () => t.close(),
  };
}

export function logTransport(log: Logger): MailTransport {
  return {
    kind: 'log',
    async send(m) {
      log.info({ notificationId: m.id, to: m.to, subject: m.subject }, 'notification e-mail (no SMTP_URL: logged, not sent)');
    },
    close() {},
  };
}

export function emailChannel(transport: MailTransport, from: string) {
  return async function deliver(row: OutboxRow): Promise<AttemptOutcome> {
    const to = row.recipients ?? [];
    if (!to.length) return { ok: false, permanent: true, error: 'no_recipients' };
    try {
      await transport.send({ from, to, subject: subjectOf(row.kind, row.payload.data), text: textOf(row), id: row.id });
      return { ok: true, status: 250 };
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; rejected?: string[] };
      const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
      return { ok: false, status: code, permanent: code !== undefined && code >= 500 && code < 600, error: code ? `SMTP ${code}` : `smtp:${e.code ?? 'error'}` };
    }
  };
}
