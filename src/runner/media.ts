/**
 * A run's attachments in the Runner: each is fetched from its presigned URL and refused unless its
 * sha256 is the one the Gateway checked (422 ARTIFACT_INTEGRITY_FAILED), so what the model gets is
 * exactly what was checked. Audio is transcribed first when `speech.speechToText` is on (the
 * transcript joins the input text, so it works on every runtime); images, PDFs and untranscribed
 * audio go to the built-in runtime as content parts — Langflow flows take text only (422
 * MODALITY_NOT_SUPPORTED naming the capability, before any provider is called). With
 * `speech.textToSpeech` the answer is spoken through the provider's `/audio/speech`, stored in the
 * object store and returned as `output.audio` with a presigned URL.
 * Usage: `images` (a PDF's pages count one each) and `audio_seconds` (heard plus spoken, rounded up).
 */
import type { RunnerRunRequest } from '../../generated/runner/types';
import { spokenAnswerKey } from '../media/keys';
import { audioSeconds } from '../media/probe';
import { modalityNotSupported } from '../runtime/media-parts';
import type { MediaPart, Runtime } from '../runtime/types';
import type { RunnerDeps } from './deps';

/** How long the spoken answer's URL stays valid. */
export const SPOKEN_ANSWER_URL_SECONDS = 3600;
const SPOKEN_TYPE = { mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg' } as const;

export interface PreparedMedia {
  text: string;
  media: MediaPart[];
  usage: { images: number; audio_seconds: number };
}

export async function prepareMedia(deps: RunnerDeps, req: RunnerRunRequest, runtime: Runtime, text: string, ctx: { signal: AbortSignal; requestId: string }): Promise<PreparedMedia> {
  const attachments = req.attachments ?? [];
  const stt = req.speech?.speechToText === true;
  // Refusals first, before any bytes are fetched or any provider is called.
  const asParts = attachments.filter((a) => a.kind !== 'audio' || !stt);
  if (asParts.length && runtime.name !== 'builtin') {
    throw modalityNotSupported(asParts[0]!, `A ${runtime.name} flow takes text only`, { runtime: runtime.name });
  }
  const transcriber = attachments.some((a) => a.kind === 'audio') && stt ? deps.runtimes.models?.transcriber() : undefined;
  const heard = attachments.find((a) => a.kind === 'audio' && stt);
  if (heard && !transcriber) throw modalityNotSupported(heard, 'No model provider of the platform transcribes speech', { needs: 'LLM_TRANSCRIPTION_MODEL' });
  if (req.speech?.textToSpeech && !deps.runtimes.models?.speaker()) {
    throw modalityNotSupported({ kind: 'audio', contentType: SPOKEN_TYPE[req.speech.outputFormat ?? 'mp3'] }, 'No model provider of the platform speaks answers', { needs: 'LLM_SPEECH_MODEL' });
  }

  const media: MediaPart[] = [];
  const transcripts: string[] = [];
  let images = 0;
  let seconds = 0;
  for (const a of attachments) {
    const { bytes } = await deps.attachments.fetch({ uri: a.url, sha256: a.sha256 }, { signal: ctx.signal, requestId: ctx.requestId });
    if (a.kind === 'audio') {
      seconds += a.seconds ?? 0;
      if (stt) transcripts.push(await transcriber!.client.transcribe(bytes, a.contentType, transcriber!.model, ctx.signal));
      else media.push({ kind: 'audio', contentType: a.contentType, bytes });
      continue;
    }
    images += a.kind === 'pdf' ? (a.pages ?? 1) : 1;
    media.push({ kind: a.kind, contentType: a.contentType, bytes, ...(a.detail ? { detail: a.detail } : {}) });
  }
  return { text: [text, ...transcripts.map((t) => t.trim())].filter(Boolean).join('\n\n'), media, usage: { images, audio_seconds: Math.ceil(seconds) } };
}

export interface SpokenAnswer {
  url: string;
  contentType: string;
  format: 'mp3' | 'wav' | 'ogg';
  voice: string;
  seconds: number;
  expiresAt: string;
}

/** The answer spoken, stored as `runs/<instanceId>/answers/<runId>.<format>`. */
export async function speakAnswer(deps: RunnerDeps, req: RunnerRunRequest, text: string, signal: AbortSignal): Promise<SpokenAnswer | undefined> {
  const speech = req.speech;
  if (!speech?.textToSpeech || !text.trim()) return undefined;
  const speaker = deps.runtimes.models!.speaker()!;
  const format = speech.outputFormat ?? 'mp3';
  const voice = speech.voice ?? 'alloy';
  const bytes = await speaker.client.speak(text, voice, format, speaker.model, signal);
  const contentType = SPOKEN_TYPE[format];
  const key = spokenAnswerKey(req.instanceId, req.runId, format);
  await deps.objectStore.put(key, bytes, { contentType });
  const url = await deps.objectStore.presignGet(key, { expiresInSeconds: SPOKEN_ANSWER_URL_SECONDS });
  const seconds = (await audioSeconds(bytes, contentType)) ?? 0;
  return { url: url.url, contentType, format, voice, seconds: Math.round(seconds * 1000) / 1000, expiresAt: url.expiresAt.toISOString() };
}
