/**
 * The test server's fidelity, proven with the official `openai` SDK as the client: if the SDK
 * reads its JSON answers, its streams (chunks, usage chunk, [DONE]), its tool calls and its
 * errors as it reads OpenAI's, the platform's own client is tested against the real protocol.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { promptTokensOf, startFakeOpenAi, type FakeOpenAi } from './fake-openai';

const KEY = 'sk-test-fidelity-0123456789';
let server: FakeOpenAi;
let client: OpenAI;

before(async () => {
  server = await startFakeOpenAi({ apiKey: KEY });
  client = new OpenAI({ apiKey: KEY, baseURL: server.baseUrl, maxRetries: 0, timeout: 5_000 });
});
after(() => server.close());
beforeEach(() => server.reset());

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Where is my parcel?' },
];

describe('fake OpenAI server, read by the openai SDK', () => {
  test('a JSON completion: content, finish_reason and usage as the SDK types them', async () => {
    const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0.2, max_tokens: 50 });
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.choices[0].message.content, 'Echo: Where is my parcel?');
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.equal(c.usage?.prompt_tokens, promptTokensOf(messages));
    assert.equal(c.usage?.completion_tokens, 5);
    const seen = server.requests[0];
    assert.equal(seen.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(seen.body, { model: 'gpt-4o-mini', messages, temperature: 0.2, max_tokens: 50 });
  });

  test('a stream with include_usage: deltas, a finish chunk, then the usage chunk with no choices', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finish: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    let emptyChoiceChunks = 0;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.choices.length === 0) emptyChoiceChunks++;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) finish.push(c.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'Echo: Where is my parcel?');
    assert.deepEqual(finish, ['stop']);
    assert.equal(emptyChoiceChunks, 1);
    assert.equal(usage?.prompt_tokens, promptTokensOf(messages));
    assert.equal(usage?.completion_tokens, 5);
    assert.deepEqual(server.requests[0].body.stream_options, { include_usage: true });
  });

  test('a streamed tool call arrives in pieces the SDK stitches together', async () => {
    server.next({ kind: 'tool_call', calls: [{ name: 'orders.lookup', arguments: '{"orderId":"A-1001"}' }] });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      tools: [{ type: 'function', function: { name: 'orders.lookup', parameters: { type: 'object', properties: { orderId: { type: 'string' } } } } }],
    });
    const args: string[] = [];
    let name = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? '';
        args.push(tc.function?.arguments ?? '');
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(name, 'orders.lookup');
    assert.equal(args.join(''), '{"orderId":"A-1001"}');
    assert.equal(finish, 'tool_calls');
  });

  test('429 with retry-after: the SDK raises RateLimitError carrying the header', async () => {
    server.next({ kind: 'status', status: 429, headers: { 'retry-after': '7', 'x-ratelimit-remaining-requests': '0' } });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.headers?.get('retry-after'), '7');
      assert.equal(err.code, 'rate_limit_exceeded');
      return true;
    });
  });

  test('500 and a wrong key: InternalServerError and AuthenticationError', async () => {
    server.next({ kind: 'status', status: 500 });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages }), OpenAI.InternalServerError);
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-000000', baseURL: server.baseUrl, maxRetries: 0 });
    await assert.rejects(wrong.chat.completions.create({ model: 'gpt-4o-mini', messages }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.AuthenticationError);
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
  });

  test('an in-stream error event: the SDK throws an APIError with its message', async () => {
    server.next({ kind: 'stream_error', after: 1, message: 'The model overloaded mid-answer' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) void _;
      })(),
      (err: unknown) => err instanceof OpenAI.APIError && /overloaded mid-answer/.test(err.message),
    );
  });
});
