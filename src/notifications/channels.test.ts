/**
 * The two channels against real protocol peers:
 * - webhook: signatures verify with the `standardwebhooks` package (the Standard Webhooks
 *   reference implementation, https://github.com/standard-webhooks/standard-webhooks,
 *   spec/standard-webhooks.md and libraries/javascript/src/index.ts), and a target that resolves
 *   to a private address at delivery time (DNS rebinding after registration) is refused and
 *   dead-lettered without a connection;
 * - e-mail: nodemailer's SMTP transport against a local server built with `smtp-server` (the
 *   nodemailer project's SMTP server, https://nodemailer.com/extras/smtp-server/): the message
 *   reaches the recipients with the subject and the notification id; a 550 reply to RCPT TO is
 *   permanent, a 451 temporary (RFC 5321 §4.2.1: 5yz permanent, 4yz transient negative).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';
import { createOrg } from '../../test/support/money';
import { openTestDb, type TestDb } from '../../test/support/db';
import type { Resolver } from '../platform/net-guard';
import type { SecretData, SecretStore } from '../secrets/secret-store';
import { SecretMissingError } from '../secrets/secret-store';
import { emailChannel, logTransport, smtpTransport } from './email-channel';
import { putEndpoint } from './endpoints';
import type { OutboxRow } from './outbox';
import { webhookChannel } from './webhook-channel';
import { newSigningSecret, signedHeaders, verifySignature } from './webhook-signature';

function memorySecrets(): SecretStore {
  const m = new Map<string, SecretData>();
  return {
    kind: 'local',
    async put(path, data) {
      m.set(path, data);
      return 1;
    },
    async get(path) {
      const data = m.get(path);
      if (!data) throw new SecretMissingError(path);
      return { data, version: 1 };
    },
    async delete(path) {
      m.delete(path);
    },
  };
}

const row = (over: Partial<OutboxRow>): OutboxRow => ({
  id: 'ntf_01TESTTESTTESTTESTTESTTEST', org_id: 'org_x', kind: 'wallet.low_balance', channel: 'webhook',
  payload: { type: 'wallet.low_balance', timestamp: '2026-01-01T00:00:00.000Z', data: { walletId: 'wal_1', balance: 42, threshold: 100 } },
  recipients: null, dedupe_key: null, attempts: 0, next_attempt_at: new Date(), locked_until: null, delivered_at: null, last_status: null, last_error: null, dead: false, created_at: new Date(), updated_at: new Date(),
  ...over,
});

describe('Standard Webhooks signatures', () => {
  it('verify with the reference implementation; a changed body, id or timestamp does not', () => {
    const secret = newSigningSecret();
    const body = JSON.stringify({ type: 'wallet.low_balance', data: { balance: 1 } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(secret, 'ntf_1', ts, body);
    assert.match(headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    assert.throws(() => new Webhook(secret).verify(body.replace('1', '2'), headers));
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'ntf_2' }));
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(ts + 1) }));
    assert.throws(() => new Webhook(newSigningSecret()).verify(body, headers));
    // The reference implementation's own signature verifies here too.
    const theirs = new Webhook(secret).sign('msg_2', new Date(ts * 1000), body);
    assert.ok(verifySignature(secret, { id: 'msg_2', timestamp: String(ts), signature: `v1,garbage ${theirs}` }, body, ts));
    assert.ok(!verifySignature(secret, { id: 'msg_2', timestamp: String(ts), signature: theirs }, body, ts + 301), 'outside the tolerance');
  });
});

describe('webhook channel', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(() => t?.close());

  it('refuses, without connecting, a target whose name resolves to a private address at delivery time', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const { orgId } = await createOrg(t.db);
      const secrets = memorySecrets();
      let answer = '93.184.215.14';
      const resolver: Resolver = async () => [{ address: answer, family: 4 }];
      // Registered while the name resolved to a public address.
      await putEndpoint(t.db, secrets, { allowPrivateTargets: false, resolver }, orgId, { url: `https://hooks.example.com:${port}/x` });
      answer = '169.254.169.254';
      const deliver = webhookChannel({ db: t.db, secrets, policy: { allowPrivateTargets: false, resolver }, timeoutMs: 2000 });
      const out = await deliver(row({ org_id: orgId }));
      assert.deepEqual(out, { ok: false, permanent: true, error: 'target_refused:private_network' });
      answer = '127.0.0.1';
      assert.equal((await deliver(row({ org_id: orgId }))).error, 'target_refused:private_network');
      assert.equal(hits, 0, 'no request reached the private address');
      const gone = await deliver(row({ org_id: 'org_without_endpoint' }));
      assert.deepEqual(gone, { ok: false, permanent: true, error: 'endpoint_removed' });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('e-mail channel through SMTP', () => {
  const received: { from: string; to: string[]; raw: string }[] = [];
  let rcptReply: number | undefined;
  let server: SMTPServer;
  let url: string;
  before(async () => {
    server = new SMTPServer({
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (rcptReply) {
          const err = Object.assign(new Error(rcptReply >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: rcptReply });
          return callback(err);
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('delivers to every recipient with the subject and the notification id', async () => {
    const transport = smtpTransport(url, 5000);
    const deliver = emailChannel(transport, 'Agent Store <notifications@agent-store.local>');
    const out = await deliver(row({ channel: 'email', recipients: ['ops@example.com', 'admin@example.com'] }));
    transport.close();
    assert.deepEqual(out, { ok: true, status: 250 });
    assert.equal(received.length, 1);
    assert.deepEqual([received[0]!.from, received[0]!.to], ['notifications@agent-store.local', ['ops@example.com', 'admin@example.com']]);
    assert.match(received[0]!.raw, /Subject: Low credit balance: 42 credits left \(threshold 100\)/);
    assert.match(received[0]!.raw, /X-Notification-Id: ntf_01TESTTESTTESTTESTTESTTEST/i);
    assert.match(received[0]!.raw, /balance: 42/);
  });

  it('a 550 reply is permanent, a 451 is retried', async () => {
    const transport = smtpTransport(url, 5000);
    const deliver = emailChannel(transport, 'notifications@agent-store.local');
    rcptReply = 550;
    const permanent = await deliver(row({ channel: 'email', recipients: ['gone@example.com'] }));
    rcptReply = 451;
    const transient = await deliver(row({ channel: 'email', recipients: ['busy@example.com'] }));
    rcptReply = undefined;
    transport.close();
    assert.deepEqual([permanent.ok, permanent.permanent, permanent.status], [false, true, 550]);
    assert.deepEqual([transient.ok, transient.permanent, transient.status], [false, false, 451]);
  });

  it('without SMTP the log transport writes the recipients and subject only', async () => {
    const lines: string[] = [];
    const pino = (await import('pino')).default;
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const out = await emailChannel(logTransport(log), 'x@agent-store.local')(row({ channel: 'email', recipients: ['ops@example.com'] }));
    assert.equal(out.ok, true);
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!);
    assert.deepEqual([entry.to, entry.subject], [['ops@example.com'], 'Low credit balance: 42 credits left (threshold 100)']);
    assert.ok(!lines[0]!.includes('wal_1'), 'no body in the log');
  });
});
