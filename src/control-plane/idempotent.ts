import type { Knex } from 'knex';
import { hashRequest, runIdempotent } from '../platform/idempotency';
import type { RequestContext } from '../platform/http/handler-types';
import type { ControlPlaneDeps } from './deps';

interface IdempotentRequest {
  params: object;
  query: object;
  headers: { 'idempotency-key'?: string };
  body: unknown;
}

interface Result {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The one way a control-plane mutation takes `Idempotency-Key`: the key (scoped per caller and
 * operation) is recorded in the same transaction as the effect `work` performs on `trx`. A replay
 * answers the first response with `Idempotent-Replayed: true`; the same key with another payload
 * is 409 IDEMPOTENCY_PAYLOAD_MISMATCH. Without a key (optional operations) `work` simply runs in
 * a transaction.
 */
export async function idempotent<R extends Result>(
  req: IdempotentRequest,
  ctx: RequestContext<ControlPlaneDeps>,
  work: (trx: Knex.Transaction) => Promise<R>,
): Promise<R> {
  const key = req.headers['idempotency-key'];
  const db = ctx.deps.db;
  if (!key) return db.transaction((trx) => work(trx));
  const caller = ctx.caller ? `${ctx.caller.kind}:${ctx.caller.subject}` : 'anonymous';
  const outcome = await runIdempotent(
    db,
    { scope: `${ctx.operationId}:${caller}`, key, requestHash: hashRequest({ params: req.params, query: req.query, body: req.body ?? null }) },
    async (trx) => {
      const r = await work(trx);
      return { status: r.status, body: r.body ?? null, headers: r.headers };
    },
  );
  const headers = { ...(outcome.headers ?? {}), 'Idempotent-Replayed': outcome.replayed ? 'true' : 'false' };
  return { status: outcome.status, body: outcome.body ?? undefined, headers } as unknown as R;
}
