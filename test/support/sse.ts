/** Reading a Server-Sent Events answer in tests (fetch's streaming body, eventsource-parser). */
import { createParser } from 'eventsource-parser';

export interface SseEvent {
  event: string;
  data: any;
}

/**
 * Reads `res`'s events until the stream ends, or until `stop(event)` says so (then the request is
 * aborted through `abort`, as a browser tab closing would).
 */
export async function readEvents(res: Response, opts: { stop?: (e: SseEvent, all: SseEvent[]) => boolean; abort?: AbortController } = {}): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  let stopped = false;
  const parser = createParser({
    onEvent(ev) {
      if (stopped) return;
      const e = { event: ev.event ?? 'message', data: JSON.parse(ev.data) };
      events.push(e);
      if (opts.stop?.(e, events)) {
        stopped = true;
        opts.abort?.abort();
      }
    },
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (stopped) break;
    }
  } catch (err) {
    if (!stopped) throw err;
  }
  return events;
}
