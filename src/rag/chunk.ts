/**
 * Text extraction and chunking for the embedded backend: plain text, markdown, CSV/JSON as text,
 * and simple HTML (scripts/styles dropped, tags stripped, common entities decoded). PDF and DOCX
 * need a real parser (Ragflow's); the embedded backend refuses them.
 */
export const CHUNK_SIZE = 800;
export const CHUNK_OVERLAP = 120;

const TEXT_TYPES = new Set(['text/plain', 'text/markdown', 'text/html', 'text/csv', 'application/json']);

export function isTextType(contentType: string): boolean {
  return TEXT_TYPES.has(contentType.split(';')[0]!.trim().toLowerCase());
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|noscript)[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<\/(p|div|h[1-6]|li|tr|section|article|br)\s*>|<br\s*\/?>/gi, '\n\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

export function extractText(bytes: Buffer, contentType: string): string {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'text/html' ? htmlToText(text) : text;
}

/**
 * ~`size`-character chunks with `overlap` characters repeated between neighbours; a chunk ends
 * at a paragraph break, else a sentence end, else whitespace, in its last third when possible.
 */
export function chunkText(raw: string, size = CHUNK_SIZE, overlap = CHUNK_OVERLAP): string[] {
  const text = raw.replace(/\r\n?/g, '\n').replace(/[ \t]+/g, ' ').replace(/\n{3,}/g, '\n\n').trim();
  if (!text) return [];
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    if (end < text.length) {
      const window = text.slice(start + Math.floor(size * 0.6), end);
      const base = start + Math.floor(size * 0.6);
      const para = window.lastIndexOf('\n\n');
      const sentence = Math.max(window.lastIndexOf('. '), window.lastIndexOf('? '), window.lastIndexOf('! '), window.lastIndexOf('.\n'));
      const space = window.lastIndexOf(' ');
      if (para >= 0) end = base + para;
      else if (sentence >= 0) end = base + sentence + 1;
      else if (space >= 0) end = base + space;
    }
    const piece = text.slice(start, end).trim();
    if (piece) chunks.push(piece);
    if (end >= text.length) break;
    let next = Math.max(end - overlap, start + 1);
    // Start the overlap at a word boundary.
    const ws = text.indexOf(' ', next);
    if (ws >= 0 && ws < end) next = ws + 1;
    start = next;
  }
  return chunks;
}

/** Pages for metering (`ingested_pages`): one per ~3,000 characters of text, at least one. */
export function pagesOf(text: string): number {
  return Math.max(1, Math.ceil(text.length / 3000));
}
