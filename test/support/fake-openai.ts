/**
 * A local server speaking the OpenAI Chat Completions protocol, for tests. Written from:
 * - OpenAI API reference, "Create chat completion" (`POST /v1/chat/completions`: `model`,
 *   `messages`, `temperature`, `top_p`, `max_tokens`, `stream`, `stream_options.include_usage`, `tools`),
 *   "The chat completion object" and "The chat completion chunk object" (with `include_usage`
 *   every chunk carries `"usage": null` and one last chunk has `"choices": []` and the usage);
 *   the streaming guide (`data: {json}\n\n` events, ended by `data: [DONE]\n\n`);
 *   the error codes guide (`{"error":{"message","type","param","code"}}`; 401
 *   `invalid_api_key`, 429 `rate_limit_exceeded` with `retry-after`/`x-ratelimit-*` headers,
 *   500 `server_error`).
 * - The `openai` npm SDK (v6): src/resources/chat/completions/completions.ts (types),
 *   src/core/streaming.ts (how a client reads the stream: SSEDecoder, `[DONE]`, `data.error`),
 *   src/client.ts (`retry-after-ms` and `retry-after`).
 * - OpenAI API reference "Create transcription" (`POST /v1/audio/transcriptions`, multipart
 *   `file` + `model`, answering `{"text": …}`) and "Create speech" (`POST /v1/audio/speech`, JSON
 *   `{model, input, voice, response_format}`, answering the audio bytes); user messages whose
 *   `content` is a list of parts (`text`, `image_url`, `input_audio`, `file`) as in the SDK's
 *   src/resources/chat/completions/completions.ts `ChatCompletionContentPart`, and its
 *   src/resources/audio/transcriptions.ts and speech.ts.
 * The SDK itself is pointed at this server in fake-openai.test.ts to prove the fidelity.
 * Speech refuses a voice that is not one of the built-in voices (400 `invalid_value`), as the API does.
 * Transcriptions answer `transcript` (or "Heard <n> bytes of <type>."); speech answers a silent
 * 8 kHz mono 16-bit WAV lasting one second per 20 characters of `input` (rounded up) — only
 * `response_format: "wav"` is produced (others answer 400).
 *
 * The default answer is deterministic: "Echo: <last user message>", streamed word by word;
 * `prompt_tokens` is the number of characters of all messages divided by 4 (rounded up) plus 3
 * per message — deliberately not the platform's own estimate, so tests can tell whose count a
 * run reports. Tests queue special behaviour for the next requests with `next(...)`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const VOICES = new Set(['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse', 'marin', 'cedar']);

export type Behaviour =
  | { kind: 'text'; text: string; finishReason?: 'stop' | 'length'; usage?: false }
  | { kind: 'tool_call'; calls: { name: string; arguments: string }[] }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'delay'; ms: number; then?: Behaviour }
  /** Streams the first `after` words of the answer, then writes a chunk that is not JSON. */
  | { kind: 'malformed'; after?: number }
  /** Streams the first `after` words, then destroys the connection. */
  | { kind: 'break'; after?: number }
  /** Streams the first `after` words, then an in-stream `{"error": …}` event. */
  | { kind: 'stream_error'; after?: number; message: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Streams with this pause between chunks (ms). */
  | { kind: 'slow_stream'; gapMs: number; text?: string };

export interface SeenRequest {
  headers: IncomingMessage['headers'];
  /** JSON bodies as parsed; a transcription's form as `{model, response_format, file: {name, type, size, bytes}}`. */
  body: any;
  path: string;
  at: number;
}

/** A silent PCM WAV (8 kHz, mono, 16-bit) of `seconds`: RIFF header, `fmt ` and `data` chunks. */
export function silentWav(seconds: number, sampleRate = 8000): Buffer {
  const data = Math.round(seconds * sampleRate) * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(data, 40);
  return b;
}

/** The text of a message's content: a string, or the `text` parts of a list. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.filter((p) => p?.type === 'text').map((p) => String(p.text)).join('\n');
  return '';
}

export interface FakeOpenAi {
  url: string;
  /** The API root as clients configure it (`<url>/v1`). */
  baseUrl: string;
  requests: SeenRequest[];
  /** Behaviour for the next requests, in order; afterwards the default echo answer. */
  next(...b: Behaviour[]): void;
  /** Resolves when a request's connection closed before its answer ended (a client abort). */
  aborted(): Promise<void>;
  abortedCount(): number;
  reset(): void;
  close(): Promise<void>;
}

export function promptTokensOf(messages: { content?: unknown }[]): number {
  const chars = messages.reduce((n, m) => n + textOf(m.content).length, 0);
  return Math.ceil(chars / 4) + 3 * messages.length;
}

const FINGERPRINT = 'fp_7fcd609668';

export async function startFakeOpenAi(opts: { apiKey?: string; transcript?: string } = {}): Promise<FakeOpenAi> {
  const queue: Behaviour[] = [];
  const requests: SeenRequest[] = [];
  let aborts = 0;
  let abortWaiters: (() => void)[] = [];
  let seq = 0;

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = new URL(req.url!, 'http://x').pathname;
    if (opts.apiKey && path.startsWith('/v1/audio/') && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      return error(res, 401, "You didn't provide an API key.", 'invalid_request_error', 'invalid_api_key');
    }
    if (req.method === 'POST' && path === '/v1/audio/transcriptions') return transcription(req, Buffer.concat(chunks), res);
    let body: any;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return error(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    requests.push({ headers: req.headers, body, path, at: Date.now() });
    if (req.method === 'POST' && path === '/v1/audio/speech') return speech(body, res);
    res.on('close', () => {
      if (!res.writableFinished) {
        aborts++;
        for (const w of abortWaiters) w();
        abortWaiters = [];
      }
    });
    if (req.method !== 'POST' || new URL(req.url!, 'http://x').pathname !== '/v1/chat/completions') {
      return error(res, 404, `Invalid URL (${req.method} ${req.url})`, 'invalid_request_error', null);
    }
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      const given = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      const masked = given ? `${given.slice(0, 3)}*****${given.slice(-4)}` : '';
      return error(res, 401, given ? `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.` : "You didn't provide an API key.", 'invalid_request_error', 'invalid_api_key');
    }
    if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
      return error(res, 400, "Missing required parameter: 'model' or 'messages'.", 'invalid_request_error', 'missing_required_parameter');
    }
    await behave(queue.shift() ?? { kind: 'text', text: `Echo: ${lastUser(body.messages)}` }, body, res);
  });

  function lastUser(messages: any[]): string {
    for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return textOf(messages[i].content);
    return '';
  }

  async function transcription(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    let form: FormData;
    try {
      form = await new Request('http://x', { method: 'POST', headers: { 'content-type': String(req.headers['content-type'] ?? '') }, body: new Uint8Array(raw) }).formData();
    } catch {
      return error(res, 400, 'Could not parse multipart form', 'invalid_request_error', null);
    }
    const file = form.get('file');
    const model = form.get('model');
    if (!(file instanceof Blob) || typeof model !== 'string') return error(res, 400, "Missing required parameter: 'file' or 'model'.", 'invalid_request_error', 'missing_required_parameter');
    const bytes = Buffer.from(await file.arrayBuffer());
    requests.push({ headers: req.headers, path: '/v1/audio/transcriptions', at: Date.now(), body: { model, response_format: form.get('response_format'), file: { name: (file as File).name, type: file.type, size: bytes.length, bytes } } });
    const next = queue.shift();
    if (next?.kind === 'status') return behave(next, { model }, res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ text: opts.transcript ?? `Heard ${bytes.length} bytes of ${file.type}.`, usage: { type: 'duration', seconds: 1 } }));
  }

  function speech(body: any, res: ServerResponse): void {
    if (typeof body.model !== 'string' || typeof body.input !== 'string' || (typeof body.voice !== 'string' && typeof body.voice !== 'object')) {
      return error(res, 400, "Missing required parameter: 'model', 'input' or 'voice'.", 'invalid_request_error', 'missing_required_parameter');
    }
    // The built-in voices (SDK src/resources/audio/speech.ts `SpeechCreateParams.voice`), or a custom voice `{ id }`.
    const custom = typeof body.voice === 'object' && body.voice !== null && typeof body.voice.id === 'string';
    if (!custom && !VOICES.has(body.voice)) {
      return error(res, 400, `Invalid value: '${body.voice}'. Supported values are: ${[...VOICES].map((v) => `'${v}'`).join(', ')}.`, 'invalid_request_error', 'invalid_value');
    }
    const format = body.response_format ?? 'mp3';
    if (format !== 'wav') return error(res, 400, `This server produces response_format "wav" only (asked: ${format}).`, 'invalid_request_error', null);
    const next = queue.shift();
    if (next?.kind === 'status') return void behave(next, body, res);
    const wav = silentWav(Math.ceil(body.input.length / 20));
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': String(wav.length) });
    res.end(wav);
  }

  function error(res: ServerResponse, status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type, param: null, code } }, null, 2) + '\n');
  }

  async function behave(b: Behaviour, body: any, res: ServerResponse): Promise<void> {
    switch (b.kind) {
      case 'delay':
        await new Promise((r) => setTimeout(r, b.ms));
        if (res.destroyed) return;
        return behave(b.then ?? { kind: 'text', text: `Echo: ${lastUser(body.messages)}` }, body, res);
      case 'hang':
        return;
      case 'status': {
        res.writeHead(b.status, { 'content-type': 'application/json', ...(b.headers ?? {}) });
        const fallback =
          b.status === 429
            ? { error: { message: `Rate limit reached for ${body.model} in organization org-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.`, type: 'requests', param: null, code: 'rate_limit_exceeded' } }
            : b.status >= 500
              ? { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } }
              : { error: { message: 'Bad request', type: 'invalid_request_error', param: null, code: null } };
        res.end(JSON.stringify(b.body ?? fallback));
        return;
      }
      default:
        return answer(b, body, res);
    }
  }

  async function answer(b: Behaviour, body: any, res: ServerResponse): Promise<void> {
    const id = `chatcmpl-${(++seq).toString(36).padStart(6, '0')}AbCdEf`;
    const created = Math.floor(Date.now() / 1000);
    const model = body.model;
    const text = b.kind === 'text' ? b.text : b.kind === 'slow_stream' ? (b.text ?? `Echo: ${lastUser(body.messages)}`) : b.kind === 'tool_call' ? '' : `Echo: ${lastUser(body.messages)}`;
    let pieces = text ? text.split(/(?<= )/) : [];
    if (typeof body.max_tokens === 'number' && pieces.length > body.max_tokens) pieces = pieces.slice(0, body.max_tokens);
    const finishReason = b.kind === 'tool_call' ? 'tool_calls' : b.kind === 'text' && b.finishReason ? b.finishReason : pieces.length < (text ? text.split(/(?<= )/).length : 0) ? 'length' : 'stop';
    const toolCalls = b.kind === 'tool_call' ? b.calls.map((c, i) => ({ id: `call_${seq}${i}Xy`, type: 'function', function: { name: c.name, arguments: c.arguments } })) : undefined;
    const usage = {
      prompt_tokens: promptTokensOf(body.messages),
      completion_tokens: pieces.length + (toolCalls ? 7 * toolCalls.length : 0),
      total_tokens: 0,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const withUsage = !(b.kind === 'text' && b.usage === false);

    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'openai-processing-ms': '12', 'x-request-id': `req_${seq}` });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: toolCalls ? null : pieces.join(''), refusal: null, annotations: [], ...(toolCalls ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: finishReason }],
          ...(withUsage ? { usage } : {}),
          service_tier: 'default',
          system_fingerprint: FINGERPRINT,
        }),
      );
      return;
    }

    const includeUsage = body.stream_options?.include_usage === true && withUsage;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: FINGERPRINT, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
    const write = async (s: string) => {
      if (res.destroyed) return false;
      // Resolved once the bytes are handed to the socket, so a later break happens after them.
      await new Promise<void>((r) => res.write(s, () => r()));
      if (b.kind === 'slow_stream') await new Promise((r) => setTimeout(r, b.gapMs));
      return !res.destroyed;
    };
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': `req_${seq}` });
    if (!(await write(chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])))) return;
    const stopAt = b.kind === 'malformed' || b.kind === 'break' || b.kind === 'stream_error' ? (b.after ?? 2) : pieces.length;
    for (const [i, piece] of pieces.entries()) {
      if (i >= stopAt) break;
      if (!(await write(chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }])))) return;
    }
    if (b.kind === 'malformed') {
      res.write('data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oops\n\n');
      res.end();
      return;
    }
    if (b.kind === 'break') {
      await new Promise((r) => setTimeout(r, 20)); // let the client read what was sent
      res.socket?.destroy();
      return;
    }
    if (b.kind === 'stream_error') {
      res.write(`data: ${JSON.stringify({ error: { message: b.message, type: 'server_error', param: null, code: null } })}\n\n`);
      res.end();
      return;
    }
    if (toolCalls) {
      for (const [i, tc] of toolCalls.entries()) {
        await write(chunk([{ index: 0, delta: { tool_calls: [{ index: i, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }] }, logprobs: null, finish_reason: null }]));
        // Arguments arrive in pieces, as OpenAI streams them.
        const args = tc.function.arguments;
        const half = Math.ceil(args.length / 2);
        await write(chunk([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: args.slice(0, half) } }] }, logprobs: null, finish_reason: null }]));
        await write(chunk([{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: args.slice(half) } }] }, logprobs: null, finish_reason: null }]));
      }
    }
    await write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]));
    if (includeUsage) await write(chunk([], { usage }));
    if (!res.destroyed) res.end('data: [DONE]\n\n');
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    requests,
    next: (...b) => queue.push(...b),
    aborted: () => new Promise<void>((r) => abortWaiters.push(r)),
    abortedCount: () => aborts,
    reset() {
      queue.length = 0;
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
