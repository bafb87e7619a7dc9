import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, describeProviders, loadConfig, normalizeModelBaseUrl } from './index';

const problems = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail('expected a configuration error');
};

describe('model provider configuration', () => {
  test('no LLM variables: no provider (the offline model runs)', () => {
    assert.equal(loadConfig({}).llm, undefined);
  });

  test('one provider from LLM_BASE_URL, LLM_MODELS and LLM_API_KEY, with defaults', () => {
    const c = loadConfig({ LLM_BASE_URL: 'https://api.openai.com/v1/', LLM_MODELS: 'gpt-4o-mini, gpt-4o', LLM_API_KEY: 'sk-test-123' });
    assert.deepEqual(c.llm, {
      providers: [{ name: 'default', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o-mini', 'gpt-4o'], apiKey: 'sk-test-123', timeoutMs: 60_000, maxRetries: 2 }],
    });
  });

  test('media inputs and audio models: LLM_INPUTS, LLM_TRANSCRIPTION_MODEL, LLM_SPEECH_MODEL, and the same in LLM_PROVIDERS', () => {
    const one = loadConfig({ LLM_BASE_URL: 'https://api.openai.com/v1', LLM_MODELS: 'gpt-4o-mini', LLM_INPUTS: 'image, file', LLM_TRANSCRIPTION_MODEL: 'whisper-1', LLM_SPEECH_MODEL: 'tts-1' });
    assert.deepEqual(one.llm!.providers[0]!.inputs, ['image', 'file']);
    assert.equal(one.llm!.providers[0]!.transcriptionModel, 'whisper-1');
    assert.equal(one.llm!.providers[0]!.speechModel, 'tts-1');
    assert.match(problems({ LLM_BASE_URL: 'https://api.openai.com/v1', LLM_MODELS: 'm', LLM_INPUTS: 'image,video' }), /LLM_INPUTS: must be a comma-separated list of image, file, audio/);
    const many = loadConfig({ LLM_PROVIDERS: JSON.stringify([{ name: 'a', baseUrl: 'http://127.0.0.1:1', models: ['m'], inputs: ['audio'], speechModel: 'tts-1' }]) });
    assert.deepEqual(many.llm!.providers[0]!.inputs, ['audio']);
    assert.equal(many.llm!.providers[0]!.speechModel, 'tts-1');
    assert.match(problems({ LLM_PROVIDERS: JSON.stringify([{ name: 'a', baseUrl: 'http://127.0.0.1:1', models: ['m'], inputs: ['smell'] }]) }), /\[0\]\.inputs: must be a list of image, file, audio/);
  });

  test('a server root gets /v1 (Ollama, llama.cpp); a versioned path is kept', () => {
    assert.equal(normalizeModelBaseUrl('http://127.0.0.1:11434'), 'http://127.0.0.1:11434/v1');
    assert.equal(normalizeModelBaseUrl('https://res.openai.azure.com/openai/v1'), 'https://res.openai.azure.com/openai/v1');
    assert.equal(normalizeModelBaseUrl('https://gw.example.com/litellm/'), 'https://gw.example.com/litellm/v1');
    assert.equal(normalizeModelBaseUrl('https://generativelanguage.googleapis.com/v1beta'), 'https://generativelanguage.googleapis.com/v1beta');
    assert.equal(normalizeModelBaseUrl('ftp://x'), undefined);
    assert.equal(normalizeModelBaseUrl('http://user:pw@x'), undefined);
  });

  test('LLM_MODELS is required with LLM_BASE_URL; bad numbers are named; the key is never echoed', () => {
    const msg = problems({ LLM_BASE_URL: 'http://127.0.0.1:11434', LLM_API_KEY: 'sk-very-secret', LLM_TIMEOUT_MS: '5', LLM_MAX_RETRIES: '9' });
    assert.match(msg, /LLM_MODELS: is required with LLM_BASE_URL/);
    assert.match(msg, /LLM_TIMEOUT_MS: must be an integer from 1000 to 600000/);
    assert.match(msg, /LLM_MAX_RETRIES: must be an integer from 0 to 5/);
    assert.doesNotMatch(msg, /sk-very-secret/);
  });

  test('credentials in the base URL are refused and redacted', () => {
    const msg = problems({ LLM_BASE_URL: 'http://admin:hunter2@llm:8000', LLM_MODELS: 'm' });
    assert.match(msg, /LLM_BASE_URL: must be an absolute http\(s\) URL without credentials/);
    assert.doesNotMatch(msg, /hunter2/);
  });

  test('a key from the secret store: path, optional #field', () => {
    const c = loadConfig({ LLM_BASE_URL: 'http://vllm:8000/v1', LLM_MODELS: 'meta-llama/Llama-3.1-8B-Instruct', LLM_API_KEY_SECRET: 'platform/llm/vllm#token' });
    assert.deepEqual(c.llm?.providers[0].apiKeySecret, { path: 'platform/llm/vllm', field: 'token' });
    assert.equal(c.llm?.providers[0].apiKey, undefined);
    assert.match(problems({ LLM_BASE_URL: 'http://x/v1', LLM_MODELS: 'm', LLM_API_KEY_SECRET: '../etc/passwd' }), /LLM_API_KEY_SECRET: must be a secret-store path/);
  });

  test('orphan LLM variables without a base URL are reported', () => {
    assert.match(problems({ LLM_MODELS: 'gpt-4o-mini' }), /LLM_MODELS: needs LLM_BASE_URL/);
  });

  test('several providers from LLM_PROVIDERS, keys from named variables', () => {
    const c = loadConfig({
      OPENAI_KEY: 'sk-1',
      LLM_PROVIDERS: JSON.stringify([
        { name: 'openai', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o-mini'], apiKeyEnv: 'OPENAI_KEY', timeoutMs: 30_000 },
        { name: 'local', baseUrl: 'http://127.0.0.1:11434', models: ['llama3.2', 'qwen2.5'], maxRetries: 0 },
      ]),
    });
    assert.deepEqual(c.llm?.providers.map((p) => [p.name, p.baseUrl, p.models, p.apiKey, p.timeoutMs, p.maxRetries]), [
      ['openai', 'https://api.openai.com/v1', ['gpt-4o-mini'], 'sk-1', 30_000, 2],
      ['local', 'http://127.0.0.1:11434/v1', ['llama3.2', 'qwen2.5'], undefined, 60_000, 0],
    ]);
  });

  test('LLM_PROVIDERS refuses inline keys, duplicates, unset key variables and a mix with LLM_BASE_URL', () => {
    const msg = problems({
      LLM_PROVIDERS: JSON.stringify([
        { name: 'a', baseUrl: 'http://a/v1', models: ['m'], apiKey: 'sk-inline-secret' },
        { name: 'a', baseUrl: 'http://b/v1', models: ['m'], apiKeyEnv: 'NOT_SET_ANYWHERE' },
        { name: 'Bad Name', baseUrl: 'nope', models: [] },
      ]),
    });
    assert.match(msg, /LLM_PROVIDERS: \[0\]\.apiKey: is not accepted/);
    assert.match(msg, /LLM_PROVIDERS: \[1\]\.name: is used twice/);
    assert.match(msg, /LLM_PROVIDERS: \[1\]\.apiKeyEnv: names NOT_SET_ANYWHERE, which is not set/);
    assert.match(msg, /LLM_PROVIDERS: \[2\]\.name/);
    assert.match(msg, /LLM_PROVIDERS: \[2\]\.baseUrl/);
    assert.match(msg, /LLM_PROVIDERS: \[2\]\.models/);
    assert.doesNotMatch(msg, /sk-inline-secret/);
    assert.match(problems({ LLM_PROVIDERS: '[]' }), /LLM_PROVIDERS: must be a JSON array of 1 to 20 providers/);
    assert.match(problems({ LLM_PROVIDERS: '{oops' }), /LLM_PROVIDERS: must be a JSON array/);
    assert.match(problems({ LLM_BASE_URL: 'http://x/v1', LLM_MODELS: 'm', LLM_PROVIDERS: '[]' }), /cannot be combined with LLM_BASE_URL/);
  });

  test('production refuses the offline model for the runner, unless flows run on Langflow', () => {
    const prod = { APP_ENV: 'production', OIDC_ISSUER: 'https://kc/realms/x', RUNNER_CLIENT_SECRET: 'x' };
    assert.throws(() => loadConfig(prod, { services: ['runner'] }), /LLM_BASE_URL: is required in production/);
    assert.doesNotThrow(() => loadConfig({ ...prod, LLM_BASE_URL: 'https://api.openai.com/v1', LLM_MODELS: 'gpt-4o-mini', LLM_API_KEY: 'k' }, { services: ['runner'] }));
    assert.doesNotThrow(() => loadConfig({ ...prod, LANGFLOW_URL: 'http://langflow:7860' }, { services: ['runner'] }));
  });

  test('the banner line names where the key comes from, never the key', () => {
    const c = loadConfig({ LLM_BASE_URL: 'http://127.0.0.1:11434', LLM_MODELS: 'llama3.2', LLM_API_KEY: 'sk-banner-secret' });
    const lines = describeProviders(c.llm);
    assert.deepEqual(lines, ['default: http://127.0.0.1:11434/v1 models llama3.2 (key from the environment)']);
    assert.doesNotMatch(lines.join('\n'), /sk-banner-secret/);
  });
});
