/**
 * `npm run gen:check`: generates into a temporary folder and compares it with generated/ (and the
 * configuration tree with `.env.example`, the alert rules with gitops/base/prometheusrule.yaml) — changed,
 * new and stale files — and reports every handler skeleton gen would create. It never writes to the
 * working tree, and files gen does not own (a test beside a handler, an editor's backup) are never
 * looked at. Exit 1 says which command fixes it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareTrees, type TreeChange } from './compare-trees';
import { ENV_EXAMPLE_FILE, renderEnvExample } from './env-example';
import { generate, OUT } from './generate';
import { requireJava } from './java';
import { PROMETHEUS_RULE_FILE, renderPrometheusRule } from './prometheus-rule';

/** Single files gen writes outside generated/, with what they must hold. */
const SINGLE_FILES: [string, () => string][] = [[ENV_EXAMPLE_FILE, renderEnvExample], [PROMETHEUS_RULE_FILE, renderPrometheusRule]];

export async function genCheck(): Promise<TreeChange[]> {
  requireJava();
  const stage = mkdtempSync(join(tmpdir(), 'agent-store-gen-check-'));
  try {
    const { skeletons } = await generate(stage);
    const env: TreeChange[] = SINGLE_FILES.flatMap(([file, render]): TreeChange[] =>
      !existsSync(file) ? [{ kind: 'A', file }] : readFileSync(file, 'utf8') !== render() ? [{ kind: 'M', file }] : []);
    return [...compareTrees(stage, OUT, OUT), ...skeletons.map((s) => ({ kind: 'A' as const, file: s.file })), ...env];
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const WHAT = { M: 'differs from what the specs produce', A: 'missing: gen would create it', D: 'stale: gen would delete it' };

if (import.meta.url === `file://${process.argv[1]}`) {
  genCheck().then(
    (changes) => {
      if (!changes.length) {
        console.log('gen:check: generated/ matches specs/');
        return;
      }
      console.error('gen:check: generated code is out of date with specs/:');
      for (const c of changes) console.error(`  ${c.kind} ${c.file}  (${WHAT[c.kind]})`);
      console.error("Run 'npm run gen' and commit the result (never edit generated/ by hand).");
      process.exit(1);
    },
    (err) => {
      console.error(`gen:check failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
