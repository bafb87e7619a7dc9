/**
 * Development OIDC issuer: the embedded stand-in for Keycloak. It keeps one RS256
 * key pair under `<dataDir>/dev-issuer/signing-key.json` (private JWK, mode 0600), publishes the
 * public half as a JWKS at Keycloak's path, and mints access tokens shaped like Keycloak's, so the
 * same `createTokenVerifier` runs in development and production. It refuses to exist in production.
 */
import { createHash, randomUUID } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
} from 'jose';

export const DEFAULT_DEV_ISSUER = 'http://localhost:8080/dev-oidc/realms/agent-store';
const ALG = 'RS256';
const DEV_ISSUER_PATH = '/dev-oidc/realms/agent-store';

/** The dev issuer as served by a control plane at `controlPlaneBase` (it mounts the handler there). */
export function devIssuerUrl(controlPlaneBase: string): string {
  return `${controlPlaneBase.replace(/\/+$/, '')}${DEV_ISSUER_PATH}`;
}

export interface DevIssuerOptions {
  /** The data directory (`DATA_DIR`, default `.data`); the key lives in `<dataDir>/dev-issuer/`. */
  dataDir: string;
  /** `iss` of minted tokens; its path is where the handler serves discovery and JWKS. */
  issuer?: string;
  /** Deployment environment; defaults to `process.env.APP_ENV`. `production` is refused. */
  appEnv?: string;
}

export interface MintOptions {
  kind: 'user' | 'service';
  /** `sub`: the Keycloak user id (for a service, its service-account user id). */
  subject: string;
  email?: string;
  name?: string;
  /** Realm roles (`realm_access.roles`). */
  roles?: string[];
  /** Extra `resource_access.<client>.roles`. */
  clientRoles?: Record<string, string[]>;
  /** The requesting client (`azp`; for services also `client_id`). */
  clientId?: string;
  /** `aud`: this API's client id (string or list). */
  audience: string | string[];
  /** Lifetime; default 300 s (Keycloak's default access-token lifespan). */
  ttlSeconds?: number;
  /** `iat` in epoch seconds; default now (tests use it to mint old tokens). */
  issuedAt?: number;
  scope?: string;
}

export interface DevIssuerResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface DevIssuer {
  readonly issuer: string;
  /** Key id of the current signing key (RFC 7638 thumbprint). */
  readonly kid: string;
  /** Public keys only. */
  jwks(): JSONWebKeySet;
  mint(options: MintOptions): Promise<string>;
  /** An OIDC ID token for a public client (`aud` = the client), as Keycloak issues with the code flow. */
  mintIdToken(options: IdTokenOptions): Promise<string>;
}

export interface IdTokenOptions {
  subject: string;
  clientId: string;
  email?: string;
  name?: string;
  nonce?: string;
  sessionState?: string;
  ttlSeconds?: number;
}

interface StoredKeyFile {
  keys: JWK[];
}

export class DevIssuerInProductionError extends Error {
  constructor() {
    super('The development token issuer is disabled in production (APP_ENV=production); configure OIDC_ISSUER to point at Keycloak.');
    this.name = 'DevIssuerInProductionError';
  }
}

/** Production is `APP_ENV=production`; when APP_ENV is unset, `NODE_ENV=production` counts too. */
export function isProductionEnv(appEnv: string | undefined, nodeEnv: string | undefined = process.env.NODE_ENV): boolean {
  const env = (appEnv ?? '').trim().toLowerCase();
  if (env !== '') return env === 'production' || env === 'prod';
  return (nodeEnv ?? '').trim().toLowerCase() === 'production';
}

/** A stable, UUID-shaped subject for a development user, derived from the email (Keycloak subjects are UUIDs). */
export function devUserSubject(email: string): string {
  const h = createHash('sha256').update(`agent-store-dev-user:${email.trim().toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function publicPart(jwk: JWK): JWK {
  const { kty, n, e, kid } = jwk;
  return { kty, n, e, kid, alg: ALG, use: 'sig' };
}

async function generateKeyFile(): Promise<StoredKeyFile> {
  const { privateKey } = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, n: jwk.n, e: jwk.e });
  return { keys: [{ ...jwk, kid, alg: ALG, use: 'sig' }] };
}

function parseKeyFile(text: string, file: string): StoredKeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new Error(`dev issuer: ${file} is not valid JSON; delete it to generate a new key`, { cause });
  }
  const keys = (parsed as StoredKeyFile | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => k?.kty !== 'RSA' || !k.d || !k.kid)) {
    throw new Error(`dev issuer: ${file} holds no RSA private key; delete it to generate a new key`);
  }
  return { keys };
}

/** Reads the key file, creating it once. Concurrent first starts agree on one key (link is atomic). */
async function loadOrCreateKeyFile(dir: string): Promise<StoredKeyFile> {
  const file = path.join(dir, 'signing-key.json');
  try {
    const text = await readFile(file, 'utf8');
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) await chmod(file, 0o600);
    return parseKeyFile(text, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fresh = await generateKeyFile();
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parseKeyFile(await readFile(file, 'utf8'), file); // another process won the race
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  if (isProductionEnv(options.appEnv ?? process.env.APP_ENV)) throw new DevIssuerInProductionError();
  const issuer = (options.issuer ?? DEFAULT_DEV_ISSUER).replace(/\/+$/, '');
  new URL(issuer); // throws on a malformed issuer
  const stored = await loadOrCreateKeyFile(path.join(options.dataDir, 'dev-issuer'));
  const current = stored.keys[stored.keys.length - 1]!;
  const kid = current.kid!;
  const signingKey = await importJWK(current, ALG);
  const publicJwks: JSONWebKeySet = { keys: stored.keys.map(publicPart) };

  async function mint(o: MintOptions): Promise<string> {
    if (!o.subject) throw new Error('dev issuer: subject is required');
    const audience = Array.isArray(o.audience) ? o.audience : [o.audience];
    if (audience.length === 0 || audience.some((a) => !a)) throw new Error('dev issuer: audience is required');
    const iat = o.issuedAt ?? Math.floor(Date.now() / 1000);
    const ttl = o.ttlSeconds ?? 300;
    const service = o.kind === 'service';
    const clientId = o.clientId ?? (service ? o.subject : audience[0]!);
    const resourceAccess: Record<string, { roles: string[] }> = {};
    if (!service) resourceAccess.account = { roles: ['manage-account', 'view-profile'] };
    for (const [client, roles] of Object.entries(o.clientRoles ?? {})) resourceAccess[client] = { roles: [...roles] };

    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      aud: audience.length === 1 ? audience[0] : audience,
      typ: 'Bearer',
      azp: clientId,
      acr: '1',
      'allowed-origins': [],
      realm_access: { roles: [...(o.roles ?? [])] },
      resource_access: resourceAccess,
      scope: o.scope ?? (service ? 'profile email' : 'openid profile email'),
    };
    if (service) {
      claims.preferred_username = `service-account-${clientId}`;
      claims.client_id = clientId;
      claims.clientHost = '127.0.0.1';
      claims.clientAddress = '127.0.0.1';
      claims.email_verified = false;
    } else {
      claims.sid = randomUUID();
      claims.email_verified = o.email !== undefined;
      claims.preferred_username = o.email ?? o.subject;
      if (o.email !== undefined) claims.email = o.email;
      if (o.name !== undefined) claims.name = o.name;
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, typ: 'JWT', kid })
      .setIssuer(issuer)
      .setSubject(o.subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(signingKey);
  }

  async function mintIdToken(o: IdTokenOptions): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      typ: 'ID',
      azp: o.clientId,
      auth_time: iat,
      acr: '1',
      email_verified: o.email !== undefined,
      preferred_username: o.email ?? o.subject,
    };
    if (o.nonce !== undefined) claims.nonce = o.nonce;
    if (o.sessionState !== undefined) claims.sid = o.sessionState;
    if (o.email !== undefined) claims.email = o.email;
    if (o.name !== undefined) claims.name = o.name;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, typ: 'JWT', kid })
      .setIssuer(issuer)
      .setSubject(o.subject)
      .setAudience(o.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (o.ttlSeconds ?? 300))
      .sign(signingKey);
  }

  return {
    issuer,
    kid,
    jwks: () => structuredClone(publicJwks),
    mint,
    mintIdToken,
  };
}

/** Discovery document for the dev issuer (only what it actually serves). */
export function devDiscoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
    token_endpoint: `${issuer}/protocol/openid-connect/token`,
    jwks_uri: `${issuer}/protocol/openid-connect/certs`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ALG],
    token_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'profile', 'email'],
    authorization_response_iss_parameter_supported: true,
    claims_supported: ['iss', 'sub', 'aud', 'azp', 'exp', 'iat', 'jti', 'scope', 'email', 'name', 'preferred_username', 'realm_access', 'resource_access'],
  };
}

/**
 * A framework-neutral handler: give it a request path, get `{status, headers, body}` for the
 * discovery document (`<issuerPath>/.well-known/openid-configuration`) and the JWKS
 * (`<issuerPath>/protocol/openid-connect/certs`), or `undefined` for any other path.
 */
export function createDevIssuerHandler(devIssuer: Pick<DevIssuer, 'issuer' | 'jwks'>): (requestPath: string) => DevIssuerResponse | undefined {
  const base = new URL(devIssuer.issuer).pathname.replace(/\/+$/, '');
  const discoveryPath = `${base}/.well-known/openid-configuration`;
  const certsPath = `${base}/protocol/openid-connect/certs`;
  const headers = { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' };
  return (requestPath) => {
    const p = requestPath.split('?')[0];
    if (p === discoveryPath) return { status: 200, headers, body: devDiscoveryDocument(devIssuer.issuer) };
    if (p === certsPath) return { status: 200, headers, body: devIssuer.jwks() };
    return undefined;
  };
}
