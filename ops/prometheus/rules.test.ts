/**
 * The alert rules and their promtool unit tests stay in step (promtool itself runs in
 * `npm run ops:prometheus`): every alert has a test where it fires and one where it stays
 * silent, and every metric the rules and the tests name is one the services really expose.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { controlPlaneRegistry } from '../../src/control-plane/metrics';
import type { ControlPlaneDeps } from '../../src/control-plane/deps';
import { createGatewayMetrics } from '../../src/gateway/metrics';
import { createHttpMetrics } from '../../src/platform/http/metrics';
import { projectPath } from '../../src/platform/paths';

interface AlertTest { name: string; input_series: { series: string }[]; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }

const dir = projectPath('ops', 'prometheus');
const rules = parse(readFileSync(join(dir, 'agent-store.rules.yaml'), 'utf8')) as { groups: { rules: { alert?: string; expr: string }[] }[] };
const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
const tests: AlertTest[] = readdirSync(join(dir, 'tests')).filter((f) => f.endsWith('.yaml')).flatMap((f) => {
  const doc = parse(readFileSync(join(dir, 'tests', f), 'utf8')) as { rule_files: string[]; tests: AlertTest[] };
  assert.deepEqual(doc.rule_files, ['../agent-store.rules.yaml'], f);
  return doc.tests;
});

/** Every metric family the services register (request metrics, gateway and control-plane domain metrics, process defaults). */
function exposedMetrics(): Set<string> {
  const gateway = createGatewayMetrics();
  const names = new Set<string>();
  for (const registry of [createHttpMetrics('gateway', gateway.registry).registry, controlPlaneRegistry({} as ControlPlaneDeps)]) {
    for (const m of registry.getMetricsAsArray()) {
      names.add(m.name);
      if (String((m as unknown as { type?: unknown }).type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    }
  }
  return names;
}

test('every alert has a promtool test where it fires and one where it stays silent', () => {
  for (const a of alerts) {
    const cases = tests.flatMap((t) => t.alert_rule_test.filter((c) => c.alertname === a.alert));
    assert.ok(cases.some((c) => c.exp_alerts.length > 0), `${a.alert}: no test where it fires`);
    assert.ok(cases.some((c) => c.exp_alerts.length === 0), `${a.alert}: no test where it stays silent`);
  }
  assert.equal(alerts.length, 18);
});

test('the rules and their tests name only metrics the services expose', () => {
  const exposed = exposedMetrics();
  const used = new Set<string>();
  for (const a of alerts) for (const m of a.expr.matchAll(/\b((?:agentstore|gateway)_[a-z0-9_]+)\s*[{[]/g)) used.add(m[1]!);
  for (const t of tests) for (const s of t.input_series) used.add(s.series.split('{')[0]!);
  const unknown = [...used].filter((n) => !exposed.has(n));
  assert.deepEqual(unknown, []);
});
