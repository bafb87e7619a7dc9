/**
 * Records the status (and error code) of every answer a service gives while its responses are
 * validated (the test stacks), when `RECORD_STATUSES_DIR` names a folder: one JSON line per answer
 * in `<dir>/<pid>.jsonl`. `npm run statuses:check` compares what the suite saw with what each
 * operation declares (scripts/statuses-check.ts), so an operation cannot answer a status its
 * spec does not document.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface SeenStatus {
  service: string;
  operationId: string;
  status: number;
  code?: string;
}

let ready: string | undefined;

export function recordStatus(service: string, operationId: string, status: number, body: unknown): void {
  const dir = process.env.RECORD_STATUSES_DIR;
  if (!dir || operationId === 'unrouted') return;
  if (ready !== dir) {
    mkdirSync(dir, { recursive: true });
    ready = dir;
  }
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  const line: SeenStatus = { service, operationId, status, ...(typeof code === 'string' ? { code } : {}) };
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
}
