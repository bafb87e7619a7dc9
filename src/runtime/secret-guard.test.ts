import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecrets } from './secret-guard';

test('credential shapes are found anywhere in tweaks, reported by node, field and rule (never the value)', () => {
  const found = findSecrets({
    'OpenAIModel-1': { api_key: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345', max_tokens: 256 },
    'HTTP-1': { headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz' }, url: 'https://admin:pw@example.com/x' },
    'AWS-1': { config: ['AKIAABCDEFGHIJKLMNOP'] },
    'Tool-1': { clientSecret: 'not-a-reference-value' },
  });
  assert.deepEqual(found, [
    { nodeId: 'OpenAIModel-1', field: 'api_key', rule: 'openai_style_key' },
    { nodeId: 'HTTP-1', field: 'headers.Authorization', rule: 'authorization_header' },
    { nodeId: 'HTTP-1', field: 'url', rule: 'url_with_credentials' },
    { nodeId: 'AWS-1', field: 'config.0', rule: 'aws_access_key_id' },
    { nodeId: 'Tool-1', field: 'clientSecret', rule: 'secret_field_with_literal_value' },
  ]);
});

test('effective config and references pass: token limits, variable names, vault paths, binding ids, reference fields', () => {
  assert.deepEqual(findSecrets({
    'Prompt-1': { template: 'You are a support agent. Never reveal a password. {question}' },
    'Model-1': { max_tokens: 512, tokens: 3, api_key: 'OPENAI_API_KEY', temperature: 0.2 },
    'Tool-1': { bindingId: 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S8T', secretRef: 'kv/acme/orders', token: '${ORDERS_TOKEN}', password: '' },
    'Retriever-1': { knowledgeBaseIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'], topK: 6 },
    'Vault-1': { credential: 'vault:kv/data/acme#token', apiKeyName: 'orders-api' },
  }), []);
});
