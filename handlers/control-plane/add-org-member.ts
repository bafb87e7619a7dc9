import type { Handler } from '../../generated/control-plane/operations';
import { actorOf, recordAudit } from '../../src/audit';
import { userPrincipal } from '../../src/control-plane/access';
import { wire } from '../../src/platform/http/wire';
import { addMember } from '../../src/tenancy/members';

/** POST /orgs/{orgId}/members — audited as `org.member_added` in the same transaction. */
export const addOrgMember: Handler<'addOrgMember'> = async (req, ctx) => {
  const principal = userPrincipal(ctx);
  const member = await ctx.deps.db.transaction(async (trx) => {
    const m = await addMember(trx, principal, { orgId: req.params.orgId, ...req.body });
    await recordAudit(trx, {
      orgId: m.orgId,
      action: 'org.member_added',
      resourceType: 'org_member',
      resourceId: m.userId,
      actor: actorOf(ctx.caller),
      requestId: ctx.requestId,
      data: { userId: m.userId, role: m.role },
    });
    return m;
  });
  return { status: 201, body: wire(member) };
};
