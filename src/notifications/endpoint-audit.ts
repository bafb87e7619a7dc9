import type { Db } from '../db/tx';
import { recordAudit, type AuditActor } from '../audit';

/** Audits a change to an org's notification endpoint (never the secret). */
export function auditEndpoint(db: Db, orgId: string, action: 'notifications.endpoint_set' | 'notifications.endpoint_deleted' | 'notifications.secret_rotated', actor: AuditActor, requestId: string, data: Record<string, unknown> = {}) {
  return recordAudit(db, { orgId, projectId: null, action, resourceType: 'org', resourceId: orgId, actor, requestId, data: { orgId, ...data } });
}
