/**
 * The gateway's Control Plane client: the dozen operations the gateway calls, typed with the
 * generated wire types (generated/control-plane/types.ts) over the keep-alive JSON transport.
 *
 * Why not the generated typescript-fetch client (generated/clients/control-plane): it sits on
 * `fetch` (see http-json.ts for the measured cost), its 4.3.1 runtime passes no AbortSignal, so
 * per-attempt timeouts and caller aborts are impossible, it converts every date to `Date` and
 * back, and it throws the raw `Response`, so each call would still need the retry and error
 * mapping written here. The types are the same spec, generated, so nothing drifts.
 *
 * Every call sends `X-Request-Id` (the request's id, so one id spans every hop) and a credential:
 * the gateway's own service token, or the caller's user token / project API key forwarded so the
 * Control Plane decides tenant scope. Retries follow retry.ts. Outcomes:
 * - a canonical error answer that is final (404, 403 INSUFFICIENT_CREDITS, 422, …) is rethrown as
 *   an AppError with the same code, status, message and details;
 * - the Control Plane unreachable, timing out or answering 5xx after the last attempt → 503
 *   CONTROL_PLANE_UNAVAILABLE (fail closed);
 * - a 401 on the gateway's own token drops the cached token and tries once more at once.
 */
import type {
  ArtifactLink,
  AuthorizeRequest,
  CreateInstanceRequest,
  CreateOrgAutoRequest,
  Entitlements,
  ErrorCode,
  Instance,
  Offering,
  Reservation,
  RunRecord,
  RunRecordList,
  RunSessionList,
  RunSessionMessageList,
  SettleRequest,
  Settlement,
  VoidRequest,
  Wallet,
  Workspace,
} from '../../generated/control-plane/types';
import type { TokenSource } from '../auth/token-source';
import { AppError, statusOf } from '../platform/errors';
import type { HttpClient, JsonResponse } from './http-json';
import { TransportError } from './http-json';
import { backoffMs, POLICIES, realSleep, type RetryPolicy, type Sleep } from './retry';

/** Whose credential a call carries. */
export type Credential =
  | { kind: 'none' }
  | { kind: 'service' }
  | { kind: 'bearer'; token: string }
  | { kind: 'apiKey'; key: string };

export interface CallOptions {
  requestId: string;
  /** Aborts the call (the client went away). Money calls (settle, void) take none on purpose. */
  signal?: AbortSignal;
}

export interface ControlPlaneClient {
  getEntitlements(instanceId: string, credential: Credential, o: CallOptions): Promise<Entitlements>;
  /** With `body.run`: 201 admitted (the reservation, `run.history`), or 200 a finished run's replay (`run.replay`). */
  authorize(body: AuthorizeRequest, o: CallOptions): Promise<{ status: number; body: Reservation }>;
  settle(body: SettleRequest, o: CallOptions): Promise<Settlement>;
  void(body: VoidRequest, o: CallOptions): Promise<Reservation>;
  getArtifactLink(offeringId: string, versionId: string, o: CallOptions): Promise<ArtifactLink>;
  getWallet(walletId: string, credential: Credential, o: CallOptions): Promise<Wallet>;
  getInstance(instanceId: string, credential: Credential, o: CallOptions): Promise<Instance>;
  getOffering(offeringId: string, o: CallOptions): Promise<Offering>;
  createOrgAuto(body: CreateOrgAutoRequest, userToken: string, o: CallOptions & { idempotencyKey?: string }): Promise<{ status: number; body: Workspace }>;
  createInstance(body: CreateInstanceRequest, userToken: string, o: CallOptions & { idempotencyKey: string }): Promise<{ body: Instance; replayed: boolean }>;
  /** Run history, read with the caller's credential (or the service token + `owner` for a widget session). */
  history: {
    getRun(runId: string, credential: Credential, owner: string | undefined, o: CallOptions): Promise<RunRecord>;
    listRuns(instanceId: string, q: HistoryQuery & { sessionId?: string }, credential: Credential, o: CallOptions): Promise<RunRecordList>;
    listSessions(instanceId: string, q: HistoryQuery, credential: Credential, o: CallOptions): Promise<RunSessionList>;
    listMessages(instanceId: string, sessionId: string, q: HistoryQuery, credential: Credential, o: CallOptions): Promise<RunSessionMessageList>;
    eraseSession(instanceId: string, sessionId: string, credential: Credential, owner: string | undefined, o: CallOptions): Promise<void>;
  };
}

export interface HistoryQuery {
  owner?: string;
  cursor?: string;
  limit?: number;
}

/** The deadline the Control Plane gets for a money call: the attempt's timeout minus a margin for the COMMIT (bounds.ts). */
export const DEADLINE_MARGIN_MS = 1_000;

export interface ControlPlaneClientOptions {
  baseUrl: () => string;
  http: HttpClient;
  tokens: TokenSource;
  sleep?: Sleep;
  /** Retry schedules (tests shorten timeouts); default retry.ts POLICIES. */
  policies?: Partial<Record<keyof typeof POLICIES, RetryPolicy>>;
  /** Told about every failed attempt (metrics): `kind` is `network`, `timeout` or `status_<n>`. */
  onError?: (operation: string, kind: string) => void;
}

interface Call {
  operation: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Send `X-Request-Timeout-Ms` (money calls: the Control Plane never commits past it). */
  deadline?: boolean;
  path: string;
  credential: Credential;
  body?: unknown;
  idempotencyKey?: string;
  policy: RetryPolicy;
  /** Extra final answers that are worth another attempt (e.g. 409 IDEMPOTENCY_IN_PROGRESS). */
  retryIf?: (res: JsonResponse<ErrorEnvelope>) => boolean;
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

const KNOWN_CODES = new Set(Object.keys(statusOf));

/** The Control Plane's canonical error, passed through as the gateway's own answer. */
export function passThrough(res: JsonResponse<ErrorEnvelope>, operation: string): AppError {
  const e = res.body?.error;
  if (e && typeof e.code === 'string' && KNOWN_CODES.has(e.code)) {
    return new AppError(e.code as ErrorCode, typeof e.message === 'string' ? e.message : `control plane answered ${res.status}`, e.details, { status: res.status });
  }
  return new AppError('CONTROL_PLANE_UNAVAILABLE', 'The control plane gave an unexpected answer; the request was refused', { operation, status: res.status });
}

/** The caller went away mid-request (nobody reads this answer; it shows in logs and metrics). */
export function clientGone(cause?: unknown): AppError {
  return new AppError('INTERNAL', 'The request was cancelled: the client went away', { reason: 'cancelled' }, { status: 499, cause });
}

export function cpUnavailable(operation: string, reason: string, cause?: unknown): AppError {
  return new AppError('CONTROL_PLANE_UNAVAILABLE', 'The control plane is unreachable; the request was refused', { operation, reason }, { cause });
}

export function createControlPlaneClient(opts: ControlPlaneClientOptions): ControlPlaneClient {
  const sleep = opts.sleep ?? realSleep;
  const P = { ...POLICIES, ...opts.policies };

  async function headersFor(c: Call, o: CallOptions): Promise<Record<string, string>> {
    const h: Record<string, string> = { 'x-request-id': o.requestId };
    if (c.credential.kind === 'service') h.authorization = `Bearer ${await opts.tokens.token()}`;
    else if (c.credential.kind === 'bearer') h.authorization = `Bearer ${c.credential.token}`;
    else if (c.credential.kind === 'apiKey') h['x-api-key'] = c.credential.key;
    if (c.idempotencyKey) h['idempotency-key'] = c.idempotencyKey;
    if (c.deadline) h['x-request-timeout-ms'] = String(Math.max(50, c.policy.timeoutMs - DEADLINE_MARGIN_MS));
    return h;
  }

  async function call<T>(c: Call, o: CallOptions): Promise<JsonResponse<T>> {
    const url = `${opts.baseUrl().replace(/\/+$/, '')}${c.path}`;
    let refreshedToken = false;
    let lastFailure = 'unknown';
    let lastCause: unknown;
    for (let attempt = 1; attempt <= c.policy.attempts; attempt++) {
      let res: JsonResponse<T & ErrorEnvelope>;
      try {
        res = await opts.http.json<T & ErrorEnvelope>(c.method, url, { headers: await headersFor(c, o), body: c.body, timeoutMs: c.policy.timeoutMs, signal: o.signal });
      } catch (err) {
        if (err instanceof TransportError && err.kind === 'aborted') {
          throw clientGone(err);
        }
        if (!(err instanceof TransportError)) {
          // The token endpoint (production) failed: the gateway cannot authenticate, fail closed.
          throw cpUnavailable(c.operation, 'no service token', err);
        }
        lastFailure = err.kind;
        lastCause = err;
        opts.onError?.(c.operation, err.kind);
        if (attempt < c.policy.attempts) await sleep(backoffMs(c.policy, attempt));
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res as JsonResponse<T>;
      if (res.status === 401 && c.credential.kind === 'service' && !refreshedToken) {
        refreshedToken = true;
        opts.tokens.invalidate();
        attempt--; // the token, not the control plane, was at fault: not an attempt
        continue;
      }
      opts.onError?.(c.operation, `status_${res.status}`);
      const retryable = c.policy.retryStatus.has(res.status) || (c.retryIf?.(res) ?? false);
      if (!retryable) {
        if (res.status >= 500) throw cpUnavailable(c.operation, `status ${res.status}`);
        if (res.status === 401 && c.credential.kind === 'service') throw cpUnavailable(c.operation, 'the control plane refused the gateway\'s service token');
        throw passThrough(res, c.operation);
      }
      lastFailure = `status ${res.status}`;
      if (attempt < c.policy.attempts) await sleep(backoffMs(c.policy, attempt));
    }
    throw cpUnavailable(c.operation, lastFailure, lastCause);
  }

  const enc = encodeURIComponent;
  const qs = (q: { [k: string]: string | number | undefined } | HistoryQuery) => {
    const parts = Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
    return parts.length ? `?${parts.join('&')}` : '';
  };
  const inProgress = (res: JsonResponse<ErrorEnvelope>) => res.status === 409 && res.body?.error?.code === 'IDEMPOTENCY_IN_PROGRESS';

  return {
    async getEntitlements(instanceId, credential, o) {
      return (await call<Entitlements>({ operation: 'getInstanceEntitlements', method: 'GET', path: `/instances/${enc(instanceId)}/entitlements`, credential, policy: P.read }, o)).body!;
    },
    async authorize(body, o) {
      // With `run` the run record is the idempotency record (same attemptId on every retry).
      const res = await call<Reservation>(
        body.run
          ? { operation: 'authorizeBudget', method: 'POST', path: '/billing/authorize', credential: { kind: 'service' }, body, policy: P.authorize, deadline: true }
          : { operation: 'authorizeBudget', method: 'POST', path: '/billing/authorize', credential: { kind: 'service' }, body, idempotencyKey: `authz:${body.runId}`, policy: P.authorize, retryIf: inProgress },
        o,
      );
      return { status: res.status, body: res.body! };
    },
    async settle(body, o) {
      return (await call<Settlement>({ operation: 'settleReservation', method: 'POST', path: '/billing/settle', credential: { kind: 'service' }, body, policy: P.settle, deadline: true }, { requestId: o.requestId })).body!;
    },
    async void(body, o) {
      return (await call<Reservation>({ operation: 'voidReservation', method: 'POST', path: '/billing/void', credential: { kind: 'service' }, body, policy: P.void, deadline: true }, { requestId: o.requestId })).body!;
    },
    async getArtifactLink(offeringId, versionId, o) {
      return (await call<ArtifactLink>({ operation: 'getOfferingVersionArtifact', method: 'GET', path: `/offerings/${enc(offeringId)}/versions/${enc(versionId)}/artifact`, credential: { kind: 'service' }, policy: P.read }, o)).body!;
    },
    async getWallet(walletId, credential, o) {
      return (await call<Wallet>({ operation: 'getWallet', method: 'GET', path: `/wallets/${enc(walletId)}`, credential, policy: P.read }, o)).body!;
    },
    async getInstance(instanceId, credential, o) {
      return (await call<Instance>({ operation: 'getInstance', method: 'GET', path: `/instances/${enc(instanceId)}`, credential, policy: P.read }, o)).body!;
    },
    async getOffering(offeringId, o) {
      // Public for published offerings; sent without credentials so a publisher's drafts stay out.
      return (await call<Offering>({ operation: 'getOffering', method: 'GET', path: `/offerings/${enc(offeringId)}`, credential: { kind: 'none' }, policy: P.read }, o)).body!;
    },
    async createOrgAuto(body, userToken, o) {
      const res = await call<Workspace>({ operation: 'createOrgAuto', method: 'POST', path: '/orgs/auto', credential: { kind: 'bearer', token: userToken }, body, idempotencyKey: o.idempotencyKey, policy: P.trial, retryIf: inProgress }, o);
      return { status: res.status, body: res.body! };
    },
    history: {
      async getRun(runId, credential, owner, o) {
        return (await call<RunRecord>({ operation: 'getRunRecord', method: 'GET', path: `/runs/${enc(runId)}${qs({ owner })}`, credential, policy: P.read }, o)).body!;
      },
      async listRuns(instanceId, q, credential, o) {
        return (await call<RunRecordList>({ operation: 'listInstanceRuns', method: 'GET', path: `/instances/${enc(instanceId)}/runs${qs(q)}`, credential, policy: P.read }, o)).body!;
      },
      async listSessions(instanceId, q, credential, o) {
        return (await call<RunSessionList>({ operation: 'listInstanceSessions', method: 'GET', path: `/instances/${enc(instanceId)}/sessions${qs(q)}`, credential, policy: P.read }, o)).body!;
      },
      async listMessages(instanceId, sessionId, q, credential, o) {
        return (await call<RunSessionMessageList>({ operation: 'listInstanceSessionMessages', method: 'GET', path: `/instances/${enc(instanceId)}/sessions/${enc(sessionId)}/messages${qs(q)}`, credential, policy: P.read }, o)).body!;
      },
      async eraseSession(instanceId, sessionId, credential, owner, o) {
        await call<void>({ operation: 'deleteInstanceSession', method: 'DELETE', path: `/instances/${enc(instanceId)}/sessions/${enc(sessionId)}${qs({ owner })}`, credential, policy: P.read }, o);
      },
    },
    async createInstance(body, userToken, o) {
      const res = await call<Instance>({ operation: 'createInstance', method: 'POST', path: '/instances', credential: { kind: 'bearer', token: userToken }, body, idempotencyKey: o.idempotencyKey, policy: P.trial, retryIf: inProgress }, o);
      return { body: res.body!, replayed: res.headers['idempotent-replayed'] === 'true' };
    },
  };
}
