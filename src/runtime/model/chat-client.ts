/**
 * A small client for OpenAI-compatible Chat Completions (`POST {baseUrl}/chat/completions`),
 * JSON or streamed (`stream: true` with `stream_options.include_usage`, SSE `data:` chunks ended
 * by `data: [DONE]`, the last chunk carrying `usage`). Written on `fetch` rather than the `openai`
 * SDK because the platform's rules differ from the SDK's: retries only on 429/5xx/network (the
 * SDK also retries 408 and 409), each wait honoured only if it fits the run's deadline (else a
 * 429 goes back to the caller with Retry-After), one abort signal for the deadline and a caller
 * who went away, a stream that breaks or ends early is an error (the SDK ends quietly), a
 * malformed chunk is a clean RUNTIME_ERROR (the SDK prints it to the console), no implicit
 * OPENAI_* environment variables, and keyless local servers (Ollama) need no placeholder key.
 * The SDK is used on the other side, in the tests, to prove the test server speaks the protocol.
 *
 * Errors (details always name `dependency: "model"`, the provider and its HTTP status):
 *   429 after the retries, or a Retry-After beyond the deadline → 429 RATE_LIMITED + Retry-After;
 *   5xx / network after the retries → 502 RUNTIME_UNAVAILABLE; no answer within the provider's
 *   timeout → 504 DEPENDENCY_TIMEOUT; other 4xx, a malformed or broken answer → 502 RUNTIME_ERROR.
 * The API key travels only in the Authorization header and is scrubbed from provider messages.
 */
import { AppError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatToolCall, ChatUsage } from './chat-wire';
import { backoffMs, isRetryableStatus, retryAfterMs } from './retry-policy';
import { readSseEvents } from './sse';

export interface ChatProvider {
  name: string;
  /** The API root (`…/v1`); the client posts to `<baseUrl>/chat/completions`. */
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
}

export interface ChatClientOptions {
  provider: ChatProvider;
  /** The key for this call (environment or secret store); undefined for keyless servers. */
  apiKey: () => Promise<string | undefined>;
  /** Called when the provider refuses the key (401/403), so a cached key is read again. */
  onKeyRefused?: () => void;
  fetch?: typeof fetch;
  log?: Logger;
  /** First backoff step (default 500 ms). */
  retryBaseMs?: number;
  random?: () => number;
}

export interface ChatCallOptions {
  /** The run's signal: aborted at its deadline or when its caller goes away. */
  signal: AbortSignal;
  /** `Date.now()` at which the run's budget ends; a retry whose wait does not fit is not made. */
  deadlineAt: number;
  stream?: boolean;
  /** Each piece of generated text, as it arrives (streamed calls). */
  onDelta?: (text: string) => void;
  requestId?: string;
}

export interface ChatAnswer {
  content: string;
  toolCalls: ChatToolCall[];
  finishReason: string | null;
  /** The provider's own token counts; undefined when it sent none. */
  usage?: ChatUsage;
  model: string;
  attempts: number;
}

const DETAIL_LIMIT = 500;
const ERROR_BODY_LIMIT = 64 * 1024;

/** Retry after `waitMs` (undefined: the default backoff). */
class Retry {
  constructor(readonly reason: string, readonly status?: number, readonly waitMs?: number, readonly providerMessage?: string) {}
}

export class ChatCompletionsClient {
  private readonly fetch: typeof fetch;
  private readonly url: string;

  constructor(private readonly opts: ChatClientOptions) {
    this.fetch = opts.fetch ?? fetch;
    const u = new URL(opts.provider.baseUrl);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/chat/completions`;
    this.url = u.toString();
  }

  get provider(): ChatProvider {
    return this.opts.provider;
  }

  async complete(request: Omit<ChatCompletionRequest, 'stream' | 'stream_options'>, call: ChatCallOptions): Promise<ChatAnswer> {
    const p = this.opts.provider;
    const stream = call.stream === true;
    const body = JSON.stringify({ ...request, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) });
    const base = { dependency: 'model', provider: p.name, model: request.model };
    const log = this.opts.log?.child({ provider: p.name, model: request.model, requestId: call.requestId });
    let last: Retry | undefined;
    let made = 0;
    for (let attempt = 1; attempt <= p.maxRetries + 1; attempt++) {
      if (call.signal.aborted) throw call.signal.reason;
      made = attempt;
      const outcome = await this.attempt(body, stream, call, attempt, base);
      if (!(outcome instanceof Retry)) return { ...outcome, attempts: attempt };
      last = outcome;
      const wait = outcome.waitMs ?? backoffMs(attempt, this.opts.retryBaseMs, this.opts.random);
      const fits = Date.now() + wait < call.deadlineAt;
      if (attempt > p.maxRetries || !fits) break;
      log?.warn({ attempt, reason: outcome.reason, status: outcome.status, waitMs: wait }, 'model call failed; retrying');
      await sleep(wait, call.signal);
    }
    const r = last!;
    const attempts = { attempts: made };
    if (r.status === 429) {
      const waitMs = r.waitMs ?? 1000;
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new AppError('RATE_LIMITED', `The model provider "${p.name}" is rate limiting the platform; try again in ${seconds} s`, {
        ...base, status: 429, retryAfterSeconds: seconds, ...attempts, ...(r.providerMessage ? { providerMessage: r.providerMessage } : {}),
      }, { headers: { 'Retry-After': String(seconds) } });
    }
    throw new AppError('RUNTIME_UNAVAILABLE', `The model provider "${p.name}" is unavailable`, {
      ...base, ...(r.status ? { status: r.status } : { reason: r.reason }), ...attempts, ...(r.providerMessage ? { providerMessage: r.providerMessage } : {}),
    });
  }

  private async attempt(body: string, stream: boolean, call: ChatCallOptions, attempt: number, base: Record<string, unknown>): Promise<Omit<ChatAnswer, 'attempts'> | Retry> {
    const p = this.opts.provider;
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(new Error('model call timed out')), p.timeoutMs);
    const signal = AbortSignal.any([call.signal, timer.signal]);
    const timedOut = () =>
      new AppError('DEPENDENCY_TIMEOUT', `The model provider "${p.name}" did not answer within ${p.timeoutMs} ms`, { ...base, timeoutMs: p.timeoutMs, attempts: attempt });
    try {
      const key = await this.opts.apiKey();
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream' : 'application/json',
        'user-agent': 'agent-store-runner',
      };
      if (key) headers.authorization = `Bearer ${key}`;
      if (call.requestId) headers['x-request-id'] = call.requestId;
      let res: Response;
      try {
        res = await this.fetch(this.url, { method: 'POST', headers, body, signal, redirect: 'error' });
      } catch (err) {
        if (call.signal.aborted) throw call.signal.reason;
        if (timer.signal.aborted) throw timedOut();
        return new Retry(`network: ${(err as any)?.cause?.code ?? (err as Error).name}`);
      }
      if (res.status >= 400) {
        const message = await this.errorMessage(res, key);
        if (isRetryableStatus(res.status)) return new Retry(`status ${res.status}`, res.status, retryAfterMs(res.headers), message);
        if (res.status === 401 || res.status === 403) this.opts.onKeyRefused?.();
        const what = res.status === 401 || res.status === 403 ? 'refused the platform\'s API key' : res.status === 404 ? 'does not know this model or endpoint' : 'refused the request';
        throw new AppError('RUNTIME_ERROR', `The model provider "${p.name}" ${what}${message ? `: ${message}` : ''}`, {
          ...base, status: res.status, attempts: attempt, ...(message ? { providerMessage: message } : {}),
        });
      }
      const type = res.headers.get('content-type') ?? '';
      let emitted = false;
      try {
        if (stream && type.includes('text/event-stream')) {
          return await this.readStream(res, call, base, attempt, key, () => (emitted = true));
        }
        return this.readJson(await res.text(), base, attempt, key, call);
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (call.signal.aborted) throw call.signal.reason;
        if (timer.signal.aborted) throw timedOut();
        // The connection broke mid-answer: safe to ask again only if nothing reached the caller yet.
        if (!emitted) return new Retry(`network while reading: ${(err as any)?.cause?.code ?? (err as Error).name}`);
        throw new AppError('RUNTIME_ERROR', `The model provider "${p.name}" broke off its answer`, { ...base, attempts: attempt, reason: 'stream_broken' });
      }
    } finally {
      clearTimeout(handle);
    }
  }

  private readJson(text: string, base: Record<string, unknown>, attempt: number, key: string | undefined, call: ChatCallOptions): Omit<ChatAnswer, 'attempts'> {
    let doc: ChatCompletion;
    try {
      doc = JSON.parse(text);
    } catch {
      throw this.malformed(base, attempt, 'the answer is not JSON');
    }
    const choice = doc?.choices?.[0];
    if (!choice || typeof choice.message !== 'object' || choice.message === null) {
      const err = (doc as any)?.error;
      if (err) throw this.providerError(base, attempt, err, key);
      throw this.malformed(base, attempt, 'the answer has no choices[0].message');
    }
    const content = typeof choice.message.content === 'string' ? choice.message.content : '';
    if (content) call.onDelta?.(content);
    return {
      content,
      toolCalls: Array.isArray(choice.message.tool_calls) ? choice.message.tool_calls.filter(validToolCall) : [],
      finishReason: choice.finish_reason ?? null,
      usage: usageOf(doc.usage),
      model: typeof doc.model === 'string' ? doc.model : String(base.model),
    };
  }

  private async readStream(res: Response, call: ChatCallOptions, base: Record<string, unknown>, attempt: number, key: string | undefined, onEmit: () => void): Promise<Omit<ChatAnswer, 'attempts'>> {
    if (!res.body) throw this.malformed(base, attempt, 'the stream has no body');
    let content = '';
    let finishReason: string | null = null;
    let usage: ChatUsage | undefined;
    let model = String(base.model);
    let done = false;
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    const body = res.body as unknown as AsyncIterable<Uint8Array>;
    try {
      for await (const ev of readSseEvents(body)) {
        if (ev.data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: ChatCompletionChunk;
        try {
          chunk = JSON.parse(ev.data);
        } catch {
          throw this.malformed(base, attempt, 'a stream chunk is not JSON');
        }
        if ((chunk as any)?.error) throw this.providerError(base, attempt, (chunk as any).error, key);
        if (!chunk || typeof chunk !== 'object' || !Array.isArray(chunk.choices)) throw this.malformed(base, attempt, 'a stream chunk has no choices');
        if (typeof chunk.model === 'string') model = chunk.model;
        const u = usageOf(chunk.usage);
        if (u) usage = u;
        const choice = chunk.choices.find((c) => c?.index === 0) ?? chunk.choices[0];
        if (!choice) continue;
        const text = choice.delta?.content;
        if (typeof text === 'string' && text) {
          content += text;
          onEmit();
          call.onDelta?.(text);
        }
        for (const tc of choice.delta?.tool_calls ?? []) {
          const slot = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
          if (tc.id) slot.id = tc.id;
          if (tc.function?.name) slot.name += tc.function.name;
          if (tc.function?.arguments) slot.arguments += tc.function.arguments;
          calls.set(tc.index, slot);
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
    } finally {
      if (!done) await res.body.cancel().catch(() => undefined);
    }
    // A server may close right after the usage chunk without [DONE]; one that closes before the
    // last choice finished broke off its answer.
    if (!done && finishReason === null) {
      if (content) throw new AppError('RUNTIME_ERROR', `The model provider "${this.opts.provider.name}" ended its stream before the answer was complete`, { ...base, attempts: attempt, reason: 'stream_ended_early' });
      throw new Error('stream ended before any output');
    }
    const toolCalls: ChatToolCall[] = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, c]) => ({ id: c.id || `call_${i}`, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }))
      .filter(validToolCall);
    return { content, toolCalls, finishReason, usage, model };
  }

  private malformed(base: Record<string, unknown>, attempt: number, reason: string): AppError {
    return new AppError('RUNTIME_ERROR', `The model provider "${this.opts.provider.name}" sent a malformed answer (${reason})`, { ...base, attempts: attempt, reason: 'malformed' });
  }

  private providerError(base: Record<string, unknown>, attempt: number, err: any, key: string | undefined): AppError {
    const message = this.scrub(typeof err === 'string' ? err : typeof err?.message === 'string' ? err.message : JSON.stringify(err), key);
    return new AppError('RUNTIME_ERROR', `The model provider "${this.opts.provider.name}" failed: ${message}`, { ...base, attempts: attempt, providerMessage: message });
  }

  /** The provider's error message (`error.message`, FastAPI's `detail`, or plain text), scrubbed and cut short. */
  private async errorMessage(res: Response, key: string | undefined): Promise<string | undefined> {
    let text = '';
    try {
      const reader = res.body?.getReader();
      const decoder = new TextDecoder();
      let size = 0;
      while (reader) {
        const { value, done } = await reader.read();
        if (done) break;
        size += value.byteLength;
        text += decoder.decode(value, { stream: true });
        if (size > ERROR_BODY_LIMIT) {
          await reader.cancel().catch(() => undefined);
          break;
        }
      }
    } catch {
      /* an unreadable error body: the status says enough */
    }
    let message = text.trim();
    try {
      const doc = JSON.parse(text);
      const m = doc?.error?.message ?? doc?.error ?? doc?.detail ?? doc?.message;
      if (typeof m === 'string') message = m;
      else if (m !== undefined) message = JSON.stringify(m);
    } catch {
      /* not JSON */
    }
    return message ? this.scrub(message, key) : undefined;
  }

  private scrub(message: string, key: string | undefined): string {
    let m = key ? message.split(key).join('[redacted]') : message;
    m = m.replace(/\s+/g, ' ').trim();
    return m.length > DETAIL_LIMIT ? `${m.slice(0, DETAIL_LIMIT)}…` : m;
  }
}

function usageOf(u: unknown): ChatUsage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const { prompt_tokens: pin, completion_tokens: pout } = u as Record<string, unknown>;
  const ok = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!ok(pin) && !ok(pout)) return undefined;
  return { prompt_tokens: ok(pin) ? Math.round(pin as number) : 0, completion_tokens: ok(pout) ? Math.round(pout as number) : 0 };
}

function validToolCall(tc: unknown): tc is ChatToolCall {
  const t = tc as ChatToolCall;
  return !!t && typeof t === 'object' && typeof t.function?.name === 'string' && t.function.name !== '' && typeof t.function.arguments === 'string';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
