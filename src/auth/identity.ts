import { createDevIssuer, createTokenVerifier, DEFAULT_DEV_ISSUER, keycloakJwksUrl, type DevIssuer, type TokenVerifier } from '../identity';
import type { Config } from '../platform/config';

export interface Identity {
  verifier: TokenVerifier;
  /** Present only in development/test when no OIDC_ISSUER is configured. */
  devIssuer?: DevIssuer;
  issuer: string;
  audience: string;
}

/**
 * Keycloak when OIDC_ISSUER is set (JWKS from OIDC_JWKS_URL or the realm's certs endpoint);
 * otherwise the development issuer, whose keys the verifier trusts directly. The development
 * issuer refuses to exist in production (loadConfig already requires OIDC_ISSUER there).
 */
export async function createIdentity(config: Config): Promise<Identity> {
  const { audience, clockToleranceSeconds } = config.oidc;
  if (config.oidc.issuer) {
    const jwks = config.oidc.jwksUrl ? new URL(config.oidc.jwksUrl) : keycloakJwksUrl(config.oidc.issuer);
    return {
      verifier: createTokenVerifier({ issuer: config.oidc.issuer, audience, jwks, clockToleranceSeconds }),
      issuer: config.oidc.issuer,
      audience,
    };
  }
  const issuer = DEFAULT_DEV_ISSUER.replace('http://localhost:8080', config.urls.controlPlane.replace(/\/+$/, ''));
  const devIssuer = await createDevIssuer({ dataDir: config.dataDir, issuer, appEnv: config.env });
  return {
    verifier: createTokenVerifier({ issuer: devIssuer.issuer, audience, jwks: devIssuer.jwks(), clockToleranceSeconds }),
    devIssuer,
    issuer: devIssuer.issuer,
    audience,
  };
}
