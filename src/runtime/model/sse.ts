/**
 * Server-Sent Events, both ways.
 *
 * `readSseEvents` decodes a byte stream as the WHATWG "event stream interpretation" does (and as
 * the `openai` SDK's src/core/streaming.ts `SSEDecoder` does): lines end in CRLF, LF or CR; a blank
 * line dispatches the event; `event:` names it, every `data:` line is joined with `\n`; a leading
 * space after the colon is dropped; lines starting `:` are comments; other fields are ignored;
 * an event not ended by a blank line when the stream ends is discarded.
 *
 * `sseFrame` writes one event the Runner's own stream uses: `event: <name>` + one `data:` line.
 */

export interface SseEvent {
  event: string | null;
  data: string;
}

export async function* readSseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | null = null;
  let data: string[] = [];
  let seen = false;
  const line = function* (text: string): Generator<SseEvent> {
    if (text === '') {
      if (seen) yield { event, data: data.join('\n') };
      event = null;
      data = [];
      seen = false;
      return;
    }
    if (text.startsWith(':')) return;
    const at = text.indexOf(':');
    const field = at < 0 ? text : text.slice(0, at);
    let value = at < 0 ? '' : text.slice(at + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') {
      event = value;
      seen = true;
    } else if (field === 'data') {
      data.push(value);
      seen = true;
    }
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    for (;;) {
      const m = /\r\n|\n|\r/.exec(buffer);
      // A lone CR at the end may be the first half of CRLF: wait for the next bytes.
      if (!m || (m[0] === '\r' && m.index === buffer.length - 1)) break;
      const text = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      yield* line(text);
    }
  }
  // What is left has no terminating blank line: an event cut off by the end of the stream is
  // discarded, as the WHATWG algorithm says (a lone CR still ends a complete line).
  buffer += decoder.decode();
  if (buffer.endsWith('\r')) yield* line(buffer.slice(0, -1));
}

/** One Server-Sent Event: `event: <name>\ndata: <json>\n\n` (JSON never contains a raw newline). */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
