/**
 * `npm run gen`: specs/ → generated/, the configuration tree → `.env.example`, and the alert
 * rules → the platform's PrometheusRule. Checks for Java first, generates the whole tree into a
 * temporary folder and only then replaces generated/ with it, so a failure (no Java, a broken
 * spec) leaves generated/ as it was and nothing stale survives a success. Creates a handler
 * skeleton in handlers/<service>/ or capabilities/<id>/ only where none exists (hand-written code
 * is never overwritten).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ENV_EXAMPLE_FILE, renderEnvExample } from './env-example';
import { generate, OUT } from './generate';
import { PROMETHEUS_RULE_FILE, renderPrometheusRule } from './prometheus-rule';
import { requireJava } from './java';

async function main(): Promise<void> {
  const started = Date.now();
  requireJava();
  const stage = mkdtempSync(join(tmpdir(), 'agent-store-gen-'));
  try {
    const { skeletons, log } = await generate(stage);
    rmSync(OUT, { recursive: true, force: true });
    cpSync(stage, OUT, { recursive: true });
    for (const s of skeletons) {
      mkdirSync(dirname(s.file), { recursive: true });
      writeFileSync(s.file, s.content);
    }
    writeFileSync(ENV_EXAMPLE_FILE, renderEnvExample());
    log.push(`${ENV_EXAMPLE_FILE} from the configuration tree`);
    writeFileSync(PROMETHEUS_RULE_FILE, renderPrometheusRule());
    log.push(`${PROMETHEUS_RULE_FILE} from ops/prometheus`);
    for (const line of log) console.log(`gen: ${line}`);
    for (const s of skeletons) console.log(`gen: created skeleton ${s.file} (fill it in)`);
    console.log(`gen: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`gen failed: ${err instanceof Error ? err.message : err}`);
  console.error('gen: generated/ was left untouched.');
  process.exit(1);
});
