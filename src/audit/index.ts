/** The hash-chained audit log: record, list, export, verify. */
export { actorFromString, actorOf, GENESIS_HASH, hashEvent, redact, type AuditActor, type AuditEvent, type AuditInput } from './event';
export { recordAudit, recordAudits } from './record';
export { listAuditEvents, exportAuditEvents, auditEventsAscending, csvField, type AuditFilter, type ExportFormat } from './query';
export { verifyChain } from './verify';
export { auditConnectorBindingChange, auditToolCall, auditMoneyEvents, toolCallAuditor, type ConnectorBindingChange, type ToolCall, type ToolCallRecordLike } from './hooks';
