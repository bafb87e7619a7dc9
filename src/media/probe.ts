/**
 * What a file of a run really is, read from its bytes — never from the type its uploader declared:
 *
 * - the type, from the format's magic numbers (PNG signature, JPEG SOI marker, RIFF/WEBP,
 *   `%PDF-`, RIFF/WAVE, ID3 or an MPEG audio frame sync, `OggS`, the EBML header of WebM);
 * - the pages of a PDF, through `pdf-lib` (its page tree, as a viewer counts them);
 * - the duration of audio, through `music-metadata` (WAV from its header, MP3 from its frames or
 *   Xing/VBRI header, Ogg and WebM from their granule positions / segment info).
 */
import { parseBuffer } from 'music-metadata';
import { PDFDocument } from 'pdf-lib';

export type MediaType =
  | 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif'
  | 'application/pdf'
  | 'audio/wav' | 'audio/mpeg' | 'audio/ogg' | 'audio/webm';

const starts = (b: Uint8Array, sig: number[], at = 0) => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The type the bytes are, or undefined when they are none of the types the platform knows. */
export function sniffType(b: Uint8Array): MediaType | undefined {
  if (starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts(b, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts(b, ascii('GIF87a')) || starts(b, ascii('GIF89a'))) return 'image/gif';
  if (starts(b, ascii('RIFF')) && starts(b, ascii('WEBP'), 8)) return 'image/webp';
  if (starts(b, ascii('RIFF')) && starts(b, ascii('WAVE'), 8)) return 'audio/wav';
  if (starts(b, ascii('%PDF-'))) return 'application/pdf';
  if (starts(b, ascii('OggS'))) return 'audio/ogg';
  if (starts(b, [0x1a, 0x45, 0xdf, 0xa3])) return 'audio/webm';
  if (starts(b, ascii('ID3'))) return 'audio/mpeg';
  // An MPEG audio frame header: 11 sync bits, a layer that is not "reserved", a bitrate index that is not "bad".
  if (b.length >= 4 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0 && (b[2]! & 0xf0) !== 0xf0) return 'audio/mpeg';
  return undefined;
}

/** The page count of a PDF; undefined when it cannot be parsed. */
export async function pdfPages(bytes: Uint8Array): Promise<number | undefined> {
  try {
    const doc = await PDFDocument.load(bytes, { ignoreEncryption: true, updateMetadata: false });
    return doc.getPageCount();
  } catch {
    return undefined;
  }
}

/** The duration of audio in seconds; undefined when the file gives none. */
export async function audioSeconds(bytes: Uint8Array, mimeType: string): Promise<number | undefined> {
  try {
    const meta = await parseBuffer(bytes, { mimeType, size: bytes.length }, { duration: true, skipCovers: true });
    const d = meta.format.duration;
    return typeof d === 'number' && Number.isFinite(d) && d >= 0 ? d : undefined;
  } catch {
    return undefined;
  }
}
