import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults } from '../../src/capabilities/config-defaults';
import { handoverTrigger } from './triggers';

const cfg = (c: Record<string, unknown>) => withDefaults('human_handover', { provider: 'email' as const, email: 'support@acme.example', ...c });

test('triggers.onUserRequest: asking for a person hands over, in English and German; mentioning one does not', () => {
  const c = cfg({ triggers: { keywords: [] } });
  for (const t of ['I want to talk to a human agent', 'Can I speak with a real person?', 'please connect me to someone from support', 'Ich möchte mit einem Menschen sprechen', 'I need a human']) assert.equal(handoverTrigger(c, t), 'user_request', t);
  for (const t of ['How do I return an item?', 'The agent in the shop said it was fine']) assert.equal(handoverTrigger(c, t), undefined, t);
  assert.equal(handoverTrigger(cfg({ triggers: { onUserRequest: false, keywords: [] } }), 'I want to talk to a human agent'), undefined);
});

test('triggers.keywords: a keyword as a whole word, case-insensitively', () => {
  const c = cfg({ triggers: { onUserRequest: false, keywords: ['escalate', 'Beschwerde'] } });
  assert.equal(handoverTrigger(c, 'I want to ESCALATE this'), 'keyword');
  assert.equal(handoverTrigger(c, 'Ich habe eine beschwerde'), 'keyword');
  assert.equal(handoverTrigger(c, 'escalated already'), undefined);
});
