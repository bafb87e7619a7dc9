/**
 * What the built-in runtime's components share: the values flowing along edges, the run's usage
 * counters, the evaluation context of one node, and the helpers that read a node's inputs and
 * settings (a connected edge wins over the node's own setting, as in Langflow).
 */
import type { FlowNode } from '../flow';
import type { ModelProviders } from '../model/providers';
import type { ToolOffer } from './tool-offers';
import type { KnowledgeChunk, KnowledgeRetriever, RunInput, ToolInvoker } from '../types';

/** What flows along an edge: a message text plus where it came from. */
export interface Value {
  text: string;
  /** The user's question this value descends from (quoted by the model). */
  question?: string;
  /** Knowledge chunks this value was built from (cited by the model, returned as `sources`). */
  sources?: KnowledgeChunk[];
  /** Tools whose results this value carries. */
  tools?: string[];
  /** Structured payload (tool output), when there is one. */
  data?: unknown;
}

export interface Usage {
  tokens_in: number;
  tokens_out: number;
  tool_calls: number;
  /** MCP tool calls (the `mcp_tools` capability's metering dimension); absent until one is made. */
  mcp_calls?: number;
  retrievals: number;
  runs: number;
}

export interface EvalContext {
  node: FlowNode;
  /** Template values with the run's tweaks applied. */
  params: Record<string, unknown>;
  /** Values arriving on each input field, in edge order. */
  inputs: Map<string, Value[]>;
  run: RunInput;
  usage: Usage;
  signal: AbortSignal;
  /** `Date.now()` at which the run's budget ends (a model call does not wait past it to retry). */
  deadlineAt: number;
  retriever?: KnowledgeRetriever;
  toolInvoker?: ToolInvoker;
  /** The platform's model providers; undefined → the deterministic offline model answers. */
  models?: ModelProviders;
  /** Set on the one model node whose answer is the run's output: its text goes out as it comes. */
  stream?: (text: string) => void;
  /** ToolCall nodes wired into this model node's `tools` input: offered to the model, not run as steps. */
  tools?: ToolOffer[];
}

export interface Component {
  /** Canonical type name. */
  type: string;
  aliases: string[];
  /** Input and output nodes decide what the run answers. */
  role?: 'chat-output' | 'text-output';
  /** A model node: the one feeding the run's output directly streams its answer. */
  model?: boolean;
  /** Static checks before anything runs (missing settings); throw AppError. */
  validate?(node: FlowNode, params: Record<string, unknown>, run: Pick<RunInput, 'bindings'>): void;
  evaluate(ctx: EvalContext): Promise<Value>;
}

// ───────────────────────────── helpers ─────────────────────────────

export const asText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'object' && typeof (v as any).text === 'string' ? (v as any).text : JSON.stringify(v);

/** Joins the values on one input; undefined when nothing is connected there. */
export function merged(values: Value[] | undefined): Value | undefined {
  if (!values?.length) return undefined;
  if (values.length === 1) return values[0];
  return {
    text: values.map((v) => v.text).join('\n'),
    question: values.find((v) => v.question)?.question,
    sources: values.flatMap((v) => v.sources ?? []),
    tools: values.flatMap((v) => v.tools ?? []),
  };
}

/** A field's value: what is connected to it, else its (tweaked) setting. */
export function field(ctx: EvalContext, name: string): Value | undefined {
  const connected = merged(ctx.inputs.get(name));
  if (connected) return connected;
  const p = ctx.params[name];
  return p === undefined || p === null || p === '' ? undefined : { text: asText(p) };
}

export function firstField(ctx: EvalContext, names: string[]): Value | undefined {
  for (const n of names) {
    const v = field(ctx, n);
    if (v) return v;
  }
  return undefined;
}

/** Provenance of everything connected to the node. */
export function lineage(ctx: EvalContext): Pick<Value, 'question' | 'sources' | 'tools'> {
  const all = [...ctx.inputs.values()].flat();
  const sources = all.flatMap((v) => v.sources ?? []);
  const tools = all.flatMap((v) => v.tools ?? []);
  return {
    question: all.find((v) => v.question)?.question,
    ...(sources.length ? { sources } : {}),
    ...(tools.length ? { tools } : {}),
  };
}

export function param(params: Record<string, unknown>, names: string[]): unknown {
  for (const n of names) if (params[n] !== undefined && params[n] !== null && params[n] !== '') return params[n];
  return undefined;
}

export function stringList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String).filter(Boolean);
  if (typeof v === 'string') return v.split(/[,\s]+/).filter(Boolean);
  return [];
}

/** Awaits `p` but gives up as soon as `signal` aborts (a dependency that hangs cannot hold the run). */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => undefined); // a late failure of an abandoned call is not an unhandled rejection
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/** Fills `{name}` placeholders (`{{`/`}}` are literal braces, as in Langflow's prompt templates). */
export function fillTemplate(template: string, lookup: (name: string) => string): string {
  return template.replace(/\{\{|\}\}|\{([^{}]+)\}/g, (m, name: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    return lookup(name!.trim());
  });
}

export function templateVariables(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(/\{\{|\}\}|\{([^{}]+)\}/g)) if (m[1]) out.push(m[1].trim());
  return [...new Set(out)];
}

