/**
 * A Runner test double that speaks the Runner's contract exactly — `POST /v1/runs` of
 * specs/runner.openapi.yaml (executeRun): a RunnerRunRequest in; with `Accept: text/event-stream`
 * a `200 text/event-stream` of `delta` events (`{"text"}`), then one `result` (a RunnerRunResult)
 * or one `error` (`{"error":{code,message,details},"usage":{"dimensions"}}`), each event an
 * `event:` line and one `data:` line (the WHATWG "Server-sent events" framing); errors before
 * the stream are canonical JSON error answers; without the Accept header, the JSON
 * RunnerRunResult. A client that disconnects is noticed (`aborted` in the request log), as the
 * real Runner stops its runtime then.
 *
 * Scripted by the run's input text:
 *   `words:N`        N deltas of one word each, then the result (usage counts the words)
 *   `slow:N`         N deltas 30 ms apart (long enough to disconnect in the middle)
 *   `fail-after:N`   N deltas, then an `error` event RUNTIME_ERROR with the usage so far
 *   `fail-empty`     an `error` event at once, usage empty (nothing consumed)
 *   `break:N`        N deltas, then the connection is cut (no result, no error)
 *   `refuse`         422 ARTIFACT_INTEGRITY_FAILED as JSON, before any stream
 *   `huge`           one delta, then a result reporting 10,000,000 output tokens
 *   anything else    "echo: <text>" in two deltas
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  body: any;
  accept: string | undefined;
  requestId: string | undefined;
  /** The client went away before the answer ended. */
  aborted: boolean;
}

export interface RunnerDouble {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRunnerDouble(): Promise<RunnerDouble> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const body = JSON.parse(raw);
    const entry: SeenRequest = { body, accept: req.headers.accept, requestId: req.headers['x-request-id'] as string | undefined, aborted: false };
    seen.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    const text: string = body.input?.text ?? body.input?.message?.content ?? '';
    const [script, arg] = text.split(':');
    const n = Number(arg ?? 0);
    const tokensIn = text.split(/\s+/).length + (body.history ?? []).length;
    const problem = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code, message, traceId: entry.requestId ?? 'none' } }));
    };
    if (script === 'refuse') return problem(422, 'ARTIFACT_INTEGRITY_FAILED', 'The artifact does not match its sha256');

    const words: string[] =
      script === 'words' || script === 'slow' || script === 'fail-after' || script === 'break' ? Array.from({ length: n }, (_, i) => `w${i} `)
        : script === 'huge' ? ['big ']
          : script === 'fail-empty' ? []
            : ['echo: ', text];
    const result = (out: string, tokensOut: number) => ({
      runId: body.runId,
      output: { text: out },
      usage: { dimensions: { tokens_in: tokensIn, tokens_out: tokensOut, runs: 1 } },
      runtime: { name: 'builtin', flowId: body.flowId, sessionId: body.sessionId ?? null, attempts: 1 },
      durationMs: 1,
    });
    const tokensOut = script === 'huge' ? 10_000_000 : words.length;

    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(result(words.join(''), tokensOut)));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let sent = '';
    for (const w of words) {
      if (res.destroyed) return;
      send('delta', { text: w });
      sent += w;
      if (script === 'slow') await sleep(30);
    }
    if (script === 'break') {
      await sleep(50); // the deltas reach the gateway first
      return res.socket?.destroy();
    }
    if (script === 'fail-after' || script === 'fail-empty') {
      send('error', { error: { code: 'RUNTIME_ERROR', message: 'The model failed mid-answer' }, usage: { dimensions: script === 'fail-empty' ? {} : { tokens_in: tokensIn, tokens_out: words.length } } });
      return res.end();
    }
    send('result', result(sent, tokensOut));
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
