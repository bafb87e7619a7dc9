import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { userPrincipal } from '../../src/control-plane/access';
import { removeMember } from '../../src/tenancy/members';

/** DELETE /orgs/{orgId}/members/{userId} — audited as `org.member_removed`. */
export const removeOrgMember: Handler<'removeOrgMember'> = async (req, ctx) => {
  const principal = userPrincipal(ctx);
  await ctx.deps.db.transaction(async (trx) => {
    await removeMember(trx, principal, req.params);
    await recordAudit(trx, {
      orgId: req.params.orgId,
      action: 'org.member_removed',
      resourceType: 'org_member',
      resourceId: req.params.userId,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      data: { userId: req.params.userId },
    });
  });
  return { status: 204, body: undefined };
};
