import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiKeyMatches, generateApiKey, hashApiKey, looksLikeApiKey, parseApiKey } from './api-keys';

describe('api keys', () => {
  test('generated key has the ask_<id suffix>_<32 base62> shape and parses back to its id', () => {
    const k = generateApiKey();
    assert.match(k.secret, /^ask_[0-9A-Z]{26}_[0-9A-Za-z]{32}$/);
    assert.match(k.keyId, /^key_[0-9A-Z]{26}$/);
    assert.deepEqual(parseApiKey(k.secret), { keyId: k.keyId, secret: k.secret });
    assert.ok(k.secret.startsWith(k.prefix));
    assert.equal(k.prefix.length, 16);
    assert.ok(looksLikeApiKey(k.secret));
  });

  test('only the sha256 is stored; the stored hash verifies the key and nothing else', () => {
    const k = generateApiKey();
    assert.equal(k.hash, hashApiKey(k.secret));
    assert.match(k.hash, /^[0-9a-f]{64}$/);
    assert.ok(!k.hash.includes(k.secret.slice(-32)));
    assert.equal(apiKeyMatches(k.secret, k.hash), true);
    const other = generateApiKey();
    assert.equal(apiKeyMatches(other.secret, k.hash), false);
    const flipped = k.secret.slice(0, -1) + (k.secret.endsWith('a') ? 'b' : 'a');
    assert.equal(apiKeyMatches(flipped, k.hash), false);
  });

  test('a malformed stored hash never matches', () => {
    const k = generateApiKey();
    assert.equal(apiKeyMatches(k.secret, ''), false);
    assert.equal(apiKeyMatches(k.secret, k.hash.slice(0, 10)), false);
  });

  test('keys are unique and the secret part is not predictable from the id', () => {
    const keys = Array.from({ length: 200 }, generateApiKey);
    assert.equal(new Set(keys.map((k) => k.secret)).size, 200);
    assert.equal(new Set(keys.map((k) => k.secret.slice(-32))).size, 200);
  });

  for (const bad of ['', 'ask_', 'ask_abc_def', 'sk_01JB2Q8R5X7N3K4M6P9T2V0W1Y_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'ask_01JB2Q8R5X7N3K4M6P9T2V0W1Y_aaaa', 'ask_01JB2Q8R5X7N3K4M6P9T2V0W1U_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', `ask_01JB2Q8R5X7N3K4M6P9T2V0W1Y_${'a'.repeat(32)} `]) {
    test(`malformed key ${JSON.stringify(bad.slice(0, 20))}… → parseApiKey undefined`, () => {
      assert.equal(parseApiKey(bad), undefined);
    });
  }
});
