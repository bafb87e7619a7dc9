/**
 * Images, PDFs and audio in a run, end to end through the stack (control plane, runner, gateway)
 * with the OpenAI-protocol test server as the model provider: upload through the presigned URL →
 * run with parts → the model server receives the bytes as content parts (image_url, file), audio
 * reaches its /audio/transcriptions, a spoken answer comes from /audio/speech and is stored; the
 * run is metered in `images` and `audio_seconds` and billed at the registry's rates. Refusals
 * (wrong magic bytes, too big, too many, too many PDF pages, too long, no capability, another
 * tenant's upload, a model that takes no images) are not charged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { meterRun } from '../../src/capabilities/metering';
import { purgeExpiredRunBodies } from '../../src/runs/history';
import { createObjectStore } from '../../src/storage';
import { activeInstance, buyer, run, wallet, type Buyer } from '../../test/support/gateway';
import { startFakeOpenAi, type FakeOpenAi } from '../../test/support/fake-openai';
import { GIF_1X1, MEDIA_SLUG, PNG_1X1, pdfWithPages, seedMediaOffering, silentWav, upload } from '../../test/support/media';
import { http, startTestStack, type TestStack } from '../../test/support/stack';

const KEY = 'sk-media-test-0123456789abcdef';
let provider: FakeOpenAi;
let stack: TestStack;
let who: Buyer;
let instanceId: string;

const providers = (url: string) => JSON.stringify([
  { name: 'vision', baseUrl: url, models: ['gpt-4o-mini'], apiKeyEnv: 'MEDIA_TEST_KEY', inputs: ['image', 'file', 'audio'], transcriptionModel: 'whisper-1', speechModel: 'tts-1' },
  { name: 'texty', baseUrl: url, models: ['llama3.2'], apiKeyEnv: 'MEDIA_TEST_KEY' },
]);

before(async () => {
  provider = await startFakeOpenAi({ apiKey: KEY, transcript: 'Where is my parcel?' });
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', LLM_PROVIDERS: providers(provider.url), MEDIA_TEST_KEY: KEY });
  await seedMediaOffering(stack);
  who = await buyer(stack, 'media@example.com');
  instanceId = await activeInstance(stack, who, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' } } });
});
after(async () => {
  await stack?.close();
  await provider?.close();
});

const chatRequests = () => provider.requests.filter((r) => r.path === '/v1/chat/completions');
const userTurn = () => chatRequests().at(-1)!.body.messages.at(-1);

/** The run's charge is exactly the registry's price of its usage. */
function assertBilledAsMetered(body: any): void {
  const { total } = meterRun(['prompt_orchestrator', 'chat_ui', 'web_widget', 'api_endpoint', 'human_handover', 'multilingual', 'guardrails_policy', 'mcp_tools', 'credits_wallet', 'scheduler_triggers', 'observability', 'multimodal_vision', 'multimodal_audio'], body.usage.dimensions);
  assert.equal(body.billing.creditsCharged, total, JSON.stringify(body));
}

describe('attachments that reach the model', () => {
  test('an image: uploaded through the presigned URL, sent as an image_url data URL with the bytes, metered as 1 image', async () => {
    provider.reset();
    const uploadId = await upload(stack, who.token, instanceId, 'image', 'image/png', PNG_1X1);
    const r = await run(stack, { token: who.token, instanceId, body: { input: { text: 'What is in this picture?', parts: [{ type: 'image', uploadId }] } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const content = userTurn().content;
    assert.ok(Array.isArray(content), 'the user turn is a list of content parts');
    assert.equal(content[0].type, 'text');
    assert.match(content[0].text, /Customer question: What is in this picture\?/, 'the flow\'s prompt, with the run\'s text, comes first');
    assert.deepEqual(content[1], { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1X1.toString('base64')}`, detail: 'low' } });
    assert.equal(r.body.usage.dimensions.images, 1);
    assert.ok(r.body.billing.creditsCharged >= 5, 'the image costs its 5 credits');
    assertBilledAsMetered(r.body);
    const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.runId}`, { token: who.token });
    assert.equal(record.body.usage.dimensions.images, 1, 'the run record keeps the metered images');
  });

  test('a PDF: sent as a file part, its pages metered as images', async () => {
    provider.reset();
    const pdf = await pdfWithPages(2);
    const uploadId = await upload(stack, who.token, instanceId, 'file', 'application/pdf', pdf);
    const r = await run(stack, { token: who.token, instanceId, body: { input: { text: 'Summarise', parts: [{ type: 'file', uploadId }] } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(userTurn().content[1], { type: 'file', file: { filename: 'attachment-1.pdf', file_data: `data:application/pdf;base64,${pdf.toString('base64')}` } });
    assert.equal(r.body.usage.dimensions.images, 2);
    assertBilledAsMetered(r.body);
  });

  test('audio with speechToText: the WAV reaches /audio/transcriptions, the transcript is the model\'s input, metered in audio_seconds', async () => {
    provider.reset();
    const wav = silentWav(2.5);
    const uploadId = await upload(stack, who.token, instanceId, 'audio', 'audio/wav', wav);
    const r = await run(stack, { token: who.token, instanceId, body: { input: { parts: [{ type: 'audio', uploadId }] } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const stt = provider.requests.find((q) => q.path === '/v1/audio/transcriptions');
    assert.ok(stt, 'the transcription request reached the model server');
    assert.equal(stt.body.model, 'whisper-1');
    assert.equal(stt.headers.authorization, `Bearer ${KEY}`);
    assert.ok(Buffer.compare(stt.body.file.bytes, wav) === 0, 'with the uploaded bytes');
    assert.match(userTurn().content, /Customer question: Where is my parcel\?/, 'the transcript is the run\'s input');
    assert.equal(r.body.usage.dimensions.audio_seconds, 3, '2.5 s rounded up');
    assertBilledAsMetered(r.body);
  });

  test('textToSpeech: the answer is spoken through /audio/speech, stored, and its URL serves the audio; spoken seconds are metered', async () => {
    provider.reset();
    const spoken = await activeInstance(stack, who, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' }, multimodal_audio: { textToSpeech: true, voice: 'nova', outputFormat: 'wav' } } });
    const r = await run(stack, { token: who.token, instanceId: spoken, text: 'Say hello' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const tts = provider.requests.find((q) => q.path === '/v1/audio/speech');
    assert.ok(tts, 'the speech request reached the model server');
    assert.deepEqual(tts.body, { model: 'tts-1', input: r.body.output.text, voice: 'nova', response_format: 'wav' });
    const audio = r.body.output.audio;
    assert.equal(audio.contentType, 'audio/wav');
    const seconds = Math.ceil(r.body.output.text.length / 20);
    assert.equal(audio.seconds, seconds);
    const got = await fetch(audio.url);
    assert.equal(got.status, 200);
    const bytes = Buffer.from(await got.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString('ascii'), 'RIFF');
    assert.equal(r.body.usage.dimensions.audio_seconds, seconds);
    assertBilledAsMetered(r.body);
  });

  test('textToSpeech with the registry\'s default voice: a voice the speech model knows', async () => {
    provider.reset();
    const spoken = await activeInstance(stack, who, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' }, multimodal_audio: { textToSpeech: true, outputFormat: 'wav' } } });
    const r = await run(stack, { token: who.token, instanceId: spoken, text: 'Say hello' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(provider.requests.find((q) => q.path === '/v1/audio/speech')?.body.voice, 'alloy');
    assert.equal(r.body.output.audio.voice, 'alloy');
  });
});

describe('retention', () => {
  test('when a run\'s bodies expire, its attachment and its spoken answer are deleted with them', async () => {
    const spoken = await activeInstance(stack, who, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' }, multimodal_audio: { textToSpeech: true, outputFormat: 'wav' } } });
    const uploadId = await upload(stack, who.token, spoken, 'image', 'image/png', PNG_1X1);
    const r = await run(stack, { token: who.token, instanceId: spoken, body: { input: { text: 'What is in this picture?', parts: [{ type: 'image', uploadId }] } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await fetch(r.body.output.audio.url)).status, 200);

    const store = createObjectStore(stack.config.storage, stack.url('control-plane'));
    await purgeExpiredRunBodies(stack.db!, { now: new Date(Date.now() + 400 * 86_400_000), objectStore: store });
    assert.equal((await fetch(r.body.output.audio.url)).status, 404, 'the spoken answer is gone');
    const again = await run(stack, { token: who.token, instanceId: spoken, body: { input: { text: 'And now?', parts: [{ type: 'image', uploadId }] } } });
    assert.equal(again.status, 404, 'the attachment is gone');
    assert.equal(again.body.error.code, 'NOT_FOUND');
    const record = await http('GET', `${stack.url('gateway')}/v1/runs/${r.body.runId}`, { token: who.token });
    assert.equal(record.status, 200, 'the run record stays');
    assert.equal(record.body.billing.creditsCharged, r.body.billing.creditsCharged);
  });

  test('erasing a session deletes the spoken answers of its runs', async () => {
    const spoken = await activeInstance(stack, who, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' }, multimodal_audio: { textToSpeech: true, outputFormat: 'wav' } } });
    const r = await run(stack, { token: who.token, instanceId: spoken, text: 'Say hello', body: { sessionId: 'spoken-1' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await fetch(r.body.output.audio.url)).status, 200);
    assert.equal((await http('DELETE', `${stack.url('gateway')}/v1/sessions/spoken-1?instanceId=${spoken}`, { token: who.token })).status, 204);
    assert.equal((await fetch(r.body.output.audio.url)).status, 404);
  });
});

describe('refusals, never charged', () => {
  async function refused(body: Record<string, unknown>, status: number, code: string, token = who.token, instance = instanceId) {
    const before = await wallet(stack, who);
    const r = await run(stack, { token, instanceId: instance, body });
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error.code, code, JSON.stringify(r.body));
    assert.deepEqual(await wallet(stack, who), before, 'nothing held, nothing charged');
    return r.body.error;
  }

  test('bytes that are not what was declared (a GIF uploaded as image/png) → 422 ATTACHMENT_TYPE_NOT_ACCEPTED', async () => {
    const uploadId = await upload(stack, who.token, instanceId, 'image', 'image/png', GIF_1X1);
    const e = await refused({ input: { text: 'x', parts: [{ type: 'image', uploadId }] } }, 422, 'ATTACHMENT_TYPE_NOT_ACCEPTED');
    assert.equal(e.details.detectedType, 'image/gif');
    assert.equal(e.details.declaredType, 'image/png');
    assert.deepEqual(e.details.acceptedMimeTypes, ['image/png', 'image/jpeg', 'application/pdf']);
  });

  test('a declared type outside acceptedMimeTypes, and a file over maxImageBytes, are refused at the ticket', async () => {
    const gw = stack.url('gateway');
    const webp = await http('POST', `${gw}/v1/uploads`, { token: who.token, body: { instanceId, type: 'image', contentType: 'image/webp', sizeBytes: 100 } });
    assert.equal(webp.status, 422, JSON.stringify(webp.body));
    assert.equal(webp.body.error.code, 'ATTACHMENT_TYPE_NOT_ACCEPTED');
    const ogg = await http('POST', `${gw}/v1/uploads`, { token: who.token, body: { instanceId, type: 'audio', contentType: 'audio/ogg', sizeBytes: 100 } });
    assert.equal(ogg.status, 422, 'audio/ogg is not in multimodal_audio.acceptedMimeTypes here');
    assert.deepEqual(ogg.body.error.details.acceptedMimeTypes, ['audio/wav', 'audio/mpeg']);
    const big = await http('POST', `${gw}/v1/uploads`, { token: who.token, body: { instanceId, type: 'image', contentType: 'image/png', sizeBytes: 65537 } });
    assert.equal(big.status, 413, JSON.stringify(big.body));
    assert.equal(big.body.error.code, 'ATTACHMENT_TOO_LARGE');
    assert.deepEqual([big.body.error.details.maxImageBytes, big.body.error.details.sizeBytes], [65536, 65537]);
  });

  test('more bytes than the ticket allowed are refused by the presigned upload itself', async () => {
    const ticket = await http('POST', `${stack.url('gateway')}/v1/uploads`, { token: who.token, body: { instanceId, type: 'image', contentType: 'image/png', sizeBytes: 100 } });
    const put = await fetch(ticket.body.url, { method: 'PUT', headers: ticket.body.headers, body: new Uint8Array(Buffer.concat([PNG_1X1, Buffer.alloc(70_000)])) });
    assert.equal(put.status, 413);
    await refused({ input: { text: 'x', parts: [{ type: 'image', uploadId: ticket.body.uploadId }] } }, 404, 'NOT_FOUND');
  });

  test('more images than maxImagesPerRun → 422 TOO_MANY_ATTACHMENTS; a PDF over maxPdfPages → 422 PDF_TOO_MANY_PAGES; pages count as images', async () => {
    const id = await upload(stack, who.token, instanceId, 'image', 'image/png', PNG_1X1);
    const four = Array.from({ length: 4 }, () => ({ type: 'image', uploadId: id }));
    const many = await refused({ input: { text: 'x', parts: four } }, 422, 'TOO_MANY_ATTACHMENTS');
    assert.deepEqual([many.details.maxImagesPerRun, many.details.images], [3, 4]);
    const long = await upload(stack, who.token, instanceId, 'file', 'application/pdf', await pdfWithPages(3));
    const pages = await refused({ input: { text: 'x', parts: [{ type: 'file', uploadId: long }] } }, 422, 'PDF_TOO_MANY_PAGES');
    assert.deepEqual([pages.details.maxPdfPages, pages.details.pages], [2, 3]);
    const two = await upload(stack, who.token, instanceId, 'file', 'application/pdf', await pdfWithPages(2));
    const mixed = await refused({ input: { text: 'x', parts: [{ type: 'file', uploadId: two }, { type: 'image', uploadId: id }, { type: 'image', uploadId: id }] } }, 422, 'TOO_MANY_ATTACHMENTS');
    assert.equal(mixed.details.images, 4);
  });

  test('audio longer than maxAudioSeconds → 422 AUDIO_TOO_LONG, before any transcription', async () => {
    provider.reset();
    const id = await upload(stack, who.token, instanceId, 'audio', 'audio/wav', silentWav(6));
    const e = await refused({ input: { parts: [{ type: 'audio', uploadId: id }] } }, 422, 'AUDIO_TOO_LONG');
    assert.deepEqual([e.details.maxAudioSeconds, e.details.seconds], [5, 6]);
    assert.equal(provider.requests.length, 0, 'the provider was not called');
  });

  test('an instance without the capability → 422 MODALITY_NOT_SUPPORTED naming it, at the ticket and at the run', async () => {
    const plain = await activeInstance(stack, who, { slug: 'support-assistant' });
    const t = await http('POST', `${stack.url('gateway')}/v1/uploads`, { token: who.token, body: { instanceId: plain, type: 'image', contentType: 'image/png', sizeBytes: 70 } });
    assert.equal(t.status, 422, JSON.stringify(t.body));
    assert.equal(t.body.error.details.capability, 'multimodal_vision');
    const id = await upload(stack, who.token, instanceId, 'audio', 'audio/wav', silentWav(1));
    const e = await refused({ input: { text: 'x', parts: [{ type: 'audio', uploadId: id }] } }, 422, 'MODALITY_NOT_SUPPORTED', who.token, plain);
    assert.equal(e.details.capability, 'multimodal_audio');
  });

  test('another tenant\'s uploadId → 404, and so is another caller\'s in the same instance', async () => {
    const mine = await upload(stack, who.token, instanceId, 'image', 'image/png', PNG_1X1);
    const mallory = await buyer(stack, 'mallory-media@example.com');
    const theirs = await activeInstance(stack, mallory, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'gpt-4o-mini' } } });
    const r = await run(stack, { token: mallory.token, instanceId: theirs, body: { input: { text: 'x', parts: [{ type: 'image', uploadId: mine }] } } });
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'NOT_FOUND');
    // Mallory cannot even ask for a ticket on the victim's instance.
    const t = await http('POST', `${stack.url('gateway')}/v1/uploads`, { token: mallory.token, body: { instanceId, type: 'image', contentType: 'image/png', sizeBytes: 70 } });
    assert.equal(t.status, 404, JSON.stringify(t.body));
  });

  test('a model configured without image input → 422 MODALITY_NOT_SUPPORTED from the runtime, voided, not charged', async () => {
    const texty = await activeInstance(stack, who, { slug: MEDIA_SLUG, configOverrides: { prompt_orchestrator: { model: 'llama3.2' } } });
    const id = await upload(stack, who.token, texty, 'image', 'image/png', PNG_1X1);
    const e = await refused({ input: { text: 'x', parts: [{ type: 'image', uploadId: id }] } }, 422, 'MODALITY_NOT_SUPPORTED', who.token, texty);
    assert.equal(e.details.capability, 'multimodal_vision');
    assert.equal(e.details.charged, false);
  });
});
