/** Upload rules for knowledge-base documents. */
import { AppError } from '../platform/errors';

/** Default cap per file (25 MiB); `RAG_MAX_UPLOAD_BYTES` changes it (1 byte to 100 MiB, checked with the configuration). */
export { RAG_DEFAULT_UPLOAD_CAP as DEFAULT_UPLOAD_CAP_BYTES } from '../platform/config/sections/rag';

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
