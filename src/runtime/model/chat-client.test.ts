/**
 * The Chat Completions client against a local server speaking the protocol byte for byte
 * (test/support/fake-openai.ts, itself checked with the official SDK): JSON and SSE answers,
 * the usage chunk, [DONE], 429 with Retry-After, 500, a slow first byte, a malformed chunk, a
 * broken stream, a wrong key, a caller that goes away. Every failure is a typed AppError and
 * nothing hangs: each test bounds itself with the client's own deadline.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AppError } from '../../platform/errors';
import { promptTokensOf, startFakeOpenAi, type FakeOpenAi } from '../../../test/support/fake-openai';
import { ChatCompletionsClient, type ChatClientOptions } from './chat-client';
import type { ChatMessage } from './chat-wire';
import { backoffMs, retryAfterMs } from './retry-policy';

const KEY = 'sk-live-client-test-9f8e7d6c5b4a';
let server: FakeOpenAi;

before(async () => {
  server = await startFakeOpenAi({ apiKey: KEY });
});
after(() => server.close());
beforeEach(() => server.reset());

const messages: ChatMessage[] = [
  { role: 'system', content: 'You are a support agent.' },
  { role: 'user', content: 'Where is my parcel?' },
];

function client(over: Partial<ChatClientOptions['provider']> = {}, extra: Partial<ChatClientOptions> = {}) {
  return new ChatCompletionsClient({
    provider: { name: 'test', baseUrl: server.baseUrl, timeoutMs: 5_000, maxRetries: 2, ...over },
    apiKey: async () => KEY,
    retryBaseMs: 10,
    random: () => 0.5,
    ...extra,
  });
}

const call = (over: Partial<Parameters<ChatCompletionsClient['complete']>[1]> = {}) => ({ signal: new AbortController().signal, deadlineAt: Date.now() + 10_000, ...over });

const isCode = (code: string, check?: (e: AppError) => void) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  check?.(e);
  return true;
};

describe('ChatCompletionsClient', () => {
  test('JSON answer: content, finish reason and the provider\'s token counts; the request is the protocol\'s', async () => {
    const a = await client().complete({ model: 'gpt-4o-mini', messages, temperature: 0.3, max_tokens: 64 }, call());
    assert.equal(a.content, 'Echo: Where is my parcel?');
    assert.equal(a.finishReason, 'stop');
    assert.deepEqual(a.usage, { prompt_tokens: promptTokensOf(messages), completion_tokens: 5 });
    assert.equal(a.attempts, 1);
    const seen = server.requests[0];
    assert.equal(seen.headers.authorization, `Bearer ${KEY}`);
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.deepEqual(seen.body, { model: 'gpt-4o-mini', messages, temperature: 0.3, max_tokens: 64 });
  });

  test('streamed answer: deltas in order, usage from the final chunk, include_usage requested', async () => {
    const deltas: string[] = [];
    const a = await client().complete({ model: 'gpt-4o-mini', messages }, call({ stream: true, onDelta: (t) => deltas.push(t) }));
    assert.deepEqual(deltas, ['Echo: ', 'Where ', 'is ', 'my ', 'parcel?']);
    assert.equal(a.content, deltas.join(''));
    assert.deepEqual(a.usage, { prompt_tokens: promptTokensOf(messages), completion_tokens: 5 });
    assert.equal(server.requests[0].body.stream, true);
    assert.deepEqual(server.requests[0].body.stream_options, { include_usage: true });
    assert.equal(server.requests[0].headers.accept, 'text/event-stream');
  });

  test('a stream without a usage chunk: the answer stands, usage is unknown (the caller estimates)', async () => {
    server.next({ kind: 'text', text: 'No counts here', usage: false });
    const a = await client().complete({ model: 'm', messages }, call({ stream: true }));
    assert.equal(a.content, 'No counts here');
    assert.equal(a.usage, undefined);
  });

  test('tool calls: JSON and streamed (arguments stitched from pieces)', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'orders_lookup', parameters: { type: 'object' } } }];
    server.next({ kind: 'tool_call', calls: [{ name: 'orders_lookup', arguments: '{"orderId":"A-1"}' }] });
    const json = await client().complete({ model: 'm', messages, tools }, call());
    assert.equal(json.finishReason, 'tool_calls');
    assert.deepEqual(json.toolCalls.map((t) => [t.function.name, t.function.arguments]), [['orders_lookup', '{"orderId":"A-1"}']]);
    server.next({ kind: 'tool_call', calls: [{ name: 'orders_lookup', arguments: '{"orderId":"B-22"}' }, { name: 'faq_search', arguments: '{"q":"returns"}' }] });
    const streamed = await client().complete({ model: 'm', messages, tools }, call({ stream: true }));
    assert.deepEqual(streamed.toolCalls.map((t) => [t.function.name, t.function.arguments]), [['orders_lookup', '{"orderId":"B-22"}'], ['faq_search', '{"q":"returns"}']]);
    assert.ok(streamed.toolCalls.every((t) => t.id.startsWith('call_')));
    assert.deepEqual(server.requests[0].body.tools, tools);
  });

  test('429 with Retry-After (ms form) is retried and then succeeds', async () => {
    server.next({ kind: 'status', status: 429, headers: { 'retry-after-ms': '30' } });
    const a = await client().complete({ model: 'm', messages }, call());
    assert.equal(a.attempts, 2);
    assert.equal(server.requests.length, 2);
    assert.ok(server.requests[1].at - server.requests[0].at >= 25, 'waited what the provider asked');
  });

  test('429 with Retry-After in seconds is honoured too', async () => {
    server.next({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const a = await client().complete({ model: 'm', messages }, call());
    assert.equal(a.attempts, 2);
    assert.ok(server.requests[1].at - server.requests[0].at >= 950);
  });

  test('429 whose Retry-After does not fit the deadline: 429 RATE_LIMITED at once, with Retry-After', async () => {
    server.next({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    await assert.rejects(client().complete({ model: 'm', messages }, call({ deadlineAt: Date.now() + 3_000 })), isCode('RATE_LIMITED', (e) => {
      assert.equal(e.status, 429);
      assert.equal(e.headers?.['Retry-After'], '30');
      assert.equal(e.details?.status, 429);
      assert.equal(e.details?.provider, 'test');
      assert.equal(e.details?.retryAfterSeconds, 30);
      assert.equal(e.details?.attempts, 1);
      assert.match(String(e.details?.providerMessage), /Rate limit reached/);
    }));
    assert.equal(server.requests.length, 1);
  });

  test('429 on every attempt: retried maxRetries times, then RATE_LIMITED', async () => {
    server.next(...[1, 2, 3].map(() => ({ kind: 'status' as const, status: 429, headers: { 'retry-after-ms': '5' } })));
    await assert.rejects(client().complete({ model: 'm', messages }, call()), isCode('RATE_LIMITED', (e) => assert.equal(e.details?.attempts, 3)));
    assert.equal(server.requests.length, 3);
  });

  test('500 is retried; persistent 500 → 502 RUNTIME_UNAVAILABLE with the provider status', async () => {
    server.next({ kind: 'status', status: 500 });
    assert.equal((await client().complete({ model: 'm', messages }, call())).attempts, 2);
    server.reset();
    server.next(...[1, 2, 3].map(() => ({ kind: 'status' as const, status: 503 })));
    await assert.rejects(client().complete({ model: 'm', messages }, call()), isCode('RUNTIME_UNAVAILABLE', (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.details?.status, 503);
      assert.equal(e.details?.attempts, 3);
    }));
  });

  test('4xx is never retried: 400 and 404 → RUNTIME_ERROR with the provider message', async () => {
    server.next({ kind: 'status', status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } });
    await assert.rejects(client().complete({ model: 'm', messages }, call()), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.status, 400);
      assert.match(String(e.details?.providerMessage), /maximum context length/);
    }));
    assert.equal(server.requests.length, 1);
    server.next({ kind: 'status', status: 404, body: { error: { message: 'The model `nope` does not exist', type: 'invalid_request_error', param: null, code: 'model_not_found' } } });
    await assert.rejects(client().complete({ model: 'nope', messages }, call()), isCode('RUNTIME_ERROR', (e) => assert.equal(e.details?.status, 404)));
    assert.equal(server.requests.length, 2);
  });

  test('a refused key: RUNTIME_ERROR 401, not retried, the cached key is dropped, the key never appears', async () => {
    let refused = 0;
    const c = client({}, { apiKey: async () => 'sk-wrong-000000000000', onKeyRefused: () => refused++ });
    await assert.rejects(c.complete({ model: 'm', messages }, call()), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.status, 401);
      assert.doesNotMatch(JSON.stringify({ m: e.message, d: e.details }), /sk-wrong-000000000000/);
    }));
    assert.equal(refused, 1);
    assert.equal(server.requests.length, 1);
  });

  test('a provider echoing the key in an error gets it scrubbed', async () => {
    server.next({ kind: 'status', status: 400, body: { error: { message: `bad request for key ${KEY}` } } });
    await assert.rejects(client().complete({ model: 'm', messages }, call()), isCode('RUNTIME_ERROR', (e) => {
      assert.doesNotMatch(JSON.stringify({ m: e.message, d: e.details }), new RegExp(KEY));
      assert.match(String(e.details?.providerMessage), /\[redacted\]/);
    }));
  });

  test('slow first byte within the timeout: answered', async () => {
    server.next({ kind: 'delay', ms: 300 });
    const a = await client({ timeoutMs: 2_000 }).complete({ model: 'm', messages }, call({ stream: true }));
    assert.equal(a.content, 'Echo: Where is my parcel?');
  });

  test('slow first byte beyond the provider timeout: 504 DEPENDENCY_TIMEOUT, not retried, no hang', async () => {
    server.next({ kind: 'hang' });
    const started = Date.now();
    await assert.rejects(client({ timeoutMs: 1_000 }).complete({ model: 'm', messages }, call({ stream: true })), isCode('DEPENDENCY_TIMEOUT', (e) => {
      assert.equal(e.status, 504);
      assert.equal(e.details?.timeoutMs, 1_000);
    }));
    assert.equal(server.requests.length, 1);
    assert.ok(Date.now() - started < 4_000);
  });

  test('a malformed stream chunk: clean RUNTIME_ERROR, never a hang', async () => {
    server.next({ kind: 'malformed', after: 2 });
    const deltas: string[] = [];
    await assert.rejects(client().complete({ model: 'm', messages }, call({ stream: true, onDelta: (t) => deltas.push(t) })), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.reason, 'malformed');
    }));
    assert.deepEqual(deltas, ['Echo: ', 'Where ']);
    assert.equal(server.requests.length, 1, 'not retried after output was sent');
  });

  test('a malformed JSON answer: RUNTIME_ERROR', async () => {
    server.next({ kind: 'status', status: 200, body: 'not json at all' });
    await assert.rejects(client().complete({ model: 'm', messages }, call()), isCode('RUNTIME_ERROR', (e) => assert.equal(e.details?.reason, 'malformed')));
  });

  test('a stream broken after output: RUNTIME_ERROR stream_broken (no retry: output already went out)', async () => {
    server.next({ kind: 'break', after: 3 });
    const deltas: string[] = [];
    await assert.rejects(client().complete({ model: 'm', messages }, call({ stream: true, onDelta: (t) => deltas.push(t) })), isCode('RUNTIME_ERROR', (e) => {
      assert.match(String(e.details?.reason), /stream_(broken|ended_early)/);
    }));
    assert.equal(deltas.length, 3);
    assert.equal(server.requests.length, 1);
  });

  test('a stream broken before any output is retried', async () => {
    server.next({ kind: 'break', after: 0 });
    const a = await client().complete({ model: 'm', messages }, call({ stream: true }));
    assert.equal(a.attempts, 2);
  });

  test('an error event inside the stream: RUNTIME_ERROR with the provider message', async () => {
    server.next({ kind: 'stream_error', after: 1, message: 'overloaded' });
    await assert.rejects(client().complete({ model: 'm', messages }, call({ stream: true })), isCode('RUNTIME_ERROR', (e) => assert.equal(e.details?.providerMessage, 'overloaded')));
  });

  test('the provider down (connection refused): retried, then 502 RUNTIME_UNAVAILABLE', async () => {
    const closed = await startFakeOpenAi();
    const port = new URL(closed.url).port;
    await closed.close();
    const c = new ChatCompletionsClient({ provider: { name: 'down', baseUrl: `http://127.0.0.1:${port}/v1`, timeoutMs: 2_000, maxRetries: 1 }, apiKey: async () => undefined, retryBaseMs: 5 });
    await assert.rejects(c.complete({ model: 'm', messages }, call()), isCode('RUNTIME_UNAVAILABLE', (e) => {
      assert.equal(e.details?.reason, 'network: ECONNREFUSED');
      assert.equal(e.details?.attempts, 2);
    }));
  });

  test('the caller going away aborts the upstream request', async () => {
    server.next({ kind: 'slow_stream', gapMs: 200, text: 'one two three four five six seven eight' });
    const ac = new AbortController();
    const before = server.abortedCount();
    const closed = server.aborted();
    const p = client().complete({ model: 'm', messages }, call({ stream: true, signal: ac.signal, onDelta: () => ac.abort(new Error('gone')) }));
    await assert.rejects(p, /gone/);
    await closed;
    assert.equal(server.abortedCount(), before + 1);
    assert.equal(server.requests.length, 1);
  });

  test('a keyless server gets no Authorization header', async () => {
    const open = await startFakeOpenAi();
    try {
      const c = new ChatCompletionsClient({ provider: { name: 'ollama', baseUrl: open.baseUrl, timeoutMs: 2_000, maxRetries: 0 }, apiKey: async () => undefined });
      await c.complete({ model: 'llama3.2', messages }, call());
      assert.equal(open.requests[0].headers.authorization, undefined);
    } finally {
      await open.close();
    }
  });
});

describe('retry policy', () => {
  test('retry-after-ms wins, then Retry-After seconds or an HTTP date', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now), 5_000);
    assert.equal(retryAfterMs(new Headers({})), undefined);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
  });

  test('backoff doubles from the base up to 8 s, with jitter of ±25 %', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, 500, () => 0.5)), [500, 1000, 2000, 4000, 8000, 8000]);
    assert.equal(backoffMs(1, 1000, () => 0), 750);
    assert.equal(backoffMs(1, 1000, () => 1), 1250);
  });
});
