import pino from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach a log line, at any depth pino redacts. */
export const REDACTED_PATHS = [
  'authorization', '*.authorization', 'headers.authorization', 'headers["x-api-key"]', 'headers.cookie',
  'token', '*.token', 'secret', '*.secret', 'password', '*.password', 'credential', '*.credential',
  'apiKey', '*.apiKey', 'sessionToken', '*.sessionToken', 'clientSecret', '*.clientSecret',
];

/** Structured JSON logs on stdout. `LOG_LEVEL=silent` in tests keeps output readable. */
export function createLogger(opts: { level?: string; service?: string } = {}): Logger {
  return pino({
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: opts.service ? { service: opts.service } : undefined,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
}
