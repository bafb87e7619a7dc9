import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSseParser, type SseEvent } from './sse';

const parse = (chunks: string[]) => {
  const out: SseEvent[] = [];
  const p = createSseParser((e) => out.push(e));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
};

test('the gateway\'s run stream: start, deltas, done', () => {
  const body = 'event: start\ndata: {"runId":"run_1"}\n\nevent: delta\ndata: {"text":"Hel"}\n\nevent: delta\ndata: {"text":"lo"}\n\nevent: done\ndata: {"runId":"run_1","output":{"text":"Hello"}}\n\n';
  assert.deepEqual(parse([body]).map((e) => e.event), ['start', 'delta', 'delta', 'done']);
  assert.deepEqual(JSON.parse(parse([body])[3]!.data), { runId: 'run_1', output: { text: 'Hello' } });
});

test('events split anywhere across chunks, CRLF/CR line ends, comments and multi-line data', () => {
  const body = ': keep-alive\r\nevent: delta\r\ndata: {"text":\r\ndata: "x"}\r\n\r\nevent:delta\rdata:{"text":"y"}\r\r';
  for (const size of [1, 2, 3, 7, body.length]) {
    const chunks: string[] = [];
    for (let i = 0; i < body.length; i += size) chunks.push(body.slice(i, i + size));
    const events = parse(chunks);
    assert.deepEqual(events, [{ event: 'delta', data: '{"text":\n"x"}' }, { event: 'delta', data: '{"text":"y"}' }], `chunk size ${size}`);
  }
});

test('an event without data is not dispatched; an unterminated last event is dropped', () => {
  assert.deepEqual(parse(['event: ping\n\n', 'event: delta\ndata: {"text":"cut"}']), []);
  assert.deepEqual(parse(['data: plain\n\n']), [{ event: 'message', data: 'plain' }]);
});
