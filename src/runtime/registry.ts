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
import { memoryLangflowFlowStore, type LangflowFlowStore } from './langflow/flow-store';
import { LangflowFlowSync } from './langflow/flow-sync';
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
  /** The durable artifact sha256 → Langflow flow id record (the platform database); in memory when absent. */
  langflowFlows?: LangflowFlowStore;
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
  let langflow: LangflowRuntime | undefined;
  if (opts.langflow?.url) {
    const base = opts.langflow.url.replace(/\/+$/, '');
    if (!opts.langflowFlows) opts.log?.warn('no platform database for the langflow flow record: it is kept in memory, so each runner process puts the certified flows into Langflow again');
    const flows = new LangflowFlowSync({ base, apiKey: opts.langflow.apiKey, store: opts.langflowFlows ?? memoryLangflowFlowStore(), fetch: opts.fetch, log: opts.log });
    langflow = new LangflowRuntime({ url: base, apiKey: opts.langflow.apiKey, timeoutMs: opts.langflow.timeoutMs, flows, log: opts.log, fetch: opts.fetch });
  }
  const byName: Record<Runtime['name'], Runtime | undefined> = { builtin, langflow };
  return {
    default: langflow ?? builtin,
    get: (name) => byName[name],
    ...(models ? { models } : {}),
  };
}
