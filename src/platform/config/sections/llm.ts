/**
 * Model providers for the built-in runtime: OpenAI-compatible Chat Completions endpoints
 * (OpenAI, Azure OpenAI's v1 API, vLLM, Ollama, llama.cpp server, LiteLLM, …). API keys are never
 * echoed.
 *
 * One provider:   LLM_BASE_URL, LLM_MODELS, and LLM_API_KEY or LLM_API_KEY_SECRET,
 *                 LLM_TIMEOUT_MS, LLM_MAX_RETRIES, LLM_PROVIDER_NAME.
 * Several:        LLM_PROVIDERS, a JSON array of
 *                 `{"name","baseUrl","models":[…],"apiKeyEnv"?,"apiKeySecret"?,"timeoutMs"?,"maxRetries"?}`
 *                 (keys come from the named environment variable or secret-store path, never
 *                 from the JSON itself, so the list can live in a ConfigMap).
 * Neither:        no provider; model nodes run on the deterministic offline model (refused in
 *                 production by the guard, unless flows run on Langflow).
 */
import { defineSection, redactUrl, type EnvReader } from '../define';

export interface ModelProviderConfig {
  /** Shown in logs, errors and the start-up banner (`default` for the single-provider variables). */
  name: string;
  /** The API root, ending `/v1` (`…/v1` is appended when the URL has no version segment). */
  baseUrl: string;
  /** Models this provider may serve; the first is the default. `*` allows any model name. */
  models: string[];
  /** The key (from LLM_API_KEY or the variable named by `apiKeyEnv`); sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** Where the key lives in the secret store (Vault KV v2 or the local store): `path` or `path#field` (field default `apiKey`). */
  apiKeySecret?: { path: string; field: string };
  /** Per model call, including a streamed answer (default 60 000). */
  timeoutMs: number;
  /** Retries of a call answered 429 or 5xx or failing on the network (default 2), within the run's deadline. */
  maxRetries: number;
  /** What its chat models take besides text: `image` (image_url parts), `file` (PDF file parts), `audio` (input_audio parts). Default: text only. */
  inputs?: MediaInput[];
  /** Model of its `/audio/transcriptions` (speech to text); unset = it transcribes nothing. */
  transcriptionModel?: string;
  /** Model of its `/audio/speech` (text to speech); unset = it speaks nothing. */
  speechModel?: string;
}

export type MediaInput = 'image' | 'file' | 'audio';
const MEDIA_INPUTS: readonly MediaInput[] = ['image', 'file', 'audio'];

/** `image,file` → the list; undefined when a name is not one of image, file, audio. */
function mediaInputs(raw: unknown): MediaInput[] | undefined {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!list) return undefined;
  const names = list.map((m) => (typeof m === 'string' ? m.trim() : '')).filter(Boolean);
  if (names.some((n) => !MEDIA_INPUTS.includes(n as MediaInput))) return undefined;
  return [...new Set(names)] as MediaInput[];
}

export interface LlmConfig {
  providers: ModelProviderConfig[];
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const MODEL = /^[A-Za-z0-9._:/@+-]{1,200}$/;
const SECRET_PATH = /^[A-Za-z0-9_-]{1,128}(\/[A-Za-z0-9_-]{1,128}){0,7}(#[A-Za-z0-9_.-]{1,128})?$/;

/** `https://h/v1` stays; `http://h:11434` becomes `http://h:11434/v1`; a trailing slash is dropped. */
export function normalizeModelBaseUrl(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.username || u.password || u.hash) return undefined;
  let path = u.pathname.replace(/\/+$/, '');
  if (!/\/v\d+(beta|alpha)?\d*$/.test(path)) path = `${path}/v1`;
  return `${u.origin}${path}${u.search}`;
}

function parseSecretRef(raw: string): { path: string; field: string } {
  const [path, field] = raw.split('#');
  return { path, field: field || 'apiKey' };
}

function intIn(raw: unknown, min: number, max: number): number | undefined {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function modelList(raw: unknown): string[] | undefined {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!list) return undefined;
  const models = list.map((m) => (typeof m === 'string' ? m.trim() : '')).filter(Boolean);
  // The first model is the provider's default, so it must be a real name.
  if (!models.length || models[0] === '*' || models.some((m) => m !== '*' && !MODEL.test(m))) return undefined;
  return [...new Set(models)];
}

const VARS = {
  LLM_BASE_URL: { doc: 'One OpenAI-compatible model provider for the built-in runtime: its API root (`…/v1` is appended to a bare server URL). Unset (and no LLM_PROVIDERS) = the deterministic offline model.', example: 'http://127.0.0.1:11434/v1' },
  LLM_MODELS: { doc: 'Models that provider may serve, comma-separated; the first is the default (used by model nodes naming no model or `builtin:deterministic`); a later `*` allows any name. Required with LLM_BASE_URL.', example: 'llama3.2' },
  LLM_API_KEY: { doc: 'Its API key, sent as `Authorization: Bearer` (omit for keyless local servers).', secret: true },
  LLM_API_KEY_SECRET: { doc: 'Or: where the key lives in the secret store (Vault KV v2 or the local store), `path` or `path#field` (field default apiKey).', example: 'platform/llm/openai#apiKey' },
  LLM_TIMEOUT_MS: { doc: 'Timeout of one model call, streamed answer included (1000–600000).', default: '60000' },
  LLM_MAX_RETRIES: { doc: 'Retries of a call answered 429 or 5xx or failing on the network (0–5), honouring Retry-After within the run\'s deadline; other 4xx are never retried.', default: '2' },
  LLM_INPUTS: { doc: 'What that provider\'s chat models take besides text, comma-separated: `image` (image_url content parts), `file` (PDF file parts), `audio` (input_audio parts). Runs with other attachments answer 422 MODALITY_NOT_SUPPORTED.', default: '' },
  LLM_TRANSCRIPTION_MODEL: { doc: 'Its speech-to-text model (`POST /audio/transcriptions`), for multimodal_audio.speechToText; unset = no transcription.', example: 'whisper-1' },
  LLM_SPEECH_MODEL: { doc: 'Its text-to-speech model (`POST /audio/speech`), for multimodal_audio.textToSpeech; unset = no spoken answers.', example: 'tts-1' },
  LLM_PROVIDER_NAME: { doc: 'The provider\'s name in logs, errors and `<provider>/<model>` model names.', default: 'default' },
  LLM_PROVIDERS: { doc: 'Several providers instead: a JSON array of {"name","baseUrl","models":[…],"apiKeyEnv"?,"apiKeySecret"?,"timeoutMs"?,"maxRetries"?,"inputs"?,"transcriptionModel"?,"speechModel"?}; the first provider\'s first model is the default. Keys come from the variable named by apiKeyEnv or the secret-store path apiKeySecret, never from the JSON. Example: [{"name":"openai","baseUrl":"https://api.openai.com/v1","models":["gpt-4o-mini"],"apiKeyEnv":"OPENAI_API_KEY"}].' },
} as const;

type LlmVar = keyof typeof VARS;

export const llm = defineSection({
  id: 'llm',
  title: 'Model providers (built-in runtime)',
  vars: VARS,
  read(r) {
    return readLlm(r);
  },
});

function readLlm(r: EnvReader<LlmVar>): { llm?: LlmConfig } {
  const single = r.str('LLM_BASE_URL');
  const list = r.str('LLM_PROVIDERS');
  if (single && list) {
    r.problem('LLM_PROVIDERS', 'cannot be combined with LLM_BASE_URL (use one or the other)');
    return {};
  }
  if (!single && !list) {
    for (const name of ['LLM_MODELS', 'LLM_API_KEY', 'LLM_API_KEY_SECRET'] as const) {
      if (r.has(name)) r.problem(name, 'needs LLM_BASE_URL (or use LLM_PROVIDERS)');
    }
    return {};
  }
  if (single) {
    const baseUrl = normalizeModelBaseUrl(single);
    if (!baseUrl) r.problem('LLM_BASE_URL', 'must be an absolute http(s) URL without credentials', redactUrl(single));
    const models = modelList(r.str('LLM_MODELS'));
    if (!models) r.problem('LLM_MODELS', 'is required with LLM_BASE_URL: comma-separated model names, the first is the default (a later `*` allows any)', r.str('LLM_MODELS'));
    const secret = r.str('LLM_API_KEY_SECRET');
    if (secret && !SECRET_PATH.test(secret)) r.problem('LLM_API_KEY_SECRET', 'must be a secret-store path like `platform/llm/openai` or `platform/llm/openai#apiKey`', secret);
    if (secret && r.has('LLM_API_KEY')) r.problem('LLM_API_KEY_SECRET', 'cannot be combined with LLM_API_KEY');
    const timeoutMs = r.int('LLM_TIMEOUT_MS', 60_000, 1000, 600_000);
    const maxRetries = r.int('LLM_MAX_RETRIES', 2, 0, 5);
    const name = r.str('LLM_PROVIDER_NAME', 'default');
    if (!NAME.test(name)) r.problem('LLM_PROVIDER_NAME', 'must be lowercase letters, digits, _ or - (at most 40)', name);
    const inputs = mediaInputs(r.str('LLM_INPUTS', ''));
    if (!inputs) r.problem('LLM_INPUTS', 'must be a comma-separated list of image, file, audio', r.str('LLM_INPUTS'));
    const transcriptionModel = r.str('LLM_TRANSCRIPTION_MODEL');
    const speechModel = r.str('LLM_SPEECH_MODEL');
    for (const [v, m] of [['LLM_TRANSCRIPTION_MODEL', transcriptionModel], ['LLM_SPEECH_MODEL', speechModel]] as const) {
      if (m && !MODEL.test(m)) r.problem(v, 'must be a model name', m);
    }
    if (!baseUrl || !models || !NAME.test(name) || !inputs) return {};
    const apiKey = r.str('LLM_API_KEY');
    return {
      llm: {
        providers: [{
          name,
          baseUrl,
          models,
          ...(apiKey ? { apiKey } : {}),
          ...(secret && SECRET_PATH.test(secret) ? { apiKeySecret: parseSecretRef(secret) } : {}),
          timeoutMs,
          maxRetries,
          ...(inputs.length ? { inputs } : {}),
          ...(transcriptionModel && MODEL.test(transcriptionModel) ? { transcriptionModel } : {}),
          ...(speechModel && MODEL.test(speechModel) ? { speechModel } : {}),
        }],
      },
    };
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(list!);
  } catch {
    r.problem('LLM_PROVIDERS', 'must be a JSON array of providers');
    return {};
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 20) {
    r.problem('LLM_PROVIDERS', 'must be a JSON array of 1 to 20 providers');
    return {};
  }
  // Problems inside the list are named `LLM_PROVIDERS[i].field`.
  const add = (where: string, message: string) => r.problem('LLM_PROVIDERS', `${where}: ${message}`);
  const providers: ModelProviderConfig[] = [];
  const names = new Set<string>();
  parsed.forEach((p: any, i) => {
    const where = `[${i}]`;
    if (!p || typeof p !== 'object' || Array.isArray(p)) return add(where, 'must be an object');
    const known = new Set(['name', 'baseUrl', 'models', 'apiKeyEnv', 'apiKeySecret', 'timeoutMs', 'maxRetries', 'inputs', 'transcriptionModel', 'speechModel']);
    const extra = Object.keys(p).filter((k) => !known.has(k));
    if (extra.includes('apiKey')) add(`${where}.apiKey`, 'is not accepted: name the variable holding the key in apiKeyEnv, or a secret-store path in apiKeySecret');
    else if (extra.length) add(where, `has unknown field(s) ${extra.join(', ')}`);
    const name = typeof p.name === 'string' ? p.name : '';
    if (!NAME.test(name)) add(`${where}.name`, `must be lowercase letters, digits, _ or - (at most 40) (got ${JSON.stringify(String(p.name))})`);
    else if (names.has(name)) add(`${where}.name`, `is used twice (got ${JSON.stringify(name)})`);
    names.add(name);
    const baseUrl = typeof p.baseUrl === 'string' ? normalizeModelBaseUrl(p.baseUrl) : undefined;
    if (!baseUrl) add(`${where}.baseUrl`, 'must be an absolute http(s) URL without credentials');
    const models = modelList(p.models);
    if (!models) add(`${where}.models`, 'must be a non-empty list of model names, the first being the default (a later `*` allows any)');
    let apiKey: string | undefined;
    if (p.apiKeyEnv !== undefined) {
      if (typeof p.apiKeyEnv !== 'string' || !/^[A-Z_][A-Z0-9_]{0,127}$/.test(p.apiKeyEnv)) add(`${where}.apiKeyEnv`, 'must be an environment variable name');
      else if (!r.named(p.apiKeyEnv)) add(`${where}.apiKeyEnv`, `names ${p.apiKeyEnv}, which is not set`);
      else apiKey = r.named(p.apiKeyEnv);
    }
    if (p.apiKeySecret !== undefined && (typeof p.apiKeySecret !== 'string' || !SECRET_PATH.test(p.apiKeySecret))) {
      add(`${where}.apiKeySecret`, 'must be a secret-store path like `platform/llm/openai#apiKey`');
    }
    if (p.apiKeySecret !== undefined && p.apiKeyEnv !== undefined) add(where, 'apiKeyEnv and apiKeySecret cannot be combined');
    const timeoutMs = intIn(p.timeoutMs ?? 60_000, 1000, 600_000);
    if (timeoutMs === undefined) add(`${where}.timeoutMs`, 'must be an integer from 1000 to 600000');
    const maxRetries = intIn(p.maxRetries ?? 2, 0, 5);
    if (maxRetries === undefined) add(`${where}.maxRetries`, 'must be an integer from 0 to 5');
    const inputs = mediaInputs(p.inputs ?? []);
    if (!inputs) add(`${where}.inputs`, 'must be a list of image, file, audio');
    for (const f of ['transcriptionModel', 'speechModel'] as const) {
      if (p[f] !== undefined && (typeof p[f] !== 'string' || !MODEL.test(p[f]))) add(`${where}.${f}`, 'must be a model name');
    }
    if (NAME.test(name) && baseUrl && models && timeoutMs !== undefined && maxRetries !== undefined && inputs) {
      providers.push({
        name,
        baseUrl,
        models,
        ...(apiKey ? { apiKey } : {}),
        ...(typeof p.apiKeySecret === 'string' && SECRET_PATH.test(p.apiKeySecret) ? { apiKeySecret: parseSecretRef(p.apiKeySecret) } : {}),
        timeoutMs,
        maxRetries,
        ...(inputs.length ? { inputs } : {}),
        ...(typeof p.transcriptionModel === 'string' && MODEL.test(p.transcriptionModel) ? { transcriptionModel: p.transcriptionModel } : {}),
        ...(typeof p.speechModel === 'string' && MODEL.test(p.speechModel) ? { speechModel: p.speechModel } : {}),
      });
    }
  });
  return providers.length === parsed.length ? { llm: { providers } } : {};
}

/** One line per provider for the start-up banner and logs: never the key, only where it comes from. */
export function describeProviders(llm: LlmConfig | undefined): string[] {
  if (!llm) return [];
  return llm.providers.map((p) => {
    const key = p.apiKey ? 'key from the environment' : p.apiKeySecret ? `key from the secret store (${p.apiKeySecret.path})` : 'no key';
    return `${p.name}: ${p.baseUrl} models ${p.models.join(', ')} (${key})`;
  });
}
