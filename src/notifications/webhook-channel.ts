/**
 * The webhook channel: POSTs a notification's JSON (`{type, timestamp, data}`) to the org's
 * endpoint, signed per Standard Webhooks (webhook-signature.ts), with the secret read from the
 * secret store at delivery time (a rotation applies to the next attempt). The target is checked
 * again here (endpoints.ts `checkTarget`) and the socket connects only to checked addresses
 * (src/platform/net-guard.ts `guardedLookup`), so a name that turned private since registration
 * is refused. Redirects are not followed; the response body is not read beyond its status.
 *
 * 2xx = delivered; other statuses, network errors and timeouts are retried; a missing endpoint
 * or a refused target is permanent (dead-lettered at once).
 */
import http from 'node:http';
import https from 'node:https';
import { AppError } from '../platform/errors';
import { guardedLookup } from '../platform/net-guard';
import type { SecretStore } from '../secrets/secret-store';
import { checkTarget, getEndpoint, readWebhookSecret, type TargetPolicy } from './endpoints';
import type { AttemptOutcome, OutboxRow } from './outbox';
import { signedHeaders } from './webhook-signature';
import type { Knex } from 'knex';

export interface WebhookChannelDeps {
  db: Knex;
  secrets: SecretStore;
  policy: TargetPolicy;
  timeoutMs: number;
  now?: () => Date;
}

export function webhookChannel(deps: WebhookChannelDeps) {
  return async function deliver(row: OutboxRow, signal?: AbortSignal): Promise<AttemptOutcome> {
    const ep = await getEndpoint(deps.db, row.org_id);
    if (!ep?.url) return { ok: false, permanent: true, error: 'endpoint_removed' };
    const secret = await readWebhookSecret(deps.secrets, row.org_id);
    if (!secret) return { ok: false, permanent: true, error: 'secret_missing' };
    let url: URL;
    try {
      url = await checkTarget(ep.url, deps.policy);
    } catch (err) {
      if (err instanceof AppError) return { ok: false, permanent: err.details?.reason !== 'unresolvable', error: `target_refused:${String(err.details?.reason)}` };
      throw err;
    }
    const body = JSON.stringify(row.payload);
    const ts = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
    const headers = { 'content-type': 'application/json', 'user-agent': 'agent-store-notifications/1', ...signedHeaders(secret, row.id, ts, body) };
    return post(url, headers, body, deps, signal);
  };
}

function post(url: URL, headers: Record<string, string>, body: string, deps: WebhookChannelDeps, signal?: AbortSignal): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: guardedLookup(deps.policy.allowPrivateTargets, deps.policy.resolver), timeout: deps.timeoutMs, signal, agent: false },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof AppError) return resolve({ ok: false, permanent: true, error: 'target_refused:private_network' });
      resolve({ ok: false, error: err.message === 'timeout' ? 'timeout' : `network:${err.code ?? 'error'}` });
    });
    req.end(body);
  });
}
