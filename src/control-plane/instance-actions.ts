import type { Knex } from 'knex';
import type { ControlPlaneDeps } from './deps';
import { isPlatformOperator } from './access';
import { idempotent } from './idempotent';
import type { RequestContext } from '../platform/http/handler-types';
import { loadInstance } from '../instances/access';
import type { InstanceAction } from '../instances/lifecycle';
import { toInstance } from '../instances/rows';
import { applyAction, type ActionInput } from '../instances/service';

interface ActionRequest {
  params: { instanceId: string };
  query: object;
  headers: { 'idempotency-key'?: string };
  body: unknown;
}

/** The shared path of every day-2 action handler (authorized before it runs): idempotency, lifecycle, answer. */
export function runInstanceAction<S extends 200 | 202>(
  status: S,
  action: InstanceAction,
  input: (req: ActionRequest) => Omit<ActionInput, 'action' | 'actor'> = () => ({}),
) {
  return (req: ActionRequest, ctx: RequestContext<ControlPlaneDeps>) =>
    idempotent(req, ctx, async (trx: Knex.Transaction) => {
      await loadInstance(trx, req.params.instanceId);
      const env = ctx.deps.instances;
      const row = await applyAction(env, trx, req.params.instanceId, { ...input(req), action, actor: ctx.caller!.subject, requestId: ctx.requestId, byOperator: isPlatformOperator(ctx.caller) });
      ctx.annotate({ orgId: row.org_id, projectId: row.project_id, instanceId: row.id });
      return { status, body: toInstance(row, env.env, env.stuckAfterMs) };
    });
}
