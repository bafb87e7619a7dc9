/** maxOutputTokens from a hold, in the registry's own rates (prompt_orchestrator: 1 per 1000 in, 4 per 1000 out). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meterRun } from '../capabilities/metering';
import { maxOutputTokensFor } from './run-budget';

const caps = ['prompt_orchestrator', 'chat_ui', 'credits_wallet'];

test('the largest output whose run still costs at most the hold', () => {
  const base = { tokens_in: 500, chat_runs: 1 };
  const max = maxOutputTokensFor(10, caps, base)!;
  assert.ok(meterRun(caps, { ...base, tokens_out: max }).total <= 10);
  assert.ok(meterRun(caps, { ...base, tokens_out: max + 1 }).total > 10);
  assert.equal(max, 2125); // 1 credit for the chat run; ceil((500 + 4·t)/1000) ≤ 9 → t ≤ 2125
});

test('0 when even no output fits the hold; no cap when output costs nothing', () => {
  assert.equal(maxOutputTokensFor(1, caps, { tokens_in: 10, chat_runs: 1 }), 0);
  assert.equal(maxOutputTokensFor(5, ['chat_ui'], { chat_runs: 1 }), undefined);
});
