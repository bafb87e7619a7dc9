/**
 * `npm run ops:prometheus` (CI): the alerting rules as Prometheus itself reads them.
 *
 * 1. `promtool check rules ops/prometheus/*.rules.yaml`
 * 2. `promtool test rules ops/prometheus/tests/*.yaml` — every alert fires on the failure it names
 *    and stays silent otherwise (ops/prometheus/rules.test.ts checks both cases exist)
 * 3. `promtool check metrics` on the /metrics of each of the five services, started in this
 *    process after a few requests (refusals included), so every metric family has samples
 * 4. prints the alert × test table
 *
 * promtool comes from Debian's `prometheus` package (.ci/run installs it when missing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import { projectPath } from '../src/platform/paths';
import { startStack } from '../src/stack';

const dir = projectPath('ops', 'prometheus');
const ruleFiles = readdirSync(dir).filter((f) => f.endsWith('.rules.yaml')).map((f) => join(dir, f));
const testFiles = readdirSync(join(dir, 'tests')).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, 'tests', f));

function promtool(args: string[], input?: string): { ok: boolean; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: dir });
  if (r.error) throw new Error(`promtool is not available (${r.error.message}); install Debian's prometheus package`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

async function metricsOfEveryService(): Promise<{ service: string; text: string }[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentstore-metrics-'));
  const config = loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir, SEED_DEMO: '0', CP_PORT: '0', GATEWAY_PORT: '0', CONNECTOR_GATEWAY_PORT: '0', RUNNER_PORT: '0', PROVISIONER_PORT: '0' });
  const stack = await startStack(config, createLogger({ level: 'silent' }));
  try {
    const out: { service: string; text: string }[] = [];
    for (const { name, url } of stack.apps) {
      await fetch(`${url}/no-such-route`);
      await fetch(`${url}/healthz`);
      out.push({ service: name, text: await (await fetch(`${url}/metrics`)).text() });
    }
    // Refusals with an operation on the busiest services, so labelled series exist.
    const cp = stack.apps.find((a) => a.name === 'control-plane')!.url;
    await fetch(`${cp}/billing/authorize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    out[0] = { service: 'control-plane', text: await (await fetch(`${cp}/metrics`)).text() };
    return out;
  } finally {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function alertTable(): string {
  const rows: string[] = ['| alert | fires when | stays silent when |', '|---|---|---|'];
  const tests = testFiles.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests);
  const rules = ruleFiles.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { groups: { rules: { alert?: string }[] }[] }).groups.flatMap((g) => g.rules));
  for (const r of rules.filter((x) => x.alert)) {
    const mine = tests.filter((t) => t.alert_rule_test.some((c) => c.alertname === r.alert));
    const fire = mine.filter((t) => t.alert_rule_test.some((c) => c.exp_alerts.length > 0)).map((t) => t.name.split(': ').slice(1).join(': '));
    const silent = mine.filter((t) => t.alert_rule_test.every((c) => c.exp_alerts.length === 0)).map((t) => t.name.split(': ').slice(1).join(': '));
    rows.push(`| ${r.alert} | ${fire.join('; ') || '—'} | ${silent.join('; ') || '—'} |`);
  }
  return rows.join('\n');
}

async function main(): Promise<number> {
  let failed = false;
  const step = (title: string, r: { ok: boolean; output: string }) => {
    console.log(`ops:prometheus: ${title}: ${r.ok ? 'ok' : 'FAILED'}`);
    if (r.output) console.log(r.output.replace(/^/gm, '  '));
    if (!r.ok) failed = true;
  };
  console.log(execFileSync('promtool', ['--version'], { encoding: 'utf8' }).split('\n')[0]);
  step('promtool check rules', promtool(['check', 'rules', ...ruleFiles]));
  step('promtool test rules', promtool(['test', 'rules', ...testFiles]));
  for (const { service, text } of await metricsOfEveryService()) {
    const r = promtool(['check', 'metrics'], text);
    // `check metrics` prints one line per problem and exits non-zero on any.
    step(`promtool check metrics (${service}, ${text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples)`, { ok: r.ok && r.output === '', output: r.output });
  }
  console.log('\n' + alertTable());
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error('ops:prometheus failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
