/**
 * Ready-made audit records for the parts of the platform that call in from elsewhere.
 *
 * Connector bindings and tool calls (src/connectors, src/connector-gateway) call
 * `auditConnectorBindingChange` in the transaction that stores/revokes the binding, and
 * `auditToolCall` once per tool invocation. Neither takes a secret: pass references only
 * (binding id, Vault path is NOT needed either); secret-named keys in `data` are dropped anyway.
 */
import type { Knex } from 'knex';
import type { Db } from '../db/tx';
import type { MoneyEvent, MoneyEvents } from '../money/types';
import type { AuditActor, AuditEvent } from './event';
import { recordAudit } from './record';

export interface ConnectorBindingChange {
  orgId: string;
  projectId: string | null;
  bindingId: string;
  /** `created`, `revoked`, `rotated`, `updated` → action `connector.binding_<change>`. */
  change: 'created' | 'revoked' | 'rotated' | 'updated';
  connectorId: string;
  instanceId?: string | null;
  actor: AuditActor;
  requestId?: string | null;
  /** Non-secret details (allowed tools, hosts, a reason). */
  data?: Record<string, unknown>;
}

/** Records `connector.binding_<change>` in the caller's transaction. */
export function auditConnectorBindingChange(trx: Db, c: ConnectorBindingChange): Promise<AuditEvent> {
  return recordAudit(trx, {
    orgId: c.orgId,
    projectId: c.projectId,
    action: `connector.binding_${c.change}`,
    resourceType: 'connector_binding',
    resourceId: c.bindingId,
    actor: c.actor,
    requestId: c.requestId,
    data: { ...c.data, connectorId: c.connectorId, ...(c.instanceId ? { instanceId: c.instanceId } : {}) },
  });
}

export interface ToolCall {
  orgId: string;
  projectId: string | null;
  instanceId: string;
  tool: string;
  bindingId?: string | null;
  runId?: string | null;
  /** allowed / denied (policy) / failed / succeeded */
  outcome: 'succeeded' | 'failed' | 'denied';
  status?: number;
  durationMs?: number;
  actor: AuditActor;
  requestId?: string | null;
  /** Non-secret details (host, error code). Never the tool's input or output payloads with credentials. */
  data?: Record<string, unknown>;
}

/** Records `tool.invoked` (or `tool.denied`) for one tool call. */
export function auditToolCall(db: Db, t: ToolCall): Promise<AuditEvent> {
  return recordAudit(db, {
    orgId: t.orgId,
    projectId: t.projectId,
    action: t.outcome === 'denied' ? 'tool.denied' : 'tool.invoked',
    resourceType: 'tool',
    resourceId: t.tool,
    actor: t.actor,
    requestId: t.requestId,
    data: {
      ...t.data,
      instanceId: t.instanceId,
      outcome: t.outcome,
      ...(t.bindingId ? { bindingId: t.bindingId } : {}),
      ...(t.runId ? { runId: t.runId } : {}),
      ...(t.status !== undefined ? { status: t.status } : {}),
      ...(t.durationMs !== undefined ? { durationMs: t.durationMs } : {}),
    },
  });
}

/**
 * The Connector Gateway's `onToolCall` record (src/connector-gateway/tools.ts `ToolCallRecord`),
 * typed structurally so the audit log does not depend on the gateway.
 */
export interface ToolCallRecordLike {
  requestId: string;
  orgId: string;
  projectId: string;
  instanceId: string;
  runId?: string;
  tool: string;
  /** Absent for an MCP server without credentials. */
  bindingId?: string;
  /** The MCP server (its name in the instance's `mcp_tools.servers`), for MCP tool calls. */
  server?: string;
  connectorId?: string;
  kind: 'read' | 'write';
  method?: string;
  host?: string;
  outcome: 'ok' | 'denied' | 'vault_unavailable' | 'upstream_error' | 'timeout' | 'error';
  status?: number;
  errorCode?: string;
  attempts: number;
  durationMs: number;
}

/**
 * A ready `onToolCall` for the Connector Gateway's ToolService when it has the platform database:
 * records `tool.invoked` / `tool.denied` and answers the audit event's id.
 */
export function toolCallAuditor(db: Knex, actor: AuditActor = { type: 'service', id: 'service:connector-gateway' }) {
  return async (r: ToolCallRecordLike): Promise<string> => {
    const e = await auditToolCall(db, {
      orgId: r.orgId,
      projectId: r.projectId,
      instanceId: r.instanceId,
      tool: r.tool,
      bindingId: r.bindingId,
      runId: r.runId ?? null,
      outcome: r.outcome === 'ok' ? 'succeeded' : r.outcome === 'denied' ? 'denied' : 'failed',
      status: r.status,
      durationMs: r.durationMs,
      actor,
      requestId: r.requestId,
      data: {
        kind: r.kind,
        attempts: r.attempts,
        result: r.outcome,
        ...(r.server ? { server: r.server } : {}),
        ...(r.connectorId ? { connectorId: r.connectorId } : {}),
        ...(r.method ? { method: r.method } : {}),
        ...(r.host ? { host: r.host } : {}),
        ...(r.errorCode ? { errorCode: r.errorCode } : {}),
      },
    });
    return e.id;
  };
}

/**
 * The money domain's event sink: `wallet.low_balance` becomes an audit event. Money events are
 * emitted after their change commits, so this appends in its own transaction.
 */
export function auditMoneyEvents(db: Knex): MoneyEvents {
  return {
    async emit(event: MoneyEvent) {
      if (event.type !== 'wallet.low_balance') return;
      await recordAudit(db, {
        orgId: event.orgId,
        projectId: event.projectId,
        action: 'wallet.low_balance',
        resourceType: 'wallet',
        resourceId: event.walletId,
        actor: { type: 'system', id: 'control-plane' },
        data: { walletId: event.walletId, balance: event.balance, threshold: event.threshold },
        at: event.at,
      });
    },
  };
}
