import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors';

/** Reads the exact request bytes, refusing bodies over `limit` with 413. */
export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`, { limit });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`, { limit });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

export function isJsonContentType(type: string | undefined): boolean {
  return !!type && JSON_TYPE.test(type);
}

/** Parses a JSON body; malformed JSON is a canonical 400 MALFORMED_JSON. */
export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new AppError('MALFORMED_JSON', 'Request body is not valid JSON', { reason: (err as Error).message });
  }
}
