/**
 * The real adapter: runs the flow on a Langflow server through its run API,
 * `POST {LANGFLOW_URL}/api/v1/run/{flowId}?stream=false|true` with `x-api-key` and
 * `{input_value, input_type: 'chat', output_type: 'chat', tweaks, session_id}`.
 *
 * With a flow sync (src/runtime/langflow/flow-sync.ts) the flow run is the certified artifact the
 * Runner put into Langflow, under the id recorded for its sha256 — not whatever Langflow holds
 * under the export's id. A streamed run (`progress.delta`) asks for `stream=true` and passes
 * Langflow's `token` chunks on as they come. `maxOutputTokens` becomes a `max_tokens` tweak on
 * every model node that has that field (the smaller of it and the node's own limit); the run's
 * capability `instructions` are appended to every node's `system_message`. The session
 * id (`<instanceId>:<sessionId>`) is Langflow's `session_id`, so its memory is per instance.
 *
 * Failure mapping: 401/403 → RUNTIME_ERROR (key refused); 404 → RUNTIME_ERROR (no such flow; with
 * a flow sync, the flow is put back and the run tried once more within the two attempts);
 * 400/422 → RUNTIME_ERROR with Langflow's `detail`; other 4xx → RUNTIME_ERROR; 500 → RUNTIME_ERROR
 * with the detail and NO retry (Langflow answers 500 for errors inside the flow, after its tools
 * may have written); 502/503/504 or a network error → one retry (Runner→runtime: 1 retry), then
 * RUNTIME_UNAVAILABLE; over the time budget
 * (60 s default) → DEPENDENCY_TIMEOUT, without a retry since the budget is spent.
 * The API key is sent only in the header: never logged, never in an error.
 */
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { outputCap, withInstructions } from './builtin/chat-model';
import { deadline } from './deadline';
import { templateValue, type FlowExport } from './flow';
import type { LangflowFlowSync } from './langflow/flow-sync';
import { extractLangflowText, langflowUsage, readLangflowEvents } from './langflow-response';
import { assertNoSecretsInTweaks } from './secret-guard';
import { countTokens } from './tokens';
import type { RunInput, RunOutput, Runtime, Tweaks } from './types';

export interface LangflowRuntimeOptions {
  /** LANGFLOW_URL, e.g. `http://langflow:7860`. */
  url: string;
  /** LANGFLOW_API_KEY; sent as `x-api-key`. */
  apiKey?: string;
  /** Upper bound per run (default 60 s); a run's own `timeoutMs` may be shorter. */
  timeoutMs?: number;
  /** Use `stream=true` and read Langflow's event stream. */
  stream?: boolean;
  /** Pause before the one retry (default 250 ms). */
  retryDelayMs?: number;
  /** Puts the certified flow into Langflow and answers its id; without it `flowId` is run as given. */
  flows?: LangflowFlowSync;
  log?: Logger;
  fetch?: typeof fetch;
}

const DETAIL_LIMIT = 500;

class Retryable extends Error {
  constructor(readonly reason: string, readonly status?: number) {
    super(reason);
  }
}

/** The run API did not find the synced flow: put it back and try again. */
class FlowMissing extends Error {}

/** Tweaks with `max_tokens` capped on every model node that has that field. */
export function withOutputCap(flow: FlowExport, tweaks: Tweaks, cap: number | undefined): Tweaks {
  if (!cap) return tweaks;
  const out: Tweaks = { ...tweaks };
  for (const node of flow.data.nodes) {
    const template = node.data?.node?.template;
    if (!template || !('max_tokens' in template)) continue;
    const own = tweaks[node.id]?.max_tokens ?? templateValue(node, 'max_tokens');
    out[node.id] = { ...(tweaks[node.id] ?? {}), max_tokens: outputCap(own, cap) };
  }
  return out;
}

/**
 * The run's capability instructions (reply language, …) appended to the `system_message` of every
 * node that has one, as the built-in model node does with its own.
 */
export function withSystemInstructions(flow: FlowExport, tweaks: Tweaks, instructions: string[] | undefined): Tweaks {
  if (!instructions?.length) return tweaks;
  const out: Tweaks = { ...tweaks };
  for (const node of flow.data.nodes) {
    const template = node.data?.node?.template;
    if (!template || !('system_message' in template)) continue;
    const own = tweaks[node.id]?.system_message ?? templateValue(node, 'system_message');
    out[node.id] = { ...(tweaks[node.id] ?? {}), system_message: withInstructions(typeof own === 'string' ? own : undefined, instructions) };
  }
  return out;
}

export class LangflowRuntime implements Runtime {
  readonly name = 'langflow' as const;
  readonly version = 'api/v1';
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: LangflowRuntimeOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? fetch;
  }

  async run(input: RunInput): Promise<RunOutput> {
    assertNoSecretsInTweaks(input.tweaks);
    const budget = Math.min(input.timeoutMs, this.opts.timeoutMs ?? 60_000);
    const dl = deadline(input.signal, budget, 'langflow');
    const log = this.opts.log?.child({ runtime: 'langflow', flowId: input.flowId, requestId: input.requestId });
    const stream = this.opts.stream === true || input.progress?.delta !== undefined;
    const body: Record<string, unknown> = {
      input_value: input.input.text,
      input_type: 'chat',
      output_type: 'chat',
      tweaks: withSystemInstructions(input.flow, withOutputCap(input.flow, input.tweaks ?? {}, input.maxOutputTokens), input.instructions),
    };
    if (input.sessionId) body.session_id = input.sessionId;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream, application/json' : 'application/json',
      'x-request-id': input.requestId,
    };
    if (this.opts.apiKey) headers['x-api-key'] = this.opts.apiKey;

    const sync = this.opts.flows && input.artifactSha256 ? { flows: this.opts.flows, sha256: input.artifactSha256 } : undefined;
    const produced = { text: '' };
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const flowId = sync ? await sync.flows.flowIdFor(input.flow, sync.sha256, { signal: dl.signal, requestId: input.requestId }) : input.flowId;
          const url = `${this.base}/api/v1/run/${encodeURIComponent(flowId)}?stream=${stream}`;
          const result = await this.attempt(url, headers, JSON.stringify(body), dl.signal, stream, { ...input, flowId }, !!sync, produced);
          if (input.progress) Object.assign(input.progress.usage, result.usage);
          return { ...result, attempts: attempt, flowId };
        } catch (err) {
          if (dl.signal.aborted) {
            this.countSoFar(input, produced.text);
            throw dl.error('The Langflow run');
          }
          if (err instanceof FlowMissing && sync && attempt < 2) {
            log?.warn({ attempt }, 'langflow did not find the synced flow; putting it back');
            sync.flows.forget(sync.sha256);
            continue;
          }
          if (err instanceof FlowMissing) throw new AppError('RUNTIME_ERROR', `Langflow has no flow for this artifact`, { status: 404, artifactSha256: sync?.sha256 });
          if (!(err instanceof Retryable)) {
            this.countSoFar(input, produced.text);
            throw err;
          }
          log?.warn({ attempt, reason: err.reason, status: err.status }, 'langflow attempt failed');
          if (attempt >= 2) {
            throw new AppError('RUNTIME_UNAVAILABLE', 'Langflow is unavailable', { attempts: attempt, ...(err.status ? { status: err.status } : { reason: 'network' }) });
          }
          await sleep(this.opts.retryDelayMs ?? 250, dl.signal).catch(() => undefined);
          if (dl.signal.aborted) throw dl.error('The Langflow run');
        }
      }
    } finally {
      dl.dispose();
    }
  }

  /** A run that failed after Langflow produced text still counts what it consumed (an estimate: Langflow reports usage only at the end). */
  private countSoFar(input: RunInput, produced: string): void {
    if (!input.progress || !produced) return;
    Object.assign(input.progress.usage, { tokens_in: countTokens(input.input.text), tokens_out: countTokens(produced), runs: 1 });
  }

  private async attempt(url: string, headers: Record<string, string>, body: string, signal: AbortSignal, stream: boolean, input: RunInput, synced: boolean, produced: { text: string }): Promise<Omit<RunOutput, 'attempts'>> {
    let res: Response;
    try {
      res = await this.fetch(url, { method: 'POST', headers, body, signal, redirect: 'error' });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Retryable(`network: ${(err as any)?.cause?.code ?? (err as Error).name}`);
    }
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      await res.body?.cancel().catch(() => undefined);
      throw new Retryable(`status ${res.status}`, res.status);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw new AppError('RUNTIME_ERROR', 'Langflow refused the API key', { status: res.status });
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      if (synced) throw new FlowMissing();
      throw new AppError('RUNTIME_ERROR', `Langflow has no flow "${input.flowId}"`, { status: 404, flowId: input.flowId });
    }
    if (res.status >= 400) {
      const detail = this.scrub(await readDetail(res));
      throw new AppError('RUNTIME_ERROR', detail ? `Langflow refused the run: ${detail}` : `Langflow refused the run (${res.status})`, {
        status: res.status,
        ...(detail ? { detail } : {}),
      });
    }
    const type = res.headers.get('content-type') ?? '';
    let answer: any;
    try {
      answer = stream && type.includes('text/event-stream') ? await this.readStream(res, input, produced) : await readJson(res);
    } catch (err) {
      if (err instanceof AppError || signal.aborted) throw err;
      // Broken off after text went out: not repeated (the caller already has part of the answer).
      if (produced.text) throw new AppError('RUNTIME_ERROR', 'Langflow broke off its answer', { reason: 'stream_broken' });
      throw new Retryable(`network while reading the answer: ${(err as any)?.cause?.code ?? (err as Error).name}`);
    }
    const text = extractLangflowText(answer);
    if (text === undefined) {
      throw new AppError('RUNTIME_ERROR', 'Langflow answered without a chat message (does the flow end in a Chat Output?)', { flowId: input.flowId });
    }
    return {
      output: { text },
      usage: langflowUsage(answer, input.input.text, text),
      runtime: 'langflow',
      version: this.version,
      sessionId: typeof answer?.session_id === 'string' ? answer.session_id : input.sessionId,
    };
  }

  /** Reads `stream=true`: the `end` event carries the full run response; tokens are a fallback. */
  private async readStream(res: Response, input: RunInput, produced: { text: string }): Promise<any> {
    if (!res.body) throw new AppError('RUNTIME_ERROR', 'Langflow sent an empty event stream');
    let tokens = '';
    let lastMachineMessage: string | undefined;
    for await (const ev of readLangflowEvents(res.body)) {
      if (ev.event === 'token' && typeof ev.data?.chunk === 'string') {
        tokens += ev.data.chunk;
        produced.text += ev.data.chunk;
        if (ev.data.chunk) input.progress?.delta?.(ev.data.chunk);
      }
      else if (ev.event === 'add_message' && ev.data?.sender === 'Machine' && typeof ev.data?.text === 'string' && ev.data.text) lastMachineMessage = ev.data.text;
      else if (ev.event === 'error') {
        const raw = ev.data?.error ?? ev.data?.text ?? ev.data?.detail ?? ev.data;
        const detail = this.scrub(typeof raw === 'string' ? raw : JSON.stringify(raw ?? ''));
        throw new AppError('RUNTIME_ERROR', detail ? `Langflow run failed: ${detail}` : 'Langflow run failed', detail ? { detail } : undefined);
      } else if (ev.event === 'end') {
        const result = ev.data?.result ?? ev.data;
        if (extractLangflowText(result) !== undefined) return result;
        break;
      }
    }
    const text = lastMachineMessage ?? (tokens || undefined);
    if (text === undefined) return {};
    return { outputs: [{ outputs: [{ results: { message: { text } } }] }] };
  }

  /** Langflow's detail, cut short, with the API key removed should Langflow ever echo it. */
  private scrub(detail: string): string {
    let d = detail;
    if (this.opts.apiKey) d = d.split(this.opts.apiKey).join('[redacted]');
    return d.length > DETAIL_LIMIT ? `${d.slice(0, DETAIL_LIMIT)}…` : d;
  }
}

async function readJson(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('RUNTIME_ERROR', 'Langflow answered with a body that is not JSON', { status: res.status });
  }
}

/** FastAPI errors: `{"detail": "…"}` or `{"detail": [{"loc": […], "msg": "…"}]}`. */
async function readDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    const d = body?.detail ?? body?.message ?? body?.error;
    if (typeof d === 'string') return d;
    if (Array.isArray(d)) {
      return d.map((e: any) => (e?.msg ? `${Array.isArray(e.loc) ? `${e.loc.join('.')}: ` : ''}${e.msg}` : JSON.stringify(e))).join('; ');
    }
    if (d !== undefined) return JSON.stringify(d);
  } catch {
    /* not JSON: fall through to the raw text */
  }
  return text.trim();
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
