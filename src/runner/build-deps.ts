import type { Knex } from 'knex';
import { knexLangflowFlowStore } from '../runtime/langflow/flow-store';
import { createRuntimeRegistry } from '../runtime/registry';
import { createSecretStore } from '../secrets';
import type { KnowledgeRetriever, ToolInvoker } from '../runtime/types';
import { createArtifactFetcher, type ArtifactFetcherOptions } from './artifacts';
import type { RunnerDeps } from './deps';
import { createObjectStore } from '../storage';

export interface RunnerExtras {
  artifacts?: ArtifactFetcherOptions;
  /** Knowledge-base retrieval for the built-in runtime's retriever (the control plane's RAG). */
  retriever?: KnowledgeRetriever;
  /** Tool calls for the built-in runtime's ToolCall component (the Connector Gateway client). */
  toolInvoker?: ToolInvoker;
  onIntegrityFailure?: RunnerDeps['onIntegrityFailure'];
  /** The platform database: where the Langflow adapter records which flow holds each artifact. */
  db?: Knex;
  /** Where the control plane is (it serves the local object store's presigned URLs). */
  controlPlaneUrl?: () => string;
}

/** The Runner's services, from the config: what src/stack.ts hands to the runner app. */
export function buildRunnerDeps(base: Pick<RunnerDeps, 'config' | 'log' | 'identity'>, extras: RunnerExtras = {}): RunnerDeps {
  const log = base.log.child({ service: 'runner' });
  return {
    ...base,
    artifacts: createArtifactFetcher(extras.artifacts),
    // Attachments are checked by the Gateway (≤ 25 MiB each); a few stay cached for retries.
    attachments: createArtifactFetcher({ maxBytes: 26_214_400, cache: { maxEntries: 16, maxBytes: 64 * 1024 * 1024 } }),
    objectStore: createObjectStore(base.config.storage, extras.controlPlaneUrl ?? (() => base.config.urls.controlPlane)),
    runtimes: createRuntimeRegistry({
      langflow: base.config.langflow,
      ...(extras.db ? { langflowFlows: knexLangflowFlowStore(extras.db) } : {}),
      llm: base.config.llm,
      // Only a provider whose key lives in the secret store needs one.
      secrets: base.config.llm?.providers.some((p) => p.apiKeySecret) ? createSecretStore(base.config) : undefined,
      retriever: extras.retriever,
      toolInvoker: extras.toolInvoker,
      log,
    }),
    onIntegrityFailure: extras.onIntegrityFailure,
  };
}
