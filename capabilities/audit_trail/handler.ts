import type { AuditTrailHandler } from '../../generated/capabilities/audit-trail';

/**
 * Audit trail: Immutable, hash-chained audit events for runs, tool calls and configuration changes, exportable as CSV or NDJSON.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const auditTrail: AuditTrailHandler = {
  validate(config) {
    throw new Error('audit_trail: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('audit_trail: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('audit_trail: meter not implemented');
  },
};
