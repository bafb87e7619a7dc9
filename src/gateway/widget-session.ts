/**
 * Widget session tokens: short-lived JWTs the gateway issues in `initWidgetSession` and accepts as
 * `Authorization: Bearer` on `createRun`, bound to one instance and one Origin (`sub` = session
 * id).
 *
 * HS256 with a gateway-only secret (WIDGET_SESSION_SECRET, ≥ 32 bytes; generated once into
 * `<DATA_DIR>/gateway/` outside production): only the gateway signs and verifies them, so there
 * is no key to publish. They can never be confused with Keycloak access tokens, in either
 * direction:
 * - the OIDC verifier allows asymmetric algorithms only (HS* refused at construction) and wants
 *   the realm issuer and the API audience;
 * - this verifier allows HS256 only, with header `typ: widget-session+jwt`, its own issuer and
 *   audience, and a payload `typ` of `widget-session` (which the OIDC verifier refuses too: it
 *   accepts only `Bearer` there).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { AppError } from '../platform/errors';
import type { Config } from '../platform/config';
import { newId } from '../platform/ids';

export const WIDGET_TOKEN_TYPE = 'widget-session+jwt';
export const WIDGET_ISSUER = 'urn:agent-store:gateway';
export const WIDGET_AUDIENCE = 'urn:agent-store:widget-session';

export interface WidgetSessionClaims {
  sessionId: string;
  instanceId: string;
  origin: string;
  orgId: string;
  projectId: string;
  visitorId?: string;
  expiresAt: Date;
}

export interface WidgetSessions {
  issue(input: Omit<WidgetSessionClaims, 'sessionId' | 'expiresAt'>, ttlSeconds: number): Promise<{ token: string; claims: WidgetSessionClaims }>;
  /** Throws AppError UNAUTHENTICATED for anything that is not a valid, unexpired session token. */
  verify(token: string): Promise<WidgetSessionClaims>;
}

/** True when the token's protected header says it is a widget session token (cheap, unverified). */
export function looksLikeWidgetToken(token: string): boolean {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot > 512) return false;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as { typ?: unknown };
    return header.typ === WIDGET_TOKEN_TYPE;
  } catch {
    return false;
  }
}

export function createWidgetSessions(secret: Uint8Array, opts: { now?: () => number } = {}): WidgetSessions {
  if (secret.byteLength < 32) throw new Error('widget session secret must be at least 32 bytes');
  const now = opts.now ?? Date.now;
  return {
    async issue(input, ttlSeconds) {
      const sessionId = newId('ses');
      const iat = Math.floor(now() / 1000);
      const exp = iat + ttlSeconds;
      const token = await new SignJWT({
        typ: 'widget-session',
        inst: input.instanceId,
        origin: input.origin,
        org: input.orgId,
        prj: input.projectId,
        ...(input.visitorId ? { vis: input.visitorId } : {}),
      })
        .setProtectedHeader({ alg: 'HS256', typ: WIDGET_TOKEN_TYPE })
        .setIssuer(WIDGET_ISSUER)
        .setAudience(WIDGET_AUDIENCE)
        .setSubject(sessionId)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(secret);
      return { token, claims: { ...input, sessionId, expiresAt: new Date(exp * 1000) } };
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          issuer: WIDGET_ISSUER,
          audience: WIDGET_AUDIENCE,
          typ: WIDGET_TOKEN_TYPE,
          requiredClaims: ['exp', 'iat', 'sub'],
          currentDate: new Date(now()),
        });
        const p = payload as Record<string, unknown>;
        if (p.typ !== 'widget-session' || typeof p.inst !== 'string' || typeof p.origin !== 'string' || typeof p.org !== 'string' || typeof p.prj !== 'string') {
          throw new Error('not a widget session');
        }
        return {
          sessionId: payload.sub!,
          instanceId: p.inst,
          origin: p.origin,
          orgId: p.org,
          projectId: p.prj,
          ...(typeof p.vis === 'string' ? { visitorId: p.vis } : {}),
          expiresAt: new Date(payload.exp! * 1000),
        };
      } catch (err) {
        const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
        throw new AppError('UNAUTHENTICATED', expired ? 'widget session expired: start a new one' : 'widget session token rejected', undefined, { cause: err });
      }
    },
  };
}

/**
 * The secret: WIDGET_SESSION_SECRET, else (outside production) 32 random bytes created once in
 * `<DATA_DIR>/gateway/widget-session.key` (mode 0600) so sessions survive restarts.
 */
export async function loadWidgetSecret(config: Config): Promise<Uint8Array> {
  if (config.gateway.widgetSessionSecret) return new TextEncoder().encode(config.gateway.widgetSessionSecret);
  if (config.env === 'production') {
    throw new Error('The gateway needs WIDGET_SESSION_SECRET (at least 32 bytes) in production');
  }
  const dir = join(config.dataDir, 'gateway');
  const file = join(dir, 'widget-session.key');
  await mkdir(dir, { recursive: true });
  try {
    await writeFile(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const text = (await readFile(file, 'utf8')).trim();
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength < 32) throw new Error(`${file} holds fewer than 32 bytes; delete it to generate a new one`);
  return bytes;
}
