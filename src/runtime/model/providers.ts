/**
 * The platform's model providers (LLM_* configuration), and which one answers a model node.
 *
 * Selection, from the node's model name (`model_name`, as Langflow's OpenAI-style components
 * and the prompt_orchestrator tweak write it):
 *   - empty, or a `builtin:` name (the capability's default `builtin:deterministic`) → the first
 *     provider's first model (the platform default);
 *   - a name one provider lists → that provider (in configuration order);
 *   - `<provider>/<model>` naming a provider and one of its models → that one;
 *   - a provider listing `*` serves any other name;
 *   - otherwise 422 INVALID_CONFIG naming the models on offer (a certified flow never silently
 *     runs on another model than its publisher chose).
 * API keys come from the configuration or from the secret store (read when first needed, kept
 * five minutes, read again after the provider refuses one); they are never logged.
 */
import type { LlmConfig, ModelProviderConfig } from '../../platform/config';
import type { MediaInput } from '../../platform/config/sections/llm';
import { AudioClient } from './audio-client';
import { AppError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { SecretMissingError, vaultUnavailable, type SecretStore } from '../../secrets/secret-store';
import { ChatCompletionsClient } from './chat-client';

export interface ModelSelection {
  client: ChatCompletionsClient;
  provider: string;
  model: string;
  /** What the provider's chat models take besides text (LLM_INPUTS / `inputs`). */
  inputs: readonly MediaInput[];
}

/** A provider's audio endpoint and the model it runs there. */
export interface AudioSelection {
  client: AudioClient;
  provider: string;
  model: string;
}

export interface ModelProviders {
  select(requested: string | undefined, nodeId?: string): ModelSelection;
  /** The first provider with a transcription model (speech to text), if any. */
  transcriber(): AudioSelection | undefined;
  /** The first provider with a speech model (text to speech), if any. */
  speaker(): AudioSelection | undefined;
  /** The default provider and model, for the start-up banner. */
  readonly defaultModel: { provider: string; model: string };
}

export interface ModelProvidersOptions {
  /** Where `apiKeySecret` keys are read (Vault KV v2 or the local store). */
  secrets?: SecretStore;
  log?: Logger;
  fetch?: typeof fetch;
  /** First retry backoff step (tests shorten it). */
  retryBaseMs?: number;
  keyTtlMs?: number;
  now?: () => number;
}

export function createModelProviders(llm: LlmConfig, opts: ModelProvidersOptions = {}): ModelProviders {
  const now = opts.now ?? Date.now;
  const ttl = opts.keyTtlMs ?? 5 * 60_000;
  const entries = llm.providers.map((p) => {
    let cached: { key: string; until: number } | undefined;
    const apiKey = async (): Promise<string | undefined> => {
      if (p.apiKey) return p.apiKey;
      if (!p.apiKeySecret) return undefined;
      if (cached && cached.until > now()) return cached.key;
      const key = await readKey(p, opts.secrets);
      cached = { key, until: now() + ttl };
      return key;
    };
    const client = new ChatCompletionsClient({
      provider: { name: p.name, baseUrl: p.baseUrl, timeoutMs: p.timeoutMs, maxRetries: p.maxRetries },
      apiKey,
      onKeyRefused: () => {
        cached = undefined;
      },
      fetch: opts.fetch,
      log: opts.log,
      retryBaseMs: opts.retryBaseMs,
    });
    const audio = new AudioClient({ provider: { name: p.name, baseUrl: p.baseUrl, timeoutMs: p.timeoutMs, maxRetries: p.maxRetries }, apiKey, fetch: opts.fetch });
    return { config: p, client, audio };
  });
  const sel = (e: (typeof entries)[number], model: string): ModelSelection => ({ client: e.client, provider: e.config.name, model, inputs: e.config.inputs ?? [] });
  const audioOf = (field: 'transcriptionModel' | 'speechModel'): AudioSelection | undefined => {
    const e = entries.find((x) => x.config[field]);
    return e ? { client: e.audio, provider: e.config.name, model: e.config[field]! } : undefined;
  };
  const first = entries[0];
  const defaultModel = { provider: first.config.name, model: first.config.models.find((m) => m !== '*') ?? '' };
  const offered = () => entries.flatMap((e) => e.config.models.map((m) => `${e.config.name}/${m}`));

  return {
    defaultModel,
    transcriber: () => audioOf('transcriptionModel'),
    speaker: () => audioOf('speechModel'),
    select(requested, nodeId) {
      const name = requested?.trim() ?? '';
      if (!name || name.startsWith('builtin:')) return sel(first, defaultModel.model);
      const exact = entries.find((e) => e.config.models.includes(name));
      if (exact) return sel(exact, name);
      const slash = name.indexOf('/');
      if (slash > 0) {
        const named = entries.find((e) => e.config.name === name.slice(0, slash));
        const model = name.slice(slash + 1);
        if (named && (named.config.models.includes(model) || named.config.models.includes('*'))) return sel(named, model);
      }
      const open = entries.find((e) => e.config.models.includes('*'));
      if (open) return sel(open, name);
      throw new AppError('INVALID_CONFIG', `The flow asks for model "${name}", which no configured model provider offers`, {
        ...(nodeId ? { nodeId } : {}),
        model: name,
        offered: offered(),
      });
    },
  };
}

async function readKey(p: ModelProviderConfig, secrets: SecretStore | undefined): Promise<string> {
  const ref = p.apiKeySecret!;
  if (!secrets) throw vaultUnavailable({ dependency: 'model', provider: p.name, reason: 'no secret store' });
  let data: Record<string, string>;
  try {
    data = (await secrets.get(ref.path)).data;
  } catch (err) {
    if (err instanceof SecretMissingError) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `The API key of model provider "${p.name}" is not in the secret store`, { dependency: 'model', provider: p.name, secretPath: ref.path });
    }
    throw vaultUnavailable({ dependency: 'model', provider: p.name }, err);
  }
  const key = data[ref.field];
  if (!key) {
    throw new AppError('DEPENDENCY_UNAVAILABLE', `The secret of model provider "${p.name}" has no "${ref.field}" field`, { dependency: 'model', provider: p.name, secretPath: ref.path, field: ref.field });
  }
  return key;
}
