/**
 * Test helpers: a signing key served as a JWKS, and Keycloak-shaped claims, so tests anywhere
 * (gateway, control plane) can mint the tokens they need, including broken ones.
 * Not for production code.
 */
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';

export interface TestSigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createTestSigningKey(alg: 'RS256' | 'ES256' | 'PS256' = 'RS256'): Promise<TestSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export interface KeycloakClaimsOptions {
  issuer: string;
  audience: string | string[];
  subject?: string;
  email?: string;
  realmRoles?: string[];
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** `iat` offset from now in seconds. Default 0. */
  issuedAgo?: number;
  extra?: Record<string, unknown>;
}

export function keycloakUserClaims(o: KeycloakClaimsOptions): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const iat = now - (o.issuedAgo ?? 0);
  return {
    exp: now + (o.expiresIn ?? 300),
    iat,
    jti: randomUUID(),
    iss: o.issuer,
    aud: o.audience,
    sub: o.subject ?? randomUUID(),
    typ: 'Bearer',
    azp: 'agent-store-web',
    sid: randomUUID(),
    acr: '1',
    'allowed-origins': ['http://localhost:3000'],
    realm_access: { roles: o.realmRoles ?? ['offline_access', 'default-roles-agent-store'] },
    resource_access: { account: { roles: ['manage-account', 'view-profile'] } },
    scope: 'openid profile email',
    email_verified: true,
    name: 'Alice Example',
    preferred_username: o.email ?? 'alice@example.com',
    email: o.email ?? 'alice@example.com',
    ...o.extra,
  };
}

export async function signTestToken(
  key: TestSigningKey,
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header }).sign(key.privateKey);
}
