/**
 * Reading Langflow's run responses. The chat text sits at `outputs[0].outputs[0].results.message.text`;
 * Langflow versions also put it at `results.message.data.text`, in `messages[0].message`, in
 * `outputs.message.message` and in `artifacts.message`: all are tolerated, first match wins.
 *
 * Token usage is taken from the response when Langflow reports it (`results.message.properties.usage`,
 * `results.message.data.properties.usage`, `results.message.usage` or `results.usage`, with either
 * `input_tokens`/`output_tokens` or `prompt_tokens`/`completion_tokens`), summed over every output.
 * Otherwise it is estimated with `countTokens` (src/runtime/tokens.ts) over the run's input text
 * (tokens_in) and the answer (tokens_out); Langflow's own prompt is invisible to the Runner, so the
 * estimate is a floor.
 */
import { countTokens } from './tokens';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function textOf(o: any): string | undefined {
  return (
    str(o?.results?.message?.text) ??
    str(o?.results?.message?.data?.text) ??
    str(o?.messages?.[0]?.message) ??
    str(o?.outputs?.message?.message) ??
    str(o?.outputs?.message?.text) ??
    str(o?.artifacts?.message) ??
    str(o?.results?.text?.text) ??
    str(o?.results?.text?.data?.text)
  );
}

/** The chat answer of a Langflow run response, or undefined when there is none. */
export function extractLangflowText(body: any): string | undefined {
  const groups: any[] = Array.isArray(body?.outputs) ? body.outputs : [];
  for (const g of groups) {
    for (const o of Array.isArray(g?.outputs) ? g.outputs : []) {
      const t = textOf(o);
      if (t !== undefined) return t;
    }
  }
  return undefined;
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined);

function usageOf(u: any): { in: number; out: number } | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const tin = count(u.input_tokens) ?? count(u.prompt_tokens) ?? count(u.inputTokens) ?? count(u.promptTokens);
  const tout = count(u.output_tokens) ?? count(u.completion_tokens) ?? count(u.outputTokens) ?? count(u.completionTokens);
  if (tin === undefined && tout === undefined) return undefined;
  return { in: tin ?? 0, out: tout ?? 0 };
}

/** Token usage reported by Langflow, summed over outputs; undefined when none is reported. */
export function extractLangflowUsage(body: any): { tokens_in: number; tokens_out: number } | undefined {
  let found = false;
  const total = { tokens_in: 0, tokens_out: 0 };
  for (const g of Array.isArray(body?.outputs) ? body.outputs : []) {
    for (const o of Array.isArray(g?.outputs) ? g.outputs : []) {
      const m = o?.results?.message;
      const u =
        usageOf(m?.properties?.usage) ?? usageOf(m?.data?.properties?.usage) ?? usageOf(m?.usage) ?? usageOf(o?.results?.usage) ?? usageOf(m?.response_metadata?.token_usage);
      if (u) {
        found = true;
        total.tokens_in += u.in;
        total.tokens_out += u.out;
      }
    }
  }
  return found ? total : undefined;
}

/** Usage for the Runner's answer: Langflow's own numbers when present, else the documented estimate. */
export function langflowUsage(body: any, inputText: string, outputText: string): Record<string, number> {
  const reported = extractLangflowUsage(body);
  const tokens = reported ?? { tokens_in: countTokens(inputText), tokens_out: countTokens(outputText) };
  return { ...tokens, runs: 1 };
}

export interface LangflowStreamEvent {
  event: string;
  data: any;
}

/**
 * Splits a `stream=true` body into events. Langflow writes one JSON object per event,
 * separated by blank lines; an SSE-style `data:` prefix is tolerated too.
 */
export async function* readLangflowEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<LangflowStreamEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  const parse = (chunk: string): LangflowStreamEvent | undefined => {
    const text = chunk
      .split('\n')
      .map((l) => l.replace(/^data:\s?/, ''))
      .filter((l) => l.trim() && !l.startsWith('event:') && !l.startsWith(':') && !l.startsWith('id:'))
      .join('\n')
      .trim();
    if (!text) return undefined;
    try {
      const ev = JSON.parse(text);
      return ev && typeof ev.event === 'string' ? { event: ev.event, data: ev.data } : undefined;
    } catch {
      return undefined;
    }
  };
  for await (const bytes of body as any as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true }).replace(/\r\n/g, '\n');
    let at: number;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const ev = parse(buffer.slice(0, at));
      buffer = buffer.slice(at + 2);
      if (ev) yield ev;
    }
  }
  buffer += decoder.decode();
  const last = parse(buffer);
  if (last) yield last;
}
