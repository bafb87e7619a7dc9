import type { ErrorCode } from '../../generated/shared/types';

export type { ErrorCode };

/** The status each stable error code answers with. One place, read by every service. */
export const statusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_ENTITLED: 403,
  PLAN_REQUIRES_PURCHASE: 403,
  OFFERING_EOL: 403,
  INSUFFICIENT_CREDITS: 403,
  ORIGIN_NOT_ALLOWED: 403,
  POLICY_DENIED: 403,
  SIGNATURE_INVALID: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  IDEMPOTENCY_PAYLOAD_MISMATCH: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  ILLEGAL_TRANSITION: 409,
  RESERVATION_ALREADY_RESOLVED: 409,
  RESERVATION_EXPIRED: 409,
  UNPROCESSABLE: 422,
  INVALID_CONFIG: 422,
  CONFIG_FIELD_LOCKED: 422,
  /** A notification webhook URL that is not https (outside development), carries credentials or reaches a private address. */
  NOTIFICATION_TARGET_REFUSED: 422,
  UNSUPPORTED_COMPONENT: 422,
  ARTIFACT_INTEGRITY_FAILED: 422,
  RATE_LIMITED: 429,
  CONCURRENCY_LIMIT_EXCEEDED: 429,
  DAILY_RUN_LIMIT_EXCEEDED: 429,
  INPUT_TOO_LARGE: 413,
  RUN_CREDIT_LIMIT_EXCEEDED: 422,
  WALLET_BUSY: 503,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  DEPENDENCY_UNAVAILABLE: 503,
  CONTROL_PLANE_UNAVAILABLE: 503,
  VAULT_UNAVAILABLE: 503,
  RAG_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
  RUNTIME_UNAVAILABLE: 502,
  RUNTIME_ERROR: 502,
  DEPENDENCY_TIMEOUT: 504,
  /** A capability's run-time hook failed; the run stopped, not charged. */
  CAPABILITY_ERROR: 502,
  /** A capability's policy refused the input or the output (details name capability and rule). */
  GUARDRAIL_BLOCKED: 422,
  MODALITY_NOT_SUPPORTED: 422,
  ATTACHMENT_TYPE_NOT_ACCEPTED: 422,
  ATTACHMENT_TOO_LARGE: 413,
  TOO_MANY_ATTACHMENTS: 422,
  PDF_TOO_MANY_PAGES: 422,
  AUDIO_TOO_LONG: 422,
};

/**
 * An error meant for the caller. `message` and `details` are public: never put secrets,
 * SQL or stack traces in them. Anything internal goes to `cause` (logged, never answered).
 */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown; status?: number; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.status = options?.status ?? statusOf[code];
    this.headers = options?.headers;
  }
  readonly headers?: Record<string, string>;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown>; traceId: string };
}

/** Builds the canonical error body. The only place that shapes one. */
export function errorBody(err: AppError, traceId: string): ErrorBody {
  const error: ErrorBody['error'] = { code: err.code, message: err.message, traceId };
  if (err.details !== undefined) error.details = err.details;
  return { error };
}

/**
 * PostgreSQL's refusals of text it cannot store (a NUL byte: `22021` character_not_in_repertoire,
 * `22P05` untranslatable_character). They are the caller's input, so a 400, never a 500.
 */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/** Turns anything thrown into an AppError; unknown errors become a generic 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNSTORABLE_TEXT.has(code)) {
    return new AppError('VALIDATION_FAILED', 'Text must not contain NUL or other characters that cannot be stored', { errors: [{ path: '/body', message: 'contains a character that cannot be stored' }] }, { cause: err });
  }
  return new AppError('INTERNAL', 'Unexpected error', undefined, { cause: err });
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
