/**
 * gitops/argocd/notifications-cm.yaml loads in notifications-engine: decoded with its Go types
 * (src/gitops/argocd-notifications-config.ts), every trigger sends a template that exists, every
 * template targets a configured webhook service, and the ApplicationSet subscribes only to
 * triggers and services that exist.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { projectPath } from '../platform/paths';
import { goDecodeErrors, parseNotificationsConfig, WEBHOOK_OPTIONS } from './argocd-notifications-config';

const cm = parse(readFileSync(projectPath('gitops', 'argocd', 'notifications-cm.yaml'), 'utf8')) as { data: Record<string, string> };
const secret = { 'cp-url': 'https://cp.agentstore.example.com', 'agentstore-webhook-token': 'x'.repeat(32) };

test('the checked-in notifications config decodes without a single error, as notifications-engine reads it', () => {
  const cfg = parseNotificationsConfig(cm.data, secret);
  assert.deepEqual(cfg.errors, []);
  const svc = cfg.services['agentstore-cp']!;
  assert.equal(svc.options.url, 'https://cp.agentstore.example.com/integrations/argocd/notifications');
  assert.equal(svc.options.retryMax, 5);
  assert.equal(svc.options.retryWaitMax, 30_000_000_000, 'time.Duration in nanoseconds: 30 s');
  assert.ok(!('retryWaitMin' in svc.options) || Number.isInteger(svc.options.retryWaitMin));
});

test('every trigger sends templates that exist, and each template targets a configured webhook service', () => {
  const cfg = parseNotificationsConfig(cm.data, secret);
  assert.deepEqual(Object.keys(cfg.triggers).sort(), ['on-deployed', 'on-health-degraded', 'on-sync-failed']);
  for (const [name, conditions] of Object.entries(cfg.triggers)) {
    for (const c of conditions) {
      assert.ok(c.when, `${name}: a condition without when`);
      for (const t of c.send ?? []) {
        assert.ok(cfg.templates[t], `${name} sends unknown template ${t}`);
        for (const service of Object.keys(cfg.templates[t]!.webhook ?? {})) assert.ok(cfg.services[service], `${t} targets unknown service ${service}`);
      }
    }
  }
  assert.equal(cfg.templates['agentstore-app-status']!.webhook!['agentstore-cp']!.method, 'POST');
});

test('the ApplicationSet subscribes instances only to triggers and services that exist', () => {
  const cfg = parseNotificationsConfig(cm.data, secret);
  const appset = parse(readFileSync(projectPath('gitops', 'argocd', 'applicationset.yaml'), 'utf8'));
  const subs = Object.keys(appset.spec.template.metadata.annotations).filter((k) => k.startsWith('notifications.argoproj.io/subscribe.'));
  assert.equal(subs.length, 3);
  for (const key of subs) {
    const [trigger, service] = key.slice('notifications.argoproj.io/subscribe.'.length).split('.');
    assert.ok(cfg.triggers[trigger!], key);
    assert.ok(cfg.services[service!], key);
  }
});

test('durations written as strings ("1s") are refused exactly as Go refuses them; other type slips too', () => {
  const broken = { ...cm.data, 'service.webhook.agentstore-cp': cm.data['service.webhook.agentstore-cp']!.replace('retryWaitMax: 30000000000', 'retryWaitMin: 1s\nretryWaitMax: 30s') };
  assert.deepEqual(parseNotificationsConfig(broken, secret).errors, [
    'service.webhook.agentstore-cp: json: cannot unmarshal string into Go struct field WebhookOptions.retryWaitMin of type time.Duration',
    'service.webhook.agentstore-cp: json: cannot unmarshal string into Go struct field WebhookOptions.retryWaitMax of type time.Duration',
  ]);
  assert.deepEqual(goDecodeErrors({ retryMax: 2.5 }, WEBHOOK_OPTIONS), ['json: cannot unmarshal number 2.5 into Go struct field WebhookOptions.retryMax of type int']);
  assert.deepEqual(goDecodeErrors({ RetryMax: '5' }, WEBHOOK_OPTIONS), ['json: cannot unmarshal string into Go struct field WebhookOptions.retryMax of type int'], 'keys match case-insensitively');
  assert.deepEqual(goDecodeErrors({ insecureSkipVerify: 'yes' }, WEBHOOK_OPTIONS), ['json: cannot unmarshal string into Go struct field WebhookOptions.insecureSkipVerify of type bool']);
  assert.deepEqual(goDecodeErrors({ headers: { name: 'x' } }, WEBHOOK_OPTIONS), ['json: cannot unmarshal object into Go struct field WebhookOptions.headers of type []Header']);
  assert.deepEqual(goDecodeErrors({ unknownField: 'ignored', retryWaitMin: 1000000000, idleConnTimeout: '90s' }, WEBHOOK_OPTIONS), []);
  const badTrigger = { ...cm.data, 'trigger.on-deployed': '- send: agentstore-app-status\n  when: "true"' };
  assert.match(parseNotificationsConfig(badTrigger, secret).errors.join('\n'), /trigger.on-deployed: json: cannot unmarshal string into Go struct field Condition.send of type \[\]string/);
});
