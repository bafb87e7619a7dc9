/**
 * The audio endpoints of an OpenAI-compatible provider (OpenAI API reference "Create
 * transcription" and "Create speech"; field names as in the `openai` SDK's
 * src/resources/audio/transcriptions.ts and src/resources/audio/speech.ts):
 *
 * - `POST {base}/audio/transcriptions`, multipart/form-data with `file` and `model`
 *   (`response_format` json) → `{"text": …}`;
 * - `POST {base}/audio/speech`, JSON `{model, input, voice, response_format}` → the audio bytes
 *   (`response_format` one of mp3, opus, aac, flac, wav, pcm; the platform's `ogg` is Ogg Opus).
 *
 * One attempt per call within the provider's timeout and the run's signal (a failed call voids the
 * run; it is not charged). Errors name `dependency: "model"` and the provider, as the chat client's
 * do: network or 5xx → 502 RUNTIME_UNAVAILABLE, 429 → 429 RATE_LIMITED, other 4xx or a malformed
 * answer → 502 RUNTIME_ERROR, no answer in time → 504 DEPENDENCY_TIMEOUT. The key travels only in
 * the Authorization header.
 */
import { AppError } from '../../platform/errors';
import type { ChatProvider } from './chat-client';

export interface AudioClientOptions {
  provider: ChatProvider;
  apiKey: () => Promise<string | undefined>;
  fetch?: typeof fetch;
}

/** The platform's output formats → the provider's `response_format`. */
export const SPEECH_FORMAT: Record<'mp3' | 'wav' | 'ogg', string> = { mp3: 'mp3', wav: 'wav', ogg: 'opus' };
const EXTENSION: Record<string, string> = { 'audio/wav': 'wav', 'audio/mpeg': 'mp3', 'audio/ogg': 'ogg', 'audio/webm': 'webm' };

export class AudioClient {
  private readonly fetch: typeof fetch;
  constructor(private readonly opts: AudioClientOptions) {
    this.fetch = opts.fetch ?? fetch;
  }

  private url(path: string): string {
    const u = new URL(this.opts.provider.baseUrl);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
    return u.toString();
  }

  /** The text spoken in `bytes`. */
  async transcribe(bytes: Uint8Array, contentType: string, model: string, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type: contentType }), `audio.${EXTENSION[contentType] ?? 'bin'}`);
    form.append('model', model);
    form.append('response_format', 'json');
    const res = await this.call('/audio/transcriptions', { body: form }, model, signal);
    const doc = (await res.json().catch(() => undefined)) as { text?: unknown } | undefined;
    if (typeof doc?.text !== 'string') throw this.error('RUNTIME_ERROR', 'sent a transcription without text', model, { reason: 'malformed' });
    return doc.text;
  }

  /** `text` spoken with `voice`, as `format` audio bytes. */
  async speak(text: string, voice: string, format: 'mp3' | 'wav' | 'ogg', model: string, signal: AbortSignal): Promise<Buffer> {
    const body = JSON.stringify({ model, input: text, voice, response_format: SPEECH_FORMAT[format] });
    const res = await this.call('/audio/speech', { body, headers: { 'content-type': 'application/json' } }, model, signal);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (!bytes.length) throw this.error('RUNTIME_ERROR', 'sent no audio', model, { reason: 'malformed' });
    return bytes;
  }

  private async call(path: string, init: { body: BodyInit; headers?: Record<string, string> }, model: string, signal: AbortSignal): Promise<Response> {
    const p = this.opts.provider;
    const timer = AbortSignal.timeout(p.timeoutMs);
    const key = await this.opts.apiKey();
    const headers: Record<string, string> = { 'user-agent': 'agent-store-runner', ...init.headers };
    if (key) headers.authorization = `Bearer ${key}`;
    let res: Response;
    try {
      res = await this.fetch(this.url(path), { method: 'POST', headers, body: init.body, signal: AbortSignal.any([signal, timer]), redirect: 'error' });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (timer.aborted) throw this.error('DEPENDENCY_TIMEOUT', `did not answer within ${p.timeoutMs} ms`, model, { timeoutMs: p.timeoutMs });
      throw this.error('RUNTIME_UNAVAILABLE', 'is unavailable', model, { reason: `network: ${(err as any)?.cause?.code ?? (err as Error).name}` });
    }
    if (res.ok) return res;
    const text = (await res.text().catch(() => '')).slice(0, 2000);
    let message: string | undefined;
    try {
      message = JSON.parse(text)?.error?.message;
    } catch {
      message = text.trim() || undefined;
    }
    if (key && message) message = message.split(key).join('[redacted]');
    const detail = { status: res.status, ...(message ? { providerMessage: message.slice(0, 500) } : {}) };
    if (res.status === 429) {
      const seconds = Math.max(1, Number(res.headers.get('retry-after')) || 1);
      throw new AppError('RATE_LIMITED', `The model provider "${p.name}" is rate limiting the platform; try again in ${seconds} s`, { dependency: 'model', provider: p.name, model, ...detail, retryAfterSeconds: seconds }, { headers: { 'Retry-After': String(seconds) } });
    }
    if (res.status >= 500) throw this.error('RUNTIME_UNAVAILABLE', 'is unavailable', model, detail);
    throw this.error('RUNTIME_ERROR', `refused the request${message ? `: ${message}` : ''}`, model, detail);
  }

  private error(code: 'RUNTIME_ERROR' | 'RUNTIME_UNAVAILABLE' | 'DEPENDENCY_TIMEOUT', what: string, model: string, details: Record<string, unknown>): AppError {
    const p = this.opts.provider;
    return new AppError(code, `The model provider "${p.name}" ${what}`, { dependency: 'model', provider: p.name, model, ...details });
  }
}
