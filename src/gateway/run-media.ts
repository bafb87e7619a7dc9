/**
 * Images, PDFs and audio of a run: the upload ticket, then the checks at run time.
 *
 * An upload is an object at `runs/<instanceId>/<caller>/<uploadId>` (`<caller>` a digest of the
 * caller's kind and subject), so an `uploadId` resolves only for the caller and instance it was
 * made for — another tenant's or another caller's id finds no object and answers 404, with no
 * record to keep: the key is the scope.
 *
 * At run time, before any hold (a refusal is never charged): the instance has the capability
 * (422 MODALITY_NOT_SUPPORTED naming it), the object exists (404), its size is within
 * `maxImageBytes` / the audio cap (413 ATTACHMENT_TOO_LARGE), its bytes are one of
 * `acceptedMimeTypes` of the part's kind (422 ATTACHMENT_TYPE_NOT_ACCEPTED — the magic numbers,
 * not the declared type), a PDF has at most `maxPdfPages` pages (422 PDF_TOO_MANY_PAGES), images
 * plus PDF pages are at most `maxImagesPerRun` (422 TOO_MANY_ATTACHMENTS), audio lasts at most
 * `maxAudioSeconds` (422 AUDIO_TOO_LONG). The Runner then gets a presigned GET URL and the sha256
 * of exactly the bytes checked, so what runs is what was checked.
 */
import { createHash } from 'node:crypto';
import type { Entitlements } from '../../generated/control-plane/types';
import type { RunInputPart } from '../../generated/gateway/types';
import type { RunnerAttachment, RunnerSpeech } from '../../generated/runner/types';
import { withDefaults } from '../capabilities/config-defaults';
import { uploadKey } from '../media/keys';
import { audioSeconds, pdfPages, sniffType } from '../media/probe';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import { newId } from '../platform/ids';
import type { ObjectStore } from '../storage/object-store';

/** Largest audio upload (the OpenAI transcription endpoint's own limit, 25 MiB). */
export const MAX_AUDIO_BYTES = 26_214_400;
/** How long an upload ticket, and the Runner's read of an attachment, stay valid. */
export const UPLOAD_URL_SECONDS = 900;
export const ATTACHMENT_READ_SECONDS = 300;

type PartType = RunInputPart['type'];
type Vision = { acceptedMimeTypes: string[]; maxImagesPerRun: number; maxImageBytes: number; maxPdfPages: number; detail: 'low' | 'high' | 'auto' };
type Audio = { speechToText: boolean; textToSpeech: boolean; voice: string; acceptedMimeTypes: string[]; maxAudioSeconds: number; outputFormat: 'mp3' | 'wav' | 'ogg' };

const CAPABILITY: Record<PartType, 'multimodal_vision' | 'multimodal_audio'> = { image: 'multimodal_vision', file: 'multimodal_vision', audio: 'multimodal_audio' };
const WHAT: Record<PartType, string> = { image: 'images', file: 'PDF files', audio: 'audio' };
/** The types a part of each kind may be (then narrowed by the capability's acceptedMimeTypes). */
const FAMILY: Record<PartType, (t: string) => boolean> = { image: (t) => t.startsWith('image/'), file: (t) => t === 'application/pdf', audio: (t) => t.startsWith('audio/') };

function configOf<T>(ent: Entitlements, capability: string): T | undefined {
  if (!ent.capabilities.includes(capability)) return undefined;
  return withDefaults(capability, structuredClone((ent.config as Record<string, unknown>)[capability] ?? {})) as T;
}

/** The capability's config, or 422 MODALITY_NOT_SUPPORTED naming it. */
function capabilityFor<T>(ent: Entitlements, type: PartType): T {
  const capability = CAPABILITY[type];
  const config = configOf<T>(ent, capability);
  if (!config) throw new AppError('MODALITY_NOT_SUPPORTED', `This instance does not take ${WHAT[type]} (${capability})`, { capability, instanceId: ent.instanceId, type });
  return config;
}

function maxBytesFor(type: PartType, config: Vision | Audio): { field: string; max: number } {
  return type === 'audio' ? { field: 'maxAudioBytes', max: MAX_AUDIO_BYTES } : { field: 'maxImageBytes', max: (config as Vision).maxImageBytes };
}


export interface UploadRequest {
  type: PartType;
  contentType: string;
  sizeBytes: number;
}

/** A presigned PUT for one attachment, after the capability, declared type and size checks. */
export async function createUploadTicket(store: ObjectStore, ent: Entitlements, caller: Caller, req: UploadRequest) {
  const config = capabilityFor<Vision | Audio>(ent, req.type);
  const capability = CAPABILITY[req.type];
  if (!FAMILY[req.type](req.contentType) || !config.acceptedMimeTypes.includes(req.contentType)) {
    throw new AppError('ATTACHMENT_TYPE_NOT_ACCEPTED', `A ${req.type} part of this instance is one of ${config.acceptedMimeTypes.filter(FAMILY[req.type]).join(', ') || 'no type'}`, {
      capability, declaredType: req.contentType, acceptedMimeTypes: config.acceptedMimeTypes,
    });
  }
  const { field, max } = maxBytesFor(req.type, config);
  if (req.sizeBytes > max) throw new AppError('ATTACHMENT_TOO_LARGE', `Files up to ${max} bytes can be attached`, { capability, [field]: max, sizeBytes: req.sizeBytes });
  const uploadId = newId('upl');
  const presigned = await store.presignPut(uploadKey(ent.instanceId, caller, uploadId), { contentType: req.contentType, expiresInSeconds: UPLOAD_URL_SECONDS, maxBytes: max });
  return {
    uploadId,
    instanceId: ent.instanceId,
    type: req.type,
    url: presigned.url,
    method: 'PUT' as const,
    headers: presigned.headers,
    maxSizeBytes: max,
    expiresAt: presigned.expiresAt.toISOString(),
  };
}

export interface RunMedia {
  attachments: RunnerAttachment[];
  speech?: RunnerSpeech;
  /** What the media add to the bill before the model runs (for the hold): images, audio_seconds. */
  usage: { images: number; audio_seconds: number };
}

/** Checks every part of a run and gives the Runner what to fetch; throws the first refusal. */
export async function resolveParts(store: ObjectStore, ent: Entitlements, caller: Caller, parts: RunInputPart[] | undefined): Promise<RunMedia | undefined> {
  if (!parts?.length) return undefined;
  // Capabilities first: a part the instance cannot take is refused before any object is read.
  for (const p of parts) capabilityFor(ent, p.type);
  const vision = configOf<Vision>(ent, 'multimodal_vision');
  const audio = configOf<Audio>(ent, 'multimodal_audio');
  const visual = parts.filter((p) => p.type !== 'audio').length;
  if (vision && visual > vision.maxImagesPerRun) {
    throw new AppError('TOO_MANY_ATTACHMENTS', `At most ${vision.maxImagesPerRun} images (PDF pages count one each) per run`, { capability: 'multimodal_vision', maxImagesPerRun: vision.maxImagesPerRun, images: visual });
  }
  const attachments: RunnerAttachment[] = [];
  let images = 0;
  let seconds = 0;
  for (const part of parts) {
    const config = (part.type === 'audio' ? audio : vision)!;
    const capability = CAPABILITY[part.type];
    const key = uploadKey(ent.instanceId, caller, part.uploadId);
    const head = await store.head(key);
    if (!head) throw new AppError('NOT_FOUND', 'Upload not found: upload the file with createRunUpload for this instance first', { uploadId: part.uploadId });
    const { field, max } = maxBytesFor(part.type, config);
    if (head.size > max) throw new AppError('ATTACHMENT_TOO_LARGE', `The file is larger than ${max} bytes`, { capability, uploadId: part.uploadId, [field]: max, sizeBytes: head.size });
    const object = await store.get(key);
    if (!object) throw new AppError('NOT_FOUND', 'Upload not found: upload the file with createRunUpload for this instance first', { uploadId: part.uploadId });
    if (object.bytes.length > max) throw new AppError('ATTACHMENT_TOO_LARGE', `The file is larger than ${max} bytes`, { capability, uploadId: part.uploadId, [field]: max, sizeBytes: object.bytes.length });
    const detected = sniffType(object.bytes);
    if (!detected || !FAMILY[part.type](detected) || !config.acceptedMimeTypes.includes(detected)) {
      throw new AppError('ATTACHMENT_TYPE_NOT_ACCEPTED', `The file is ${detected ?? 'of an unknown type'}, not one of the types a ${part.type} part of this instance takes`, {
        capability, uploadId: part.uploadId, detectedType: detected ?? null, declaredType: head.contentType, acceptedMimeTypes: config.acceptedMimeTypes,
      });
    }
    const base = {
      contentType: detected as RunnerAttachment['contentType'],
      url: (await store.presignGet(key, { expiresInSeconds: ATTACHMENT_READ_SECONDS })).url,
      sha256: createHash('sha256').update(object.bytes).digest('hex'),
      sizeBytes: object.bytes.length,
    };
    if (part.type === 'audio') {
      const a = config as Audio;
      const s = await audioSeconds(object.bytes, detected);
      if (s === undefined) throw new AppError('ATTACHMENT_TYPE_NOT_ACCEPTED', `The ${detected} file has no readable duration`, { capability, uploadId: part.uploadId, detectedType: detected, acceptedMimeTypes: a.acceptedMimeTypes });
      if (s > a.maxAudioSeconds) throw new AppError('AUDIO_TOO_LONG', `The audio is ${Math.ceil(s)} seconds long; at most ${a.maxAudioSeconds} are taken`, { capability, uploadId: part.uploadId, maxAudioSeconds: a.maxAudioSeconds, seconds: Math.round(s * 100) / 100 });
      seconds += s;
      attachments.push({ kind: 'audio', ...base, seconds: Math.round(s * 1000) / 1000 });
      continue;
    }
    const v = config as Vision;
    if (detected === 'application/pdf') {
      const pages = await pdfPages(object.bytes);
      if (pages === undefined) throw new AppError('ATTACHMENT_TYPE_NOT_ACCEPTED', 'The PDF cannot be read', { capability, uploadId: part.uploadId, detectedType: detected, acceptedMimeTypes: v.acceptedMimeTypes });
      if (pages > v.maxPdfPages) throw new AppError('PDF_TOO_MANY_PAGES', `The PDF has ${pages} pages; at most ${v.maxPdfPages} are taken`, { capability, uploadId: part.uploadId, maxPdfPages: v.maxPdfPages, pages });
      images += pages;
      attachments.push({ kind: 'pdf', ...base, pages, detail: v.detail });
    } else {
      images += 1;
      attachments.push({ kind: 'image', ...base, detail: v.detail });
    }
    if (images > v.maxImagesPerRun) {
      throw new AppError('TOO_MANY_ATTACHMENTS', `At most ${v.maxImagesPerRun} images (PDF pages count one each) per run`, { capability, maxImagesPerRun: v.maxImagesPerRun, images });
    }
  }
  const heard = Math.ceil(seconds);
  return {
    attachments,
    ...(audio ? { speech: { speechToText: audio.speechToText, textToSpeech: audio.textToSpeech, voice: audio.voice, outputFormat: audio.outputFormat } } : {}),
    usage: { images, audio_seconds: heard },
  };
}

/** The instance's text-to-speech settings when it speaks its answers (runs without attachments too). */
export function speechOf(ent: Entitlements): RunnerSpeech | undefined {
  const audio = configOf<Audio>(ent, 'multimodal_audio');
  return audio?.textToSpeech ? { speechToText: audio.speechToText, textToSpeech: true, voice: audio.voice, outputFormat: audio.outputFormat } : undefined;
}
