/**
 * The Runner's side of run attachments: fetched bytes must match the sha256 the Gateway checked;
 * a Langflow flow, a platform without a transcription model and one without a speech model refuse
 * with 422 MODALITY_NOT_SUPPORTED naming the capability, before any bytes are fetched.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { RunnerRunRequest } from '../../generated/runner/types';
import { AppError } from '../platform/errors';
import { createRuntimeRegistry } from '../runtime/registry';
import type { Runtime } from '../runtime/types';
import { createArtifactFetcher, sha256Hex } from './artifacts';
import type { RunnerDeps } from './deps';
import { prepareMedia } from './media';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
let url = '';
let fetches = 0;
const server = createServer((_req, res) => {
  fetches++;
  res.writeHead(200, { 'content-type': 'image/png' });
  res.end(PNG);
});
before(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())).then(() => { url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/obj`; }));
after(() => new Promise<void>((r) => server.close(() => r())));

const deps = (llm?: Parameters<typeof createRuntimeRegistry>[0]['llm']): RunnerDeps => ({
  attachments: createArtifactFetcher({ maxBytes: 1024 }),
  runtimes: createRuntimeRegistry({ llm }),
} as unknown as RunnerDeps);
const runtime = (name: Runtime['name']) => ({ name }) as Runtime;
const ctx = { signal: new AbortController().signal, requestId: 'req_test' };
const req = (over: Partial<RunnerRunRequest>): RunnerRunRequest => ({
  runId: 'run_01J9ZK6G9H0J1K2M3N4P5Q6R7S', instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P', versionId: 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M',
  artifact: { uri: 'http://x', sha256: '0'.repeat(64) }, flowId: 'f', input: {}, ...over,
});
const image = (sha256 = sha256Hex(PNG)) => ({ kind: 'image' as const, contentType: 'image/png' as const, url, sha256, sizeBytes: PNG.length, detail: 'auto' as const });
const provider = { name: 'p', baseUrl: 'http://127.0.0.1:9/v1', models: ['m'], timeoutMs: 1000, maxRetries: 0 };

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof AppError, String(err));
  return err;
}

test('verified bytes become a media part and are metered as images', async () => {
  const out = await prepareMedia(deps({ providers: [provider] }), req({ attachments: [image()] }), runtime('builtin'), 'Look', ctx);
  assert.equal(out.text, 'Look');
  assert.deepEqual(out.usage, { images: 1, audio_seconds: 0 });
  assert.equal(Buffer.compare(out.media[0]!.bytes, PNG), 0);
});

test('bytes that are not the checked ones → 422 ARTIFACT_INTEGRITY_FAILED', async () => {
  const err = await refusal(prepareMedia(deps(), req({ attachments: [image('a'.repeat(64))] }), runtime('builtin'), 'x', ctx));
  assert.equal(err.code, 'ARTIFACT_INTEGRITY_FAILED');
});

test('a Langflow flow takes no images → 422 MODALITY_NOT_SUPPORTED naming multimodal_vision, nothing fetched', async () => {
  const before = fetches;
  const err = await refusal(prepareMedia(deps(), req({ attachments: [image()] }), runtime('langflow'), 'x', ctx));
  assert.equal(err.code, 'MODALITY_NOT_SUPPORTED');
  assert.equal(err.details?.capability, 'multimodal_vision');
  assert.equal(err.details?.runtime, 'langflow');
  assert.equal(fetches, before);
});

test('speech to text without a transcription model, or spoken answers without a speech model → 422 naming multimodal_audio', async () => {
  const audio = { kind: 'audio' as const, contentType: 'audio/wav' as const, url, sha256: sha256Hex(PNG), sizeBytes: 10, seconds: 1 };
  const stt = await refusal(prepareMedia(deps({ providers: [provider] }), req({ attachments: [audio], speech: { speechToText: true } }), runtime('langflow'), '', ctx));
  assert.equal(stt.code, 'MODALITY_NOT_SUPPORTED');
  assert.equal(stt.details?.capability, 'multimodal_audio');
  const tts = await refusal(prepareMedia(deps({ providers: [provider] }), req({ speech: { textToSpeech: true, outputFormat: 'mp3' } }), runtime('builtin'), 'hi', ctx));
  assert.equal(tts.code, 'MODALITY_NOT_SUPPORTED');
  assert.equal(tts.details?.needs, 'LLM_SPEECH_MODEL');
});
