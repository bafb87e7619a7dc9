/**
 * Which runtime runs flows: the Langflow adapter when LANGFLOW_URL is configured, otherwise the
 * built-in runtime (the embedded default of `npm start`).
 */
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { BuiltinRuntime } from './builtin-runtime';
import { LangflowRuntime } from './langflow-runtime';
import type { KnowledgeRetriever, Runtime, ToolInvoker } from './types';

export interface RuntimeRegistry {
  /** The runtime new runs use. */
  readonly default: Runtime;
  get(name: Runtime['name']): Runtime | undefined;
}

export interface RuntimeRegistryOptions {
  langflow?: Config['langflow'];
  retriever?: KnowledgeRetriever;
  toolInvoker?: ToolInvoker;
  log?: Logger;
  fetch?: typeof fetch;
}

export function createRuntimeRegistry(opts: RuntimeRegistryOptions): RuntimeRegistry {
  const builtin = new BuiltinRuntime({ retriever: opts.retriever, toolInvoker: opts.toolInvoker, log: opts.log });
  const langflow = opts.langflow?.url
    ? new LangflowRuntime({ url: opts.langflow.url, apiKey: opts.langflow.apiKey, timeoutMs: opts.langflow.timeoutMs, log: opts.log, fetch: opts.fetch })
    : undefined;
  const byName: Record<Runtime['name'], Runtime | undefined> = { builtin, langflow };
  return {
    default: langflow ?? builtin,
    get: (name) => byName[name],
  };
}
