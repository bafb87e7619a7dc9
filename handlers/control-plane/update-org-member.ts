import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { updateMemberRole } from '../../src/tenancy/members';

/** PATCH /orgs/{orgId}/members/{userId} — audited as `org.member_role_changed`. */
export const updateOrgMember: Handler<'updateOrgMember'> = async (req, ctx) => {
  const principal = userPrincipal(ctx);
  const member = await ctx.deps.db.transaction(async (trx) => {
    const m = await updateMemberRole(trx, principal, { ...req.params, role: req.body.role });
    await recordAudit(trx, {
      orgId: m.orgId,
      action: 'org.member_role_changed',
      resourceType: 'org_member',
      resourceId: m.userId,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      data: { userId: m.userId, role: m.role },
    });
    return m;
  });
  return { status: 200, body: wire(member) };
};
