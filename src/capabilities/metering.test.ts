import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capabilityHandlers } from '../../generated/capabilities/handler-registry';
import { meterCredits, meterCreditsExact, meterRun, UsageError } from './metering';
import { capabilityRegistry } from './registry';

const TOKENS = [
  { name: 'tokens_in', credits: 1, per: 1000 },
  { name: 'tokens_out', credits: 4, per: 1000 },
];
const RAG = [
  { name: 'retrievals', credits: 1, per: 1 },
  { name: 'ingested_pages', credits: 1, per: 10 },
];

test('rounding rule: 1 token at 1/1000 costs 1 credit, 1000 cost 1, 1001 cost 2', () => {
  assert.equal(meterCredits(TOKENS, { tokens_in: 1 }), 1);
  assert.equal(meterCredits(TOKENS, { tokens_in: 999 }), 1);
  assert.equal(meterCredits(TOKENS, { tokens_in: 1000 }), 1);
  assert.equal(meterCredits(TOKENS, { tokens_in: 1001 }), 2);
  assert.equal(meterCredits(TOKENS, { tokens_in: 2000 }), 2);
});

test('zero or absent usage costs 0 credits', () => {
  assert.equal(meterCredits(TOKENS, {}), 0);
  assert.equal(meterCredits(TOKENS, { tokens_in: 0, tokens_out: 0 }), 0);
  assert.equal(meterCredits([], { anything: 5 }), 0);
});

test('the round-up happens once per capability over the exact sum, not per dimension', () => {
  // 600 × 1/1000 + 600 × 4/1000 = 3 exactly (per-dimension rounding would charge 1 + 3 = 4)
  assert.equal(meterCredits(TOKENS, { tokens_in: 600, tokens_out: 600 }), 3);
  // 1 + 5/10 = 1.5 → 2, with different denominators
  assert.equal(meterCredits(RAG, { retrievals: 1, ingested_pages: 5 }), 2);
  assert.equal(meterCredits(RAG, { retrievals: 1, ingested_pages: 10 }), 2);
  assert.equal(meterCredits(RAG, { retrievals: 1, ingested_pages: 11 }), 3);
});

test('huge quantities are charged exactly (BigInt, no floating point)', () => {
  const max = Number.MAX_SAFE_INTEGER; // 2^53 − 1: × 4 no longer fits a double exactly
  const exact = (BigInt(max) + BigInt(max) * 4n + 999n) / 1000n;
  assert.equal(meterCreditsExact(TOKENS, { tokens_in: max, tokens_out: max }), exact);
  assert.equal(meterCredits(TOKENS, { tokens_in: max, tokens_out: max }), Number(exact));
  assert.equal(meterCredits(TOKENS, { tokens_out: max }), 36028797018964); // ceil(36028797018963.964)
});

test('a charge above 2^53−1 credits is refused instead of rounded', () => {
  const calls = [{ name: 'tool_calls', credits: 2, per: 1 }];
  assert.throws(() => meterCredits(calls, { tool_calls: Number.MAX_SAFE_INTEGER }), RangeError);
  assert.equal(meterCreditsExact(calls, { tool_calls: Number.MAX_SAFE_INTEGER }), BigInt(Number.MAX_SAFE_INTEGER) * 2n);
});

test('negative, fractional, non-finite, unsafe and non-number quantities are rejected naming the dimension', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, '5', null, true]) {
    assert.throws(
      () => meterCredits(TOKENS, { tokens_in: bad }),
      (err: unknown) => err instanceof UsageError && err.dimension === 'tokens_in' && err.message.includes('tokens_in'),
      `quantity ${String(bad)}`,
    );
  }
});

test('dimensions the capability does not meter are ignored, even malformed ones', () => {
  assert.equal(meterCredits(TOKENS, { tokens_in: 1000, widget_runs: 7, other: -3 }), 1);
});

test('every handler meters exactly by the shared rule over its registry dimensions', () => {
  const usage = { tokens_in: 1234, tokens_out: 567, tool_calls: 3, mcp_calls: 2, handovers: 1, api_runs: 1, chat_runs: 1, widget_runs: 1, images: 2, audio_seconds: 25, retrievals: 3, ingested_pages: 7, scheduled_runs: 1 };
  for (const c of capabilityRegistry().capabilities) {
    const handler = capabilityHandlers[c.id] as { meter(u: Record<string, number>): number };
    assert.equal(handler.meter(usage), meterCredits(c.metering.dimensions, usage), c.id);
    assert.equal(handler.meter({}), 0, `${c.id} with no usage`);
  }
});

test('meterRun sums each capability\'s meter() into lines and a total', () => {
  const r = meterRun(['prompt_orchestrator', 'rag_knowledgebase', 'web_widget', 'guardrails_policy'], {
    tokens_in: 1200,
    tokens_out: 350,
    retrievals: 1,
    widget_runs: 1,
    tool_calls: 9, // tool_connectors is not in this run: ignored
  });
  assert.deepEqual(r.lines, [
    { capability: 'prompt_orchestrator', credits: 3, dimensions: { tokens_in: 1200, tokens_out: 350 } }, // ceil(2.6)
    { capability: 'rag_knowledgebase', credits: 1, dimensions: { retrievals: 1 } },
    { capability: 'web_widget', credits: 1, dimensions: { widget_runs: 1 } },
    { capability: 'guardrails_policy', credits: 0, dimensions: {} },
  ]);
  assert.equal(r.total, 5);
});

test('meterRun refuses unknown and repeated capabilities and bad quantities', () => {
  assert.throws(() => meterRun(['no_such_capability'], {}), /unknown capability/);
  assert.throws(() => meterRun(['web_widget', 'web_widget'], {}), /listed twice/);
  assert.throws(() => meterRun(['web_widget'], { widget_runs: -1 }), UsageError);
});

test('meterRun with no usage charges 0', () => {
  const r = meterRun(capabilityRegistry().capabilities.map((c) => c.id), {});
  assert.equal(r.total, 0);
  assert.equal(r.lines.length, 16);
});
