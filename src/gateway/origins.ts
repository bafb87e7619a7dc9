/**
 * The gateway's origin decisions: which browser pages may use which instance.
 *
 * - An instance's `web_widget.allowedOrigins` (entitlements `allowedOrigins`) entries are exact
 *   origins, or `https://*.example.com` for every subdomain of example.com (not example.com
 *   itself), as `originProblem` (src/capabilities/checks.ts) lets a buyer write them.
 * - `CORS_ALLOWED_ORIGINS` are the origins of signed-in browser apps (the hosted chat, a console),
 *   plus the gateway's own public origin, where `/chat/{instanceId}` is served.
 */
import { loopbackAliases, type CorsDecider, type ServedRequest } from '../platform/http/cors';
import { widgetSessionOf } from './auth';
import type { GatewayDeps } from './deps';

/** True when `origin` is on the allow-list (exact, or under a `*.` wildcard entry). */
export function originAllowed(origin: string | undefined, allowList: readonly string[]): boolean {
  if (!origin) return false;
  const o = origin.toLowerCase();
  for (const entry of allowList) {
    const e = entry.toLowerCase();
    if (e === o) return true;
    const star = /^(https?):\/\/\*\.(.+)$/.exec(e);
    if (!star) continue;
    const m = /^(https?):\/\/([^/]+)$/.exec(o);
    if (m && m[1] === star[1] && m[2]!.endsWith(`.${star[2]}`) && m[2]!.length > star[2]!.length + 1) return true;
  }
  return false;
}

/** Refusals a widget must be able to read to tell the visitor what happened (they carry no data). */
const READABLE_REFUSALS = new Set(['ORIGIN_NOT_ALLOWED', 'UNAUTHENTICATED']);

export function gatewayCorsDecider(deps: Pick<GatewayDeps, 'entitlements' | 'config'>, opts: { publicOrigin: () => string }): CorsDecider {
  const configured = new Set(deps.config.cors.allowedOrigins);
  return {
    boundOrigin: (caller) => widgetSessionOf(caller)?.origin,
    configured: (origin) => configured.has(origin) || loopbackAliases(opts.publicOrigin()).includes(origin),
    async widget(origin: string, served: ServedRequest) {
      if (served.errorCode && READABLE_REFUSALS.has(served.errorCode)) return true;
      if (served.caller && served.caller.kind !== 'widget') return false; // users and keys: configured origins only
      const claims = served.caller ? widgetSessionOf(served.caller) : undefined;
      if (claims && claims.origin !== origin) return false;
      const instanceId = claims?.instanceId ?? served.instanceId;
      if (!instanceId) return false;
      // Cached (≤ 5 s): the handler has just read the same entitlements.
      const ent = await deps.entitlements.get(instanceId, { kind: 'service' }, { requestId: 'cors', signal: AbortSignal.timeout(5000) });
      return originAllowed(origin, ent.allowedOrigins);
    },
  };
}
