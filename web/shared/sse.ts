/**
 * A Server-Sent Events reader for `fetch` bodies (EventSource cannot POST or send a bearer token).
 * Follows the WHATWG HTML "event stream interpretation": lines end with CRLF, LF or CR; `event:`
 * names the event, `data:` lines are joined with LF, a blank line dispatches, `:` starts a comment,
 * a single space after the colon is dropped; an event with no data is not dispatched.
 */
export interface SseEvent {
  event: string;
  data: string;
}

export function createSseParser(onEvent: (e: SseEvent) => void): { push(chunk: string): void; end(): void } {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const dispatch = () => {
    if (data.length) onEvent({ event: event || 'message', data: data.join('\n') });
    event = '';
    data = [];
  };
  const line = (l: string) => {
    if (l === '') return dispatch();
    if (l.startsWith(':')) return;
    const i = l.indexOf(':');
    const field = i === -1 ? l : l.slice(0, i);
    let value = i === -1 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  return {
    push(chunk) {
      buffer += chunk;
      for (;;) {
        const m = /\r\n|\n|\r/.exec(buffer);
        if (!m) break;
        // A CR at the very end may be the first half of CRLF: wait for the next chunk.
        if (m[0] === '\r' && m.index === buffer.length - 1) break;
        line(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
      }
    },
    end() {
      // A lone CR at the very end did end its line; any other unterminated line is dropped.
      if (buffer.endsWith('\r')) line(buffer.slice(0, -1));
      buffer = '';
      // A final event without its blank line is discarded, as the spec says.
    },
  };
}
