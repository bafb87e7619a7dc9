/**
 * Which runtime runs flows: the Langflow adapter when LANGFLOW_URL is configured, otherwise the
 * built-in runtime (the embedded default of `npm start`), whose model nodes call the configured
 * model providers (LLM_*), or the deterministic offline model when there are none.
 */
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { SecretStore } from '../secrets/secret-store';
import { BuiltinRuntime } from './builtin-runtime';
import { LangflowRuntime } from './langflow-runtime';
import { createModelProviders, type ModelProviders } from './model/providers';
import type { KnowledgeRetriever, Runtime, ToolInvoker } from './types';

export interface RuntimeRegistry {
  /** The runtime new runs use. */
  readonly default: Runtime;
  get(name: Runtime['name']): Runtime | undefined;
  /** The model providers of the built-in runtime; undefined → the offline model. */
  readonly models?: ModelProviders;
}

export interface RuntimeRegistryOptions {
  langflow?: Config['langflow'];
  llm?: Config['llm'];
  /** Where model-provider keys named by `apiKeySecret` are read. */
  secrets?: SecretStore;
  retriever?: KnowledgeRetriever;
  toolInvoker?: ToolInvoker;
  log?: Logger;
  fetch?: typeof fetch;
}

export function createRuntimeRegistry(opts: RuntimeRegistryOptions): RuntimeRegistry {
  const models = opts.llm ? createModelProviders(opts.llm, { secrets: opts.secrets, log: opts.log, fetch: opts.fetch }) : undefined;
  const builtin = new BuiltinRuntime({ retriever: opts.retriever, toolInvoker: opts.toolInvoker, models, log: opts.log });
  const langflow = opts.langflow?.url
    ? new LangflowRuntime({ url: opts.langflow.url, apiKey: opts.langflow.apiKey, timeoutMs: opts.langflow.timeoutMs, log: opts.log, fetch: opts.fetch })
    : undefined;
  const byName: Record<Runtime['name'], Runtime | undefined> = { builtin, langflow };
  return {
    default: langflow ?? builtin,
    get: (name) => byName[name],
    ...(models ? { models } : {}),
  };
}
