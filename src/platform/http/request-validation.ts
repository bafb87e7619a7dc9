/**
 * How a service validates requests against its spec, and the error it answers when one breaks
 * it — one definition, used by every service (create-service-app.ts) and by the mock
 * (scripts/mock.ts), so a client meets the same 400 VALIDATION_FAILED body from both.
 */
import addFormats from 'ajv-formats';
import type { ErrorObject } from 'ajv';
import { AppError } from '../errors';

/** The openapi-backend request-validation options the services run with. */
export const VALIDATION_OPTIONS = {
  validate: true,
  coerceTypes: true,
  ajvOpts: { allErrors: true, strict: false },
  customizeAjv: (ajv: Parameters<typeof addFormats>[0]) => {
    addFormats(ajv);
    return ajv;
  },
} as const;

/** The canonical 400 for a request that breaks the schema: every violation in `details.errors`. */
export function validationFailed(errors: ErrorObject[] | null | undefined): AppError {
  const list = (errors ?? []).map((e) => ({
    path: e.instancePath.replace(/^\/requestBody/, '/body'),
    message: e.message ?? 'is invalid',
    keyword: e.keyword,
    params: e.params,
  }));
  return new AppError('VALIDATION_FAILED', 'Request validation failed', { errors: list });
}
