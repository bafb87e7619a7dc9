/** Upload rules for knowledge-base documents. */
import { AppError } from '../platform/errors';
import { MAX_UPLOAD_BYTES } from './service';

/** Default cap per file (25 MiB); `RAG_MAX_UPLOAD_BYTES` changes it, never above 100 MiB. */
export const DEFAULT_UPLOAD_CAP_BYTES = 25 * 1024 * 1024;

export function uploadCapFromEnv(env: Record<string, string | undefined>): number {
  const raw = Number(env.RAG_MAX_UPLOAD_BYTES);
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, MAX_UPLOAD_BYTES) : DEFAULT_UPLOAD_CAP_BYTES;
}

/**
 * The file name as it appears in the object key: characters outside S3's safe set become `_`;
 * control characters, `.`/`..` and names without a letter or digit are refused (400).
 */
export function safeFileName(name: string): string {
  const bad = (why: string) => new AppError('VALIDATION_FAILED', `Invalid fileName: ${why}`, { errors: [{ path: '/body/fileName', message: why }] });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw bad('control characters');
  const safe = name.normalize('NFC').replace(/[^A-Za-z0-9!_.*'()=+@,-]/g, '_').slice(0, 200);
  if (safe === '.' || safe === '..' || !/[A-Za-z0-9]/.test(safe)) throw bad('it needs at least one letter or digit and cannot be . or ..');
  return safe;
}
