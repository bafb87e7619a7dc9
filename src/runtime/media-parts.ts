/**
 * A run's media as OpenAI Chat Completions content parts (OpenAI API reference "Create chat
 * completion", user message `content` array; the `openai` SDK's ChatCompletionContentPartImage,
 * ChatCompletionContentPartInputAudio and ChatCompletionContentPart.File):
 *
 *   image → `{"type":"image_url","image_url":{"url":"data:<type>;base64,…","detail"}}`
 *   PDF   → `{"type":"file","file":{"filename":"attachment-<n>.pdf","file_data":"data:application/pdf;base64,…"}}`
 *   audio → `{"type":"input_audio","input_audio":{"data":"<base64>","format":"wav"|"mp3"}}`
 *
 * and the refusal of a model that cannot take them: 422 MODALITY_NOT_SUPPORTED naming the
 * capability (`multimodal_vision` for images and PDFs, `multimodal_audio` for audio).
 */
import { AppError } from '../platform/errors';
import type { MediaInput } from '../platform/config/sections/llm';
import type { ChatContentPart } from './model/chat-wire';
import type { MediaPart } from './types';

export const CAPABILITY_OF: Record<MediaPart['kind'], 'multimodal_vision' | 'multimodal_audio'> = { image: 'multimodal_vision', pdf: 'multimodal_vision', audio: 'multimodal_audio' };
const INPUT_OF: Record<MediaPart['kind'], MediaInput> = { image: 'image', pdf: 'file', audio: 'audio' };
const AUDIO_FORMAT: Record<string, 'wav' | 'mp3' | undefined> = { 'audio/wav': 'wav', 'audio/mpeg': 'mp3' };

export function modalityNotSupported(part: Pick<MediaPart, 'kind' | 'contentType'>, why: string, details: Record<string, unknown>): AppError {
  const capability = CAPABILITY_OF[part.kind];
  return new AppError('MODALITY_NOT_SUPPORTED', `${why} (${capability})`, { capability, kind: part.kind, contentType: part.contentType, ...details });
}

/** Refuses media the selected model does not take (its provider's `inputs`). */
export function assertModelTakes(media: MediaPart[], model: { provider: string; model: string; inputs: readonly MediaInput[] }): void {
  for (const m of media) {
    if (!model.inputs.includes(INPUT_OF[m.kind])) {
      throw modalityNotSupported(m, `The model "${model.model}" of provider "${model.provider}" takes no ${INPUT_OF[m.kind]} input`, { provider: model.provider, model: model.model, inputs: model.inputs });
    }
    if (m.kind === 'audio' && !AUDIO_FORMAT[m.contentType]) {
      throw modalityNotSupported(m, `Audio reaches the model as WAV or MP3 only; ${m.contentType} needs speechToText`, { provider: model.provider, model: model.model });
    }
  }
}

export function contentParts(text: string, media: MediaPart[]): ChatContentPart[] {
  const parts: ChatContentPart[] = text ? [{ type: 'text', text }] : [];
  media.forEach((m, i) => {
    const b64 = m.bytes.toString('base64');
    if (m.kind === 'image') parts.push({ type: 'image_url', image_url: { url: `data:${m.contentType};base64,${b64}`, ...(m.detail ? { detail: m.detail } : {}) } });
    else if (m.kind === 'pdf') parts.push({ type: 'file', file: { filename: `attachment-${i + 1}.pdf`, file_data: `data:application/pdf;base64,${b64}` } });
    else parts.push({ type: 'input_audio', input_audio: { data: b64, format: AUDIO_FORMAT[m.contentType]! } });
  });
  return parts;
}
