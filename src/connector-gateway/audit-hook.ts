import { auditToolCall } from '../audit';
import type { Db } from '../db/tx';
import type { ToolCallRecord } from './tools';

/**
 * Tool calls into the hash-chained audit log, when the connector gateway runs beside the Control
 * Plane's database (`npm start`). A connector gateway deployed on its own keeps the structured
 * audit line of every call (tools.ts) for the log pipeline.
 */
export function auditToolCallsTo(db: Db): (record: ToolCallRecord) => Promise<string> {
  return async (r) => {
    const event = await auditToolCall(db, {
      orgId: r.orgId,
      projectId: r.projectId,
      instanceId: r.instanceId,
      tool: r.tool,
      bindingId: r.bindingId,
      runId: r.runId ?? null,
      outcome: r.outcome === 'ok' ? 'succeeded' : r.outcome === 'denied' ? 'denied' : 'failed',
      status: r.status,
      durationMs: r.durationMs,
      actor: { type: 'service', id: 'service:connector-gateway' },
      requestId: r.requestId,
      data: { kind: r.kind, attempts: r.attempts, ...(r.host ? { host: r.host } : {}), ...(r.method ? { method: r.method } : {}), ...(r.errorCode ? { errorCode: r.errorCode } : {}), ...(r.connectorId ? { connectorId: r.connectorId } : {}) },
    });
    return event.id;
  };
}
