/**
 * Server-Sent Events, both ways.
 *
 * `readSseEvents` decodes a byte stream with `eventsource-parser` (the WHATWG event-stream
 * interpretation, as the gateway reads the Runner's stream): `event:` names an event, `data:`
 * lines are joined with `\n`, comments are skipped, and an event not ended by a blank line when
 * the stream ends is discarded.
 *
 * `sseFrame` writes one event of the Runner's own stream: `event: <name>` + one `data:` line.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  event: string | null;
  data: string;
}

export async function* readSseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let ready: SseEvent[] = [];
  const parser = createParser({ onEvent: (ev: EventSourceMessage) => ready.push({ event: ev.event ?? null, data: ev.data }) });
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }));
    const out = ready;
    ready = [];
    yield* out;
  }
  parser.feed(decoder.decode());
  yield* ready;
}

/** One Server-Sent Event: `event: <name>\ndata: <json>\n\n` (JSON never contains a raw newline). */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
