/**
 * The gateway's Control Plane client: the operations the gateway calls, each through the
 * generated client of the Control Plane's spec (generated/clients/control-plane) on the
 * platform's service-client wrapper (src/platform/service-client: keep-alive transport,
 * per-attempt timeouts, retries by operation, canonical error mapping). A renamed operation,
 * parameter or schema in specs/control-plane.openapi.yaml therefore fails `tsc` here.
 *
 * Every call sends `X-Request-Id` (the request's id, so one id spans every hop) and a credential:
 * the gateway's own service token, or the caller's user token / project API key forwarded so the
 * Control Plane decides tenant scope. Retries follow retry.ts. Outcomes:
 * - a canonical error answer that is final (404, 403 INSUFFICIENT_CREDITS, 422, …) is rethrown as
 *   an AppError with the same code, status, message, details and Retry-After;
 * - the Control Plane unreachable, timing out or answering 5xx after the last attempt → 503
 *   CONTROL_PLANE_UNAVAILABLE (fail closed);
 * - a 401 on the gateway's own token drops the cached token and tries once more at once.
 */
import type {
  ArtifactLink,
  AuthorizeRequest,
  CreateInstanceRequest,
  CreateOrgAutoRequest,
  CreditQuota,
  CreditQuotaRequest,
  CreditQuotaRenewal,
  Entitlements,
  Instance,
  Offering,
  QuotaRunCharge,
  QuotaRunVoid,
  QuotaRunVoided,
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
import { AppError } from '../platform/errors';
import {
  BillingApi,
  CatalogApi,
  Configuration,
  type CreateInstanceRequest as CreateInstanceRequestModel,
  InstancesApi,
  RunsApi,
  type SettleRequest as SettleRequestModel,
  type QuotaRunCharge as QuotaRunChargeModel,
  type QuotaRunVoid as QuotaRunVoidModel,
  TenancyApi,
  WalletsApi,
} from '../../generated/clients/control-plane';
import { createServiceClient, model, type ClientConfig, type Credential as ServiceCredential, type GeneratedResponse, type Operation, type ServiceAnswer, ServiceCallError } from '../platform/service-client';
import type { HttpClient } from '../platform/service-client/http-json';
import { POLICIES, type RetryPolicy, type Sleep } from './retry';

/** Whose credential a call carries. */
export type Credential = ServiceCredential;

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
  /** Credit quotas (src/gateway/quotas.ts): grant (never retried: a lost answer's quota lapses), renew, release, and a run's charge or uncharged record (idempotent by run). */
  quotas: {
    grant(body: CreditQuotaRequest, o: CallOptions): Promise<CreditQuota>;
    renew(quotaId: string, body: CreditQuotaRenewal, o: CallOptions): Promise<CreditQuota>;
    release(quotaId: string, holder: string, o: CallOptions): Promise<CreditQuota>;
    charge(quotaId: string, body: QuotaRunCharge, o: CallOptions): Promise<Settlement>;
    voidRun(quotaId: string, body: QuotaRunVoid, o: CallOptions): Promise<QuotaRunVoided>;
  };
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
export { DEADLINE_MARGIN_MS } from '../platform/service-client';

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


/** A final Control Plane answer, passed through as the gateway's own (code, status, details, Retry-After). */
export function passThrough(e: ServiceCallError): AppError {
  if (e.code) return new AppError(e.code, e.message, e.extra.details, { status: e.status, headers: e.extra.headers && Object.keys(e.extra.headers).length ? e.extra.headers : undefined });
  return new AppError('CONTROL_PLANE_UNAVAILABLE', 'The control plane gave an unexpected answer; the request was refused', { operation: e.operationId, status: e.status });
}

/** The caller went away mid-request (nobody reads this answer; it shows in logs and metrics). */
export function clientGone(cause?: unknown): AppError {
  return new AppError('INTERNAL', 'The request was cancelled: the client went away', { reason: 'cancelled' }, { status: 499, cause });
}

export function cpUnavailable(operation: string, reason: string, cause?: unknown): AppError {
  return new AppError('CONTROL_PLANE_UNAVAILABLE', 'The control plane is unreachable; the request was refused', { operation, reason }, { cause });
}

/** What a failed call means to the gateway's caller. */
function toAppError(err: unknown, credential: Credential): unknown {
  if (!(err instanceof ServiceCallError)) return err;
  if (err.kind === 'aborted') return clientGone(err);
  // The token endpoint (production) failed: the gateway cannot authenticate, fail closed.
  if (err.kind === 'credential') return cpUnavailable(err.operationId, 'no service token', err);
  if (err.kind === 'transport') return cpUnavailable(err.operationId, err.reason, err);
  if ((err.status ?? 500) >= 500) return cpUnavailable(err.operationId, err.reason, err);
  if (err.status === 401 && credential.kind === 'service') return cpUnavailable(err.operationId, 'the control plane refused the gateway\'s service token', err);
  return passThrough(err);
}

const inProgress = (e: ServiceCallError) => e.status === 409 && e.code === 'IDEMPOTENCY_IN_PROGRESS';

const api = {
  billing: (c: ClientConfig) => new BillingApi(new Configuration(c)),
  catalog: (c: ClientConfig) => new CatalogApi(new Configuration(c)),
  instances: (c: ClientConfig) => new InstancesApi(new Configuration(c)),
  runs: (c: ClientConfig) => new RunsApi(new Configuration(c)),
  tenancy: (c: ClientConfig) => new TenancyApi(new Configuration(c)),
  wallets: (c: ClientConfig) => new WalletsApi(new Configuration(c)),
};

export function createControlPlaneClient(opts: ControlPlaneClientOptions): ControlPlaneClient {
  const P = { ...POLICIES, ...opts.policies };
  const service = createServiceClient({ baseUrl: opts.baseUrl, http: opts.http, tokens: opts.tokens, sleep: opts.sleep, onError: opts.onError });

  /**
   * One operation; failures become the gateway's AppErrors. The body is the JSON as the Control
   * Plane sent it, typed by the Control Plane's own schema types (`W`, generated/control-plane/types):
   * the generated client renders inline objects as loose maps.
   */
  async function call<W, A = unknown>(client: (c: ClientConfig) => A, send: (api: A) => Promise<GeneratedResponse<unknown>>, op: Operation, o: CallOptions): Promise<ServiceAnswer<W>> {
    try {
      return (await service.call(client, send, op, { requestId: o.requestId, signal: o.signal })) as ServiceAnswer<W>;
    } catch (err) {
      throw toAppError(err, op.credential);
    }
  }
  const svc: Credential = { kind: 'service' };
  const read = (operationId: string, credential: Credential): Operation => ({ operationId, kind: 'read', credential, policy: P.read });

  return {
    async getEntitlements(instanceId, credential, o) {
      return (await call<Entitlements, InstancesApi>(api.instances, (a) => a.getInstanceEntitlementsRaw({ instanceId }), read('getInstanceEntitlements', credential), o)).body;
    },
    async authorize(body, o) {
      // With `run` the run record is the idempotency record (same attemptId on every retry).
      const op: Operation = body.run
        ? { operationId: 'authorizeBudget', kind: 'write', idempotent: true, credential: svc, policy: P.authorize, deadline: true }
        : { operationId: 'authorizeBudget', kind: 'write', idempotencyKey: `authz:${body.runId}`, credential: svc, policy: P.authorize, retryIf: inProgress };
      const res = await call<Reservation, BillingApi>(api.billing, (a) => a.authorizeBudgetRaw({ authorizeRequest: body, idempotencyKey: op.idempotencyKey }), op, o);
      return { status: res.status, body: res.body };
    },
    async settle(body, o) {
      // Money calls take no caller signal on purpose: a settle always completes.
      const op: Operation = { operationId: 'settleReservation', kind: 'write', idempotent: true, credential: svc, policy: P.settle, deadline: true };
      return (await call<Settlement, BillingApi>(api.billing, (a) => a.settleReservationRaw({ settleRequest: model<SettleRequestModel>(body) }), op, { requestId: o.requestId })).body;
    },
    async void(body, o) {
      const op: Operation = { operationId: 'voidReservation', kind: 'write', idempotent: true, credential: svc, policy: P.void, deadline: true };
      return (await call<Reservation, BillingApi>(api.billing, (a) => a.voidReservationRaw({ voidRequest: body }), op, { requestId: o.requestId })).body;
    },
    quotas: {
      async grant(body, o) {
        const op: Operation = { operationId: 'grantCreditQuota', kind: 'write', credential: svc, policy: { ...P.authorize, attempts: 1 }, deadline: true };
        return (await call<CreditQuota, BillingApi>(api.billing, (a) => a.grantCreditQuotaRaw({ creditQuotaRequest: body }), op, { requestId: o.requestId })).body;
      },
      async renew(quotaId, body, o) {
        // A renewal sets the quota's size: repeating it changes nothing more.
        const op: Operation = { operationId: 'renewCreditQuota', kind: 'write', idempotent: true, credential: svc, policy: P.authorize, deadline: true };
        return (await call<CreditQuota, BillingApi>(api.billing, (a) => a.renewCreditQuotaRaw({ quotaId, creditQuotaRenewal: body }), op, { requestId: o.requestId })).body;
      },
      async release(quotaId, holder, o) {
        const op: Operation = { operationId: 'releaseCreditQuota', kind: 'write', idempotent: true, credential: svc, policy: P.void, deadline: true };
        return (await call<CreditQuota, BillingApi>(api.billing, (a) => a.releaseCreditQuotaRaw({ quotaId, creditQuotaRelease: { holder } }), op, { requestId: o.requestId })).body;
      },
      async charge(quotaId, body, o) {
        // Idempotent by runId; like settle, it takes no caller signal: a charge always completes.
        const op: Operation = { operationId: 'chargeQuotaRun', kind: 'write', idempotent: true, credential: svc, policy: P.settle, deadline: true };
        return (await call<Settlement, BillingApi>(api.billing, (a) => a.chargeQuotaRunRaw({ quotaId, quotaRunCharge: model<QuotaRunChargeModel>(body) }), op, { requestId: o.requestId })).body;
      },
      async voidRun(quotaId, body, o) {
        const op: Operation = { operationId: 'voidQuotaRun', kind: 'write', idempotent: true, credential: svc, policy: P.void, deadline: true };
        return (await call<QuotaRunVoided, BillingApi>(api.billing, (a) => a.voidQuotaRunRaw({ quotaId, quotaRunVoid: model<QuotaRunVoidModel>(body) }), op, { requestId: o.requestId })).body;
      },
    },
    async getArtifactLink(offeringId, versionId, o) {
      return (await call<ArtifactLink, CatalogApi>(api.catalog, (a) => a.getOfferingVersionArtifactRaw({ offeringId, versionId }), read('getOfferingVersionArtifact', svc), o)).body;
    },
    async getWallet(walletId, credential, o) {
      return (await call<Wallet, WalletsApi>(api.wallets, (a) => a.getWalletRaw({ walletId }), read('getWallet', credential), o)).body;
    },
    async getInstance(instanceId, credential, o) {
      return (await call<Instance, InstancesApi>(api.instances, (a) => a.getInstanceRaw({ instanceId }), read('getInstance', credential), o)).body;
    },
    async getOffering(offeringId, o) {
      // Public for published offerings; sent without credentials so a publisher's drafts stay out.
      return (await call<Offering, CatalogApi>(api.catalog, (a) => a.getOfferingRaw({ offeringId }), read('getOffering', { kind: 'none' }), o)).body;
    },
    async createOrgAuto(body, userToken, o) {
      const op: Operation = { operationId: 'createOrgAuto', kind: 'write', credential: { kind: 'bearer', token: userToken }, idempotencyKey: o.idempotencyKey, policy: P.trial, retryIf: inProgress };
      const res = await call<Workspace, TenancyApi>(api.tenancy, (a) => a.createOrgAutoRaw({ createOrgAutoRequest: body, idempotencyKey: o.idempotencyKey }), op, o);
      return { status: res.status, body: res.body };
    },
    history: {
      async getRun(runId, credential, owner, o) {
        return (await call<RunRecord, RunsApi>(api.runs, (a) => a.getRunRecordRaw({ runId, owner }), read('getRunRecord', credential), o)).body;
      },
      async listRuns(instanceId, q, credential, o) {
        return (await call<RunRecordList, RunsApi>(api.runs, (a) => a.listInstanceRunsRaw({ instanceId, ...q }), read('listInstanceRuns', credential), o)).body;
      },
      async listSessions(instanceId, q, credential, o) {
        return (await call<RunSessionList, RunsApi>(api.runs, (a) => a.listInstanceSessionsRaw({ instanceId, ...q }), read('listInstanceSessions', credential), o)).body;
      },
      async listMessages(instanceId, sessionId, q, credential, o) {
        return (await call<RunSessionMessageList, RunsApi>(api.runs, (a) => a.listInstanceSessionMessagesRaw({ instanceId, sessionId, ...q }), read('listInstanceSessionMessages', credential), o)).body;
      },
      async eraseSession(instanceId, sessionId, credential, owner, o) {
        // DELETE is idempotent (RFC 9110 §9.2.2): erasing twice leaves the same state.
        const op: Operation = { operationId: 'deleteInstanceSession', kind: 'write', idempotent: true, credential, policy: P.read };
        await call<void, RunsApi>(api.runs, (a) => a.deleteInstanceSessionRaw({ instanceId, sessionId, owner }), op, o);
      },
    },
    async createInstance(body, userToken, o) {
      const op: Operation = { operationId: 'createInstance', kind: 'write', credential: { kind: 'bearer', token: userToken }, idempotencyKey: o.idempotencyKey, policy: P.trial, retryIf: inProgress };
      const res = await call<Instance, InstancesApi>(api.instances, (a) => a.createInstanceRaw({ createInstanceRequest: model<CreateInstanceRequestModel>(body), idempotencyKey: o.idempotencyKey }), op, o);
      return { body: res.body, replayed: res.replayed };
    },
  };
}
