/**
 * The Langflow adapter against a local server answering in Langflow's response shape
 * (`/api/v1/run/{flowId}`, `x-api-key`, FastAPI `detail` errors, `stream=true` events).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { AppError } from '../platform/errors';
import { LangflowRuntime, withSystemInstructions } from './langflow-runtime';
import { basicFlow, flowExport, flowNode, runInput } from './testing';
import { countTokens } from './tokens';
import type { Tweaks } from './types';

const API_KEY = 'lf-test-key-0123456789abcdef';
const FLOW_ID = '7c1e2f3a-9b8d-4c6e-a5f4-3e2d1c0b9a87';

/** Langflow's non-streamed run response, as 1.x answers it. */
function runResponse(text: string, sessionId: string, extra: { usage?: Record<string, number> } = {}) {
  const properties = { text_color: '', background_color: '', edited: false, source: { id: 'OpenAIModel-sz6xc', display_name: 'OpenAI', source: 'gpt-4o-mini' }, icon: 'OpenAI', allow_markdown: false, positive_feedback: null, state: 'complete', targets: [], ...(extra.usage ? { usage: extra.usage } : {}) };
  const message = { timestamp: '2025-02-28T22:04:19+00:00', sender: 'Machine', sender_name: 'AI', session_id: sessionId, text, files: [], error: false, edit: false, properties, category: 'message', content_blocks: [], id: 'ddef2cca-236f-4b68-8bcb-a9e7acb21cf2', flow_id: FLOW_ID };
  return {
    session_id: sessionId,
    outputs: [
      {
        inputs: { input_value: 'hello' },
        outputs: [
          {
            results: { message: { text_key: 'text', data: message, default_value: '', ...message } },
            artifacts: { message: text, sender: 'Machine', sender_name: 'AI', files: [], type: 'object' },
            outputs: { message: { message: text, type: 'text' } },
            logs: { message: [] },
            messages: [{ message: text, sender: 'Machine', sender_name: 'AI', session_id: sessionId, stream_url: null, component_id: 'ChatOutput-Zx9Yw', files: [], type: 'message' }],
            timedelta: null,
            duration: null,
            component_display_name: 'Chat Output',
            component_id: 'ChatOutput-Zx9Yw',
            used_frozen_result: false,
          },
        ],
      },
    ],
  };
}

interface Seen { url: string; headers: IncomingMessage['headers']; body: any }
let server: Server;
let base = '';
let seen: Seen[] = [];
let counters: Record<string, number> = {};

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

before(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    seen.push({ url: req.url!, headers: req.headers, body });
    const url = new URL(req.url!, 'http://x');
    const m = /^\/api\/v1\/run\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || !m) return json(res, 404, { detail: 'Not Found' });
    if (req.headers['x-api-key'] !== API_KEY) return json(res, 403, { detail: 'An API key must be passed as query or header' });
    const flow = decodeURIComponent(m[1]);
    const n = (counters[flow] = (counters[flow] ?? 0) + 1);
    const session = body.session_id ?? 'f3b4c6de-0000-4000-8000-000000000001';
    switch (flow) {
      case FLOW_ID:
      case 'support-bot':
        return json(res, 200, runResponse(`Echo: ${body.input_value}`, session));
      case 'with-usage':
        return json(res, 200, runResponse('Counted.', session, { usage: { input_tokens: 321, output_tokens: 45, total_tokens: 366 } }));
      case 'messages-only':
        return json(res, 200, { session_id: session, outputs: [{ inputs: {}, outputs: [{ results: {}, messages: [{ message: 'From messages', sender: 'Machine' }] }] }] });
      case 'data-text-only':
        return json(res, 200, { session_id: session, outputs: [{ inputs: {}, outputs: [{ results: { message: { text_key: 'text', data: { text: 'From data.text' } } } }] }] });
      case 'bad-input':
        return json(res, 422, { detail: [{ type: 'missing', loc: ['body', 'input_value'], msg: 'Field required', input: null }] });
      case 'bad-tweaks':
        return json(res, 400, { detail: 'Invalid tweaks: node Prompt-xyz not found in flow' });
      case 'flaky':
        return n === 1 ? json(res, 503, { detail: 'Service Unavailable' }) : json(res, 200, runResponse('Second time lucky', session));
      case 'down':
        return json(res, 503, { detail: 'database is locked' });
      case 'flow-error':
        return json(res, 500, { detail: 'Error running graph: tool create_ticket failed' });
      case 'drop-once':
        if (n === 1) return req.socket.destroy();
        return json(res, 200, runResponse('After a dropped connection', session));
      case 'hang':
        return; // never answers
      case 'stream': {
        assert.equal(url.searchParams.get('stream'), 'true');
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const ev = (event: string, data: unknown) => res.write(`${JSON.stringify({ event, data })}\n\n`);
        ev('add_message', { sender: 'User', sender_name: 'User', session_id: session, text: body.input_value });
        ev('add_message', { sender: 'Machine', sender_name: 'AI', session_id: session, text: '' });
        for (const chunk of ['Streamed', ' answer', ' here']) ev('token', { chunk, id: 'm1', timestamp: '2025-03-03 17:20:18 UTC' });
        ev('end', { result: runResponse('Streamed answer here', session) });
        return res.end();
      }
      case 'stream-error': {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`${JSON.stringify({ event: 'token', data: { chunk: 'Part' } })}\n\n`);
        res.write(`${JSON.stringify({ event: 'error', data: { error: 'Error building Component OpenAI: quota exceeded' } })}\n\n`);
        return res.end();
      }
      default:
        return json(res, 404, { detail: `Flow identifier ${flow} not found` });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  seen = [];
  counters = {};
});

/** A logger whose lines the test can read. */
function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
  return { log, lines };
}

const runtime = (over: Partial<ConstructorParameters<typeof LangflowRuntime>[0]> = {}) =>
  new LangflowRuntime({ url: `${base}/`, apiKey: API_KEY, retryDelayMs: 10, ...over });

const isCode = (code: string, check?: (e: AppError) => void) => (e: unknown) => {
  assert.ok(e instanceof AppError, `expected AppError ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  assert.doesNotMatch(JSON.stringify({ m: e.message, d: e.details }), new RegExp(API_KEY));
  check?.(e);
  return true;
};

describe('LangflowRuntime', () => {
  test('POSTs Langflow\'s run body with x-api-key and reads outputs[0].outputs[0].results.message.text', async () => {
    const tweaks = { 'Prompt-a1B2c': { template: 'Be brief. {question}' }, 'Retriever-k9Xy1': { knowledgeBaseIds: ['kb_01J9ZK8J1K2M3N4P5Q6R7S8T9V'], topK: 6 } };
    const r = await runtime().run(runInput(basicFlow(), { flowId: FLOW_ID, tweaks, sessionId: 'ses_1' }));
    assert.equal(r.output.text, 'Echo: How long do I have to return an item?');
    assert.equal(r.runtime, 'langflow');
    assert.equal(r.attempts, 1);
    assert.equal(r.sessionId, 'ses_1');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].url, `/api/v1/run/${FLOW_ID}?stream=false`);
    assert.equal(seen[0].headers['x-api-key'], API_KEY);
    assert.equal(seen[0].headers['x-request-id'], 'req-test');
    assert.deepEqual(seen[0].body, { input_value: 'How long do I have to return an item?', input_type: 'chat', output_type: 'chat', tweaks, session_id: 'ses_1' });
    // No usage in Langflow's answer: the documented estimate over input and output text.
    assert.deepEqual(r.usage, { tokens_in: countTokens('How long do I have to return an item?'), tokens_out: countTokens(r.output.text), runs: 1 });
  });

  test('token usage Langflow reports in message properties wins over the estimate', async () => {
    const r = await runtime().run(runInput(basicFlow(), { flowId: 'with-usage' }));
    assert.deepEqual(r.usage, { tokens_in: 321, tokens_out: 45, runs: 1 });
  });

  test('the response variants Langflow emits are tolerated (messages[0].message, results.message.data.text)', async () => {
    assert.equal((await runtime().run(runInput(basicFlow(), { flowId: 'messages-only' }))).output.text, 'From messages');
    assert.equal((await runtime().run(runInput(basicFlow(), { flowId: 'data-text-only' }))).output.text, 'From data.text');
  });

  test('no or wrong API key → 403 → RUNTIME_ERROR "Langflow refused the API key", no retry', async () => {
    await assert.rejects(runtime({ apiKey: undefined }).run(runInput(basicFlow(), { flowId: FLOW_ID })), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.message, 'Langflow refused the API key');
      assert.equal(e.details?.status, 403);
    }));
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headers['x-api-key'], undefined);
  });

  test('unknown flow → 404 → RUNTIME_ERROR naming the flow', async () => {
    await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: 'no-such-flow' })), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.status, 404);
      assert.equal(e.details?.flowId, 'no-such-flow');
    }));
    assert.equal(seen.length, 1);
  });

  test('422/400 → RUNTIME_ERROR carrying Langflow\'s detail', async () => {
    await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: 'bad-input' })), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.status, 422);
      assert.equal(e.details?.detail, 'body.input_value: Field required');
    }));
    await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: 'bad-tweaks' })), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.status, 400);
      assert.match(e.message, /Invalid tweaks: node Prompt-xyz not found in flow/);
    }));
    assert.equal(seen.length, 2);
  });

  test('a 500 (an error inside the flow) is RUNTIME_ERROR with the detail, never retried', async () => {
    await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: 'flow-error' })), isCode('RUNTIME_ERROR', (e) => {
      assert.equal(e.details?.status, 500);
      assert.match(String(e.details?.detail), /tool create_ticket failed/);
    }));
    assert.equal(seen.length, 1, 'a tool in the flow may already have written: no second attempt');
  });

  test('503 then success → one retry, attempts 2', async () => {
    const r = await runtime().run(runInput(basicFlow(), { flowId: 'flaky' }));
    assert.equal(r.output.text, 'Second time lucky');
    assert.equal(r.attempts, 2);
    assert.equal(seen.length, 2);
  });

  test('a dropped connection is retried once', async () => {
    const r = await runtime().run(runInput(basicFlow(), { flowId: 'drop-once' }));
    assert.equal(r.output.text, 'After a dropped connection');
    assert.equal(r.attempts, 2);
  });

  test('two 503s → RUNTIME_UNAVAILABLE after exactly one retry', async () => {
    await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: 'down' })), isCode('RUNTIME_UNAVAILABLE', (e) => {
      assert.equal(e.details?.attempts, 2);
      assert.equal(e.details?.status, 503);
    }));
    assert.equal(seen.length, 2);
  });

  test('Langflow unreachable → RUNTIME_UNAVAILABLE after one retry', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(runtime({ url: `http://127.0.0.1:${port}` }).run(runInput(basicFlow())), isCode('RUNTIME_UNAVAILABLE', (e) => assert.equal(e.details?.reason, 'network')));
  });

  test('a hanging Langflow → DEPENDENCY_TIMEOUT at the run\'s budget, not retried', async () => {
    const started = Date.now();
    await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: 'hang', timeoutMs: 300 })), isCode('DEPENDENCY_TIMEOUT', (e) => assert.equal(e.details?.timeoutMs, 300)));
    assert.ok(Date.now() - started < 3_000);
    assert.equal(seen.length, 1);
  });

  test('the adapter\'s own ceiling (60 s by default) caps a longer run budget', async () => {
    await assert.rejects(runtime({ timeoutMs: 200 }).run(runInput(basicFlow(), { flowId: 'hang', timeoutMs: 60_000 })), isCode('DEPENDENCY_TIMEOUT'));
  });

  test('stream=true: reads add_message/token/end events; the end event\'s result is the answer', async () => {
    const r = await runtime({ stream: true }).run(runInput(basicFlow(), { flowId: 'stream' }));
    assert.equal(r.output.text, 'Streamed answer here');
    assert.equal(seen[0].url, '/api/v1/run/stream?stream=true');
  });

  test('stream=true: an error event → RUNTIME_ERROR with its message', async () => {
    await assert.rejects(runtime({ stream: true }).run(runInput(basicFlow(), { flowId: 'stream-error' })), isCode('RUNTIME_ERROR', (e) => assert.match(e.message, /quota exceeded/)));
  });

  test('tweaks that look like secrets are refused before anything is sent', async () => {
    for (const tweaks of <Tweaks[]>[
      { 'OpenAIModel-1': { api_key: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345' } },
      { 'HTTP-1': { headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz' } } },
      { 'Tool-1': { password: 'hunter2-but-longer' } },
    ]) {
      await assert.rejects(runtime().run(runInput(basicFlow(), { flowId: FLOW_ID, tweaks })), isCode('INVALID_CONFIG', (e) => {
        assert.doesNotMatch(JSON.stringify(e.details), /sk-proj|hunter2|abcdefghij/);
      }));
    }
    assert.equal(seen.length, 0);
    // References are fine: a Langflow global variable name, a vault path, a binding id.
    await runtime().run(runInput(basicFlow(), { flowId: FLOW_ID, tweaks: { 'OpenAIModel-1': { api_key: 'OPENAI_API_KEY', max_tokens: 256 }, 'Tool-1': { secretRef: 'vault:kv/acme/orders', bindingId: 'bind_01J9ZK7H0J1K2M3N4P5Q6R7S8T' } } }));
    assert.equal(seen.length, 1);
  });

  test('the API key never reaches a log line', async () => {
    const { log, lines } = capture();
    const rt = runtime({ log });
    await rt.run(runInput(basicFlow(), { flowId: 'flaky' }));
    await assert.rejects(rt.run(runInput(basicFlow(), { flowId: 'down' })));
    await assert.rejects(rt.run(runInput(basicFlow(), { flowId: 'nope' })));
    assert.ok(lines.length >= 3, 'the retries were logged');
    for (const l of lines) assert.doesNotMatch(l, new RegExp(API_KEY));
  });
});

test('capability instructions are appended to every system_message of the flow, after the node\'s own', () => {
  const model = flowNode('OpenAIModel-1', 'OpenAIModel', { system_message: 'Be brief.', max_tokens: 10 });
  const other = flowNode('ChatInput-1', 'ChatInput', { input_value: '' });
  const t = withSystemInstructions(flowExport([model, other], []), { 'OpenAIModel-1': { temperature: 0 } }, ['Reply in German (de).']);
  assert.deepEqual(t, { 'OpenAIModel-1': { temperature: 0, system_message: 'Be brief.\n\nReply in German (de).' } });
  assert.deepEqual(withSystemInstructions(flowExport([model], []), {}, undefined), {});
});
