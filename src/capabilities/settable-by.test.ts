import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registryCertifier } from '../catalog/certifier';
import { AppError } from '../platform/errors';
import { capabilityRegistry } from './registry';
import { assertSettable, lockedFields } from './settable-by';

test('a buyer cannot lower the per-run budget or reach private networks; the refusal names the field', () => {
  const overrides = {
    credits_wallet: { estimatedBudgetPerRun: 1, lowBalanceThreshold: 5 },
    tool_connectors: { allowPrivateNetworks: true, allowedHosts: ['127.0.0.1'], allowedTools: [] },
    api_endpoint: { maxInputChars: 100000 },
  };
  assert.deepEqual(
    lockedFields(overrides, 'buyer').map((f) => `${f.capability}${f.path}`),
    ['credits_wallet/estimatedBudgetPerRun', 'tool_connectors/allowPrivateNetworks', 'tool_connectors/allowedHosts', 'api_endpoint/maxInputChars'],
  );
  assert.throws(
    () => assertSettable(overrides, 'buyer'),
    (err: unknown) =>
      err instanceof AppError && err.code === 'CONFIG_FIELD_LOCKED' && err.status === 422 &&
      err.details?.capability === 'credits_wallet' && err.details?.field === '/estimatedBudgetPerRun' && (err.details?.fields as unknown[]).length === 4,
  );
});

test('buyer-settable fields pass; removing a locked value with null is setting it too', () => {
  assert.doesNotThrow(() => assertSettable({ credits_wallet: { lowBalanceThreshold: 5, notifyOnLowBalance: false }, prompt_orchestrator: { systemPrompt: 'x', historyTurns: 2 } }, 'buyer'));
  assert.equal(lockedFields({ credits_wallet: { maxCreditsPerRun: null } }, 'buyer').length, 1);
});

test('an operator may set every field; a plan or publisher may not open private networks', () => {
  const all = { tool_connectors: { allowPrivateNetworks: true, allowedHosts: ['10.0.0.1'] }, credits_wallet: { estimatedBudgetPerRun: 1 } };
  assert.deepEqual(lockedFields(all, 'operator'), []);
  assert.deepEqual(lockedFields(all, 'plan').map((f) => f.path), ['/allowPrivateNetworks']);
  assert.deepEqual(lockedFields(all, 'publisher').map((f) => f.path), ['/allowPrivateNetworks']);
});

test('a locked value the overrides already held (set by an operator) may be sent back unchanged, not changed', () => {
  const previous = { tool_connectors: { allowedHosts: ['api.acme.example'] } };
  assert.deepEqual(lockedFields({ tool_connectors: { allowedHosts: ['api.acme.example'] } }, 'buyer', previous), []);
  assert.equal(lockedFields({ tool_connectors: { allowedHosts: ['127.0.0.1'] } }, 'buyer', previous).length, 1);
});

test('every x-settable-by in the registry includes the operator, and the budgets and network fields are locked', () => {
  const locked = new Set<string>();
  for (const c of capabilityRegistry().capabilities) {
    for (const [k, p] of Object.entries((c.configSchema.properties ?? {}) as Record<string, any>)) {
      if (p['x-settable-by']) {
        assert.ok(p['x-settable-by'].includes('operator'), `${c.id}.${k}`);
        if (!p['x-settable-by'].includes('buyer')) locked.add(`${c.id}.${k}`);
      }
    }
  }
  for (const f of ['credits_wallet.estimatedBudgetPerRun', 'credits_wallet.maxCreditsPerRun', 'tool_connectors.allowPrivateNetworks', 'tool_connectors.allowedHosts', 'api_endpoint.maxInputChars', 'web_widget.maxInputChars']) {
    assert.ok(locked.has(f), `${f} is not buyer-settable`);
  }
});

test('certification refuses plan or offering defaults that set a field their layer may not', () => {
  const errors = registryCertifier().check(
    [{ id: 'tool_connectors', v: 1, defaults: { allowPrivateNetworks: true } }, { id: 'credits_wallet', v: 1 }],
    [{ id: 'starter', name: 'S', includedCredits: 0, limits: {}, defaults: { tool_connectors: { allowPrivateNetworks: true, allowedHosts: ['api.example.com'] } } }],
  );
  assert.deepEqual(
    errors.filter((e) => e.code === 'CONFIG_FIELD_LOCKED').map((e) => `${e.plan ?? '-'} ${e.capability}${e.path}`),
    ['- tool_connectors/allowPrivateNetworks', 'starter tool_connectors/allowPrivateNetworks'],
  );
});
