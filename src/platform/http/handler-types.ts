import type { Principal } from '../../identity/principal';
import type { Logger } from '../logger';
import type { ResolvedScope } from '../policy/engine';

/** Who is calling, as established by the operation's security scheme. */
export interface Caller {
  kind: 'user' | 'service' | 'api_key' | 'widget' | 'webhook';
  /** Token subject, service client id, API key id, widget session id or webhook source. */
  subject: string;
  roles: ReadonlySet<string>;
  email?: string;
  name?: string;
  /** Set when the credential itself is scoped (API keys, widget sessions). */
  orgId?: string;
  projectId?: string;
  instanceId?: string;
  /** The scheme that authenticated the call (spec securitySchemes key). */
  scheme: string;
  /** The verified token, for bearer callers (user or service). */
  principal?: Principal;
  /** The API key id, for project API key callers. */
  keyId?: string;
  /** Instances an API key or widget session is limited to (empty = the whole project). */
  instanceIds?: string[];
}

export interface RequestContext<Deps> {
  operationId: string;
  requestId: string;
  log: Logger;
  deps: Deps;
  /** Undefined only on operations with `security: []`. */
  caller?: Caller;
  /**
   * The resource the operation's `x-scope` names, resolved (org, project, instance, the caller's
   * role) and authorized by policy/ before the handler runs.
   */
  scope?: ResolvedScope;
  /**
   * Whether policy/ lets this caller perform another operation on the same resource (what a
   * handler shows depends on it: catalog authors see drafts).
   */
  allows(operationId: string): boolean;
  /** The exact request bytes (signature checks must use these, not re-serialized JSON). */
  rawBody: Buffer;
  /** Origin header, as sent (CORS/widget checks). */
  origin?: string;
  /** Aborted when the client goes away or the server shuts down. */
  signal: AbortSignal;
  /** Adds fields to every later log line of this request (orgId, instanceId, …). */
  annotate(fields: Record<string, unknown>): void;
}

export type OperationHandler<Req, Res, Deps> = (req: Req, ctx: RequestContext<Deps>) => Promise<Res>;
