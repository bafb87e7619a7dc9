/**
 * `npm run statuses:check [dir]`: every status an operation answered in the test suite must be
 * declared by that operation in its spec. The suite records each validated answer when
 * `RECORD_STATUSES_DIR` is set (src/platform/http/status-recorder.ts; `npm test` sets it); this
 * compares the record with the bundled specs and fails naming each operation and status that is
 * answered but undocumented. Error codes answered under a declared status but missing from its
 * named examples are listed too (add them to specs/errors.yaml), without failing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SeenStatus } from '../src/platform/http/status-recorder';
import { loadDefinition } from '../src/platform/spec';

export interface StatusReport {
  /** `<service> <operationId> <status>` answered but not declared. */
  undeclared: string[];
  /** `<service> <operationId> <status> <code>` answered but not among the named examples. */
  unlistedCodes: string[];
  checked: number;
}

type Spec = { paths?: Record<string, Record<string, { operationId?: string; responses?: Record<string, any> }>>; components?: { responses?: Record<string, any> } };

export function compareStatuses(seen: SeenStatus[], specs: Record<string, Spec>): StatusReport {
  const ops = new Map<string, Record<string, any>>();
  for (const [service, spec] of Object.entries(specs)) {
    for (const item of Object.values(spec.paths ?? {})) {
      for (const op of Object.values(item ?? {})) {
        if (op && typeof op === 'object' && op.operationId) ops.set(`${service} ${op.operationId}`, op.responses ?? {});
      }
    }
  }
  const undeclared = new Set<string>();
  const unlistedCodes = new Set<string>();
  for (const s of seen) {
    const responses = ops.get(`${s.service} ${s.operationId}`);
    if (!responses) continue; // an operation the specs no longer have
    const status = String(s.status);
    const declared = responses[status] ?? responses[`${status[0]}XX`];
    if (!declared) {
      undeclared.add(`${s.service} ${s.operationId} ${status}`);
      continue;
    }
    if (s.code && s.status >= 400) {
      const r = declared.$ref ? specs[s.service]?.components?.responses?.[String(declared.$ref).split('/').pop()!] : declared;
      const examples = r?.content?.['application/json']?.examples ?? {};
      if (!(s.code in examples)) unlistedCodes.add(`${s.service} ${s.operationId} ${status} ${s.code}`);
    }
  }
  return { undeclared: [...undeclared].sort(), unlistedCodes: [...unlistedCodes].sort(), checked: seen.length };
}

export function readSeen(dir: string): SeenStatus[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SeenStatus));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? process.env.RECORD_STATUSES_DIR ?? '.data/statuses-seen';
  const seen = readSeen(dir);
  const services = [...new Set(seen.map((s) => s.service))];
  const specs = Object.fromEntries(services.map((s) => [s, loadDefinition(s) as Spec]));
  const report = compareStatuses(seen, specs);
  console.log(`statuses:check: ${report.checked} answers recorded in ${dir}`);
  for (const c of report.unlistedCodes) console.log(`statuses:check: code not among the named examples (add it to specs/errors.yaml): ${c}`);
  for (const u of report.undeclared) console.error(`statuses:check: answered but not declared: ${u}`);
  if (!seen.length) {
    console.error('statuses:check: nothing recorded (run the suite with RECORD_STATUSES_DIR set)');
    process.exit(1);
  }
  if (report.undeclared.length) process.exit(1);
}
