/**
 * What the trigger operations do (handlers/control-plane/*trigger*.ts): list an instance's
 * triggers, issue the webhook trigger's secret, and accept a signed delivery.
 */
import type { Knex } from 'knex';
import { AppError } from '../platform/errors';
import { newId } from '../platform/ids';
import { triggerRunId } from '../runs/trigger-run-id';
import { SecretForbiddenError, SecretStoreUnavailableError, vaultUnavailable, type SecretStore } from '../secrets/secret-store';
import type { InstanceRow } from '../instances/rows';
import type { Triggers } from './index';
import { syncInstances, triggerById, triggersOf, type TriggerRow } from './store';
import { webhookTriggerId } from './slots';
import { inputAfterTriggerHooks } from './trigger-hooks';
import { recordDelivery } from './deliveries';
import { newWebhookSecret, readSecret, secretPath, SIGNATURE_HEADER, signatureProblem, TIMESTAMP_HEADER, TOLERANCE_SECONDS, triggeredRunsToday } from './webhook';

type SchedulerConfig = { webhookTrigger?: boolean; maxRunsPerDay?: number; schedules?: unknown[] };
const configOf = (row: Pick<InstanceRow, 'effective_config'>) => (row.effective_config as Record<string, unknown>).scheduler_triggers as SchedulerConfig | undefined;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function triggerView(t: TriggerRow) {
  return {
    triggerId: t.id,
    instanceId: t.instance_id,
    kind: t.kind,
    name: t.name,
    ...(t.kind === 'schedule' ? { cron: t.cron!, timezone: t.timezone!, missedRunPolicy: t.missed_run_policy } : {}),
    enabled: t.enabled,
    nextRunAt: t.kind === 'schedule' && t.enabled ? iso(t.next_fire_at) : null,
    lastRunAt: iso(t.last_fire_at),
    lastRunId: t.last_run_id,
    inFlight: t.in_flight_key !== null,
  };
}

/** The instance's triggers, brought in step with its config first (a config change shows at once). */
export async function listTriggers(db: Knex, row: InstanceRow, now = new Date()) {
  await syncInstances(db, [row], now);
  return (await triggersOf(db, row.id)).map(triggerView);
}

const secretStoreError = (err: unknown) => {
  if (err instanceof SecretStoreUnavailableError || err instanceof SecretForbiddenError) return vaultUnavailable({}, err);
  return err;
};

/** Creates the webhook trigger or rotates its secret; answers the secret once. */
export async function rotateWebhookSecret(db: Knex, secrets: SecretStore, triggers: Triggers, row: InstanceRow, now = new Date()) {
  const cfg = configOf(row);
  if (!cfg) throw new AppError('NOT_ENTITLED', 'This instance has no schedules or triggers (scheduler_triggers)', { instanceId: row.id });
  if (cfg.webhookTrigger !== true) throw new AppError('CONFLICT', 'This instance does not accept webhook triggers (scheduler_triggers.webhookTrigger is off)', { instanceId: row.id });
  const id = webhookTriggerId(row.id);
  const secret = newWebhookSecret();
  const version = await secrets.put(secretPath(row.id, id), { secret }).catch((err) => {
    throw secretStoreError(err);
  });
  await db.raw(
    `insert into instance_triggers (id, instance_id, kind, name, enabled, secret_version, created_at, updated_at)
     values (?, ?, 'webhook', 'webhook', ?, ?, ?, ?)
     on conflict (id) do update set secret_version = excluded.secret_version, enabled = excluded.enabled, updated_at = excluded.updated_at`,
    [id, row.id, row.state === 'active', version, now, now],
  );
  return {
    triggerId: id,
    instanceId: row.id,
    url: triggers.webhookUrl(id),
    secret,
    signatureHeader: SIGNATURE_HEADER,
    timestampHeader: TIMESTAMP_HEADER,
    toleranceSeconds: TOLERANCE_SECONDS,
    createdAt: now.toISOString(),
  };
}

export interface Delivery {
  triggerId: string;
  timestamp?: string;
  signature?: string;
  rawBody: Buffer;
  body: Record<string, unknown>;
  requestId: string;
}

const refused = (reason: string, message: string) => new AppError('SIGNATURE_INVALID', message, { reason });

/**
 * Verifies a delivery, records it durably (deliveries.ts) and starts its run in the background;
 * answers the run id. Every refusal happens before anything is recorded or run.
 */
export async function acceptDelivery(db: Knex, secrets: SecretStore, triggers: Triggers, d: Delivery, now = new Date()) {
  const t = await triggerById(db, d.triggerId);
  if (!t || t.kind !== 'webhook') throw new AppError('NOT_FOUND', 'Trigger not found');
  const secret = await readSecret(secrets, t.instance_id, t.id).catch((err) => {
    throw secretStoreError(err);
  });
  if (!secret) throw new AppError('NOT_FOUND', 'Trigger not found');
  const problem = signatureProblem(secret, d.timestamp, d.signature, d.rawBody, now.getTime());
  if (problem === 'missing') throw refused(problem, `Deliveries carry ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}`);
  if (problem === 'expired') throw refused(problem, `The delivery's timestamp is more than ${TOLERANCE_SECONDS} s from now`);
  if (problem === 'mismatch') throw refused(problem, 'The webhook signature does not match');

  const inst = await db('instances').where({ id: t.instance_id }).first<InstanceRow | undefined>();
  const cfg = inst ? configOf(inst) : undefined;
  if (!inst || !cfg) throw new AppError('NOT_FOUND', 'Trigger not found');
  if (cfg.webhookTrigger !== true) {
    throw new AppError('CONFLICT', 'This instance does not accept webhook triggers (scheduler_triggers.webhookTrigger is off)', { triggerId: t.id });
  }
  if (inst.state !== 'active') throw new AppError('CONFLICT', `The instance is ${inst.state}; triggers run only on an active instance`, { triggerId: t.id, state: inst.state });
  const cap = cfg.maxRunsPerDay ?? 100;
  const today = await triggeredRunsToday(db, inst.id, now);
  if (today >= cap) {
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const retryAfterSeconds = Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
    throw new AppError('DAILY_RUN_LIMIT_EXCEEDED', `This instance started its ${cap} triggered runs today`, { maxRunsPerDay: cap, runsToday: today, retryAfterSeconds }, { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }

  // The capabilities' onTrigger hooks may rewrite or refuse the run (a refusal runs nothing).
  const given = typeof d.body.input === 'string' ? d.body.input : JSON.stringify(d.body);
  const text = await inputAfterTriggerHooks(db, inst.id, { kind: 'webhook', name: t.name, input: given });
  const trigger = { kind: 'webhook' as const, id: t.id };
  const idempotencyKey = `webhook:${t.id}:${d.timestamp}:${d.signature!.trim().slice(0, 200)}`;
  const runId = triggerRunId(trigger, idempotencyKey);
  // The 202 is decided with the delivery recorded: once answered, its run survives a crash.
  const pending = await db.transaction(async (trx) => {
    const p = await recordDelivery(trx, { triggerId: t.id, instanceId: inst.id, signature: d.signature!, runId, input: text, idempotencyKey, requestId: d.requestId || newId('req') }, now);
    if (!p) throw refused('replayed', 'This delivery was accepted before');
    await trx.raw(`update instance_triggers set last_fire_at = ?, last_run_id = ? where id = ?`, [now, runId, t.id]);
    return p;
  });
  triggers.scheduler.startDelivery(pending);
  return { triggerId: t.id, instanceId: inst.id, runId, status: 'accepted' as const };
}
