/**
 * A local server speaking Langflow's flows and run APIs, for tests. Written from Langflow's source:
 * - src/backend/base/langflow/api/v1/flows.py: `POST /api/v1/flows/` (create_flow → 201 FlowRead;
 *   the name made unique with " (n)"; a taken id → 400 "Id must be unique"), `GET /api/v1/flows/{id}`
 *   (read_flow → 200 | 404 "Flow not found"), `PATCH /api/v1/flows/{id}` (update_flow: FlowUpdate,
 *   applied with exclude_unset/exclude_none → 200 FlowRead), `DELETE /api/v1/flows/{id}`
 *   (→ 200 {"message": "Flow deleted successfully"});
 * - src/backend/base/langflow/services/database/models/flow/model.py: FlowCreate — in 1.0 up to the
 *   1.4-era models it has no `id`, so pydantic drops a client id and the row gets a uuid4 (`mode:
 *   'assigns-ids'`); newer releases' `_new_flow` (api/v1/flows_helpers.py) keeps `flow.id`
 *   (`mode: 'keeps-ids'`); FlowBase.validate_json requires `nodes` and `edges` in `data`;
 * - src/backend/base/langflow/api/v1/endpoints.py: `POST /api/v1/run/{flow_id_or_name}?stream=`
 *   (simplified_run_flow; body SimplifiedAPIRequest {input_value, input_type, output_type,
 *   output_component, tweaks, session_id}; an unknown flow → 404 "Flow identifier … not found";
 *   RunResponse {session_id, outputs:[{inputs, outputs:[{results:{message}}]}]}; with stream=true a
 *   text/event-stream body of bare JSON events `{"event": "add_message"|"token"|"end", "data": …}`
 *   separated by blank lines, `end` carrying `{"result": RunResponse}`);
 * - api_key_security (services/auth/utils.py): no key → 403 "An API key must be passed as query or
 *   header", a wrong one → 403 "Invalid or missing API key".
 *
 * "Running" a flow here means: apply the tweaks to the stored graph, take the first Prompt node's
 * `template`, fill `{question}` (and any variable set by a tweak) with the input, and answer that
 * text, prefixed with the flow's stored name. So a test sees which bytes Langflow executed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredFlow {
  id: string;
  name: string;
  description: string | null;
  data: any;
  is_component: boolean;
  endpoint_name: string | null;
  updated_at: string;
  user_id: string;
  folder_id: string;
}

export interface FakeLangflow {
  url: string;
  flows: Map<string, StoredFlow>;
  calls: { method: string; path: string; key?: string; body: any }[];
  /** Streams the answer word by word as `token` events (a model node with `stream` on). */
  streamTokens: boolean;
  /** Pause between streamed tokens (ms). */
  tokenGapMs: number;
  /** Pause before answering a flow create (ms). */
  createDelayMs: number;
  aborted(): Promise<void>;
  close(): Promise<void>;
}

const USER = '00000000-0000-4000-8000-0000000000aa';
const FOLDER = '00000000-0000-4000-8000-0000000000bb';

export async function startFakeLangflow(opts: { apiKey: string; mode: 'assigns-ids' | 'keeps-ids' }): Promise<FakeLangflow> {
  const flows = new Map<string, StoredFlow>();
  const calls: FakeLangflow['calls'] = [];
  let abortWaiters: (() => void)[] = [];
  const state = { streamTokens: false, tokenGapMs: 0, createDelayMs: 0 };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const read = (f: StoredFlow) => ({ ...f, icon: null, icon_bg_color: null, gradient: null, webhook: false, tags: [], locked: false, access_type: 'private', fs_path: null });

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const c of req) raw += c;
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return send(res, 422, { detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] });
    }
    const url = new URL(req.url!, 'http://x');
    calls.push({ method: req.method!, path: url.pathname + url.search, key: req.headers['x-api-key'] as string | undefined, body });
    res.on('close', () => {
      if (!res.writableFinished) {
        for (const w of abortWaiters) w();
        abortWaiters = [];
      }
    });
    const key = req.headers['x-api-key'];
    if (!key) return send(res, 403, { detail: 'An API key must be passed as query or header' });
    if (key !== opts.apiKey) return send(res, 403, { detail: 'Invalid or missing API key' });

    const one = /^\/api\/v1\/flows\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/api/v1/flows/') {
      if (state.createDelayMs) await new Promise((r) => setTimeout(r, state.createDelayMs));
      return create(body, res);
    }
    if (one && req.method === 'GET') {
      const f = flows.get(one[1]);
      return f ? send(res, 200, read(f)) : send(res, 404, { detail: 'Flow not found' });
    }
    if (one && req.method === 'PATCH') {
      const f = flows.get(one[1]);
      if (!f) return send(res, 404, { detail: 'Flow not found' });
      for (const field of ['name', 'description', 'data', 'endpoint_name'] as const) {
        if (body?.[field] !== undefined && body[field] !== null) (f as any)[field] = body[field];
      }
      f.updated_at = new Date().toISOString();
      return send(res, 200, read(f));
    }
    if (one && req.method === 'DELETE') {
      if (!flows.delete(one[1])) return send(res, 404, { detail: 'Flow not found' });
      return send(res, 200, { message: 'Flow deleted successfully' });
    }
    const run = /^\/api\/v1\/run\/([^/]+)$/.exec(url.pathname);
    if (run && req.method === 'POST') return runFlow(decodeURIComponent(run[1]), url.searchParams.get('stream') === 'true', body, res);
    return send(res, 404, { detail: 'Not Found' });
  });

  function create(body: any, res: ServerResponse) {
    if (!body || typeof body.name !== 'string') return send(res, 422, { detail: [{ type: 'missing', loc: ['body', 'name'], msg: 'Field required' }] });
    if (body.data && (!('nodes' in body.data) || !('edges' in body.data))) return send(res, 422, { detail: [{ type: 'value_error', loc: ['body', 'data'], msg: 'Value error, Flow must have nodes' }] });
    const id = opts.mode === 'keeps-ids' && typeof body.id === 'string' ? body.id : randomUUID();
    if (flows.has(id)) return send(res, 400, { detail: 'Id must be unique' });
    let name = body.name;
    if ([...flows.values()].some((f) => f.name === name)) {
      const n = [...flows.values()].map((f) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((\\d+)\\)$`).exec(f.name)?.[1]).filter(Boolean).map(Number);
      name = `${name} (${n.length ? Math.max(...n) + 1 : 1})`;
    }
    const f: StoredFlow = { id, name, description: body.description ?? null, data: body.data ?? null, is_component: !!body.is_component, endpoint_name: body.endpoint_name ?? null, updated_at: new Date().toISOString(), user_id: USER, folder_id: FOLDER };
    flows.set(id, f);
    send(res, 201, read(f));
  }

  function answerOf(f: StoredFlow, body: any): string {
    const tweaks = body?.tweaks ?? {};
    const nodes: any[] = f.data?.nodes ?? [];
    const prompt = nodes.find((n) => n?.data?.type === 'Prompt');
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries<any>(prompt?.data?.node?.template ?? {})) if (v && typeof v === 'object' && 'value' in v) params[k] = v.value;
    Object.assign(params, prompt ? tweaks[prompt.id] ?? {} : {});
    const template = String(params.template ?? '{question}');
    const filled = template.replace(/\{([^{}]+)\}/g, (_, name: string) => (name === 'question' ? String(body?.input_value ?? '') : String(params[name] ?? '')));
    return `[${f.name}] ${filled}`;
  }

  function runResponse(f: StoredFlow, text: string, sessionId: string, inputValue: string) {
    const message = { timestamp: new Date().toISOString(), sender: 'Machine', sender_name: 'AI', session_id: sessionId, text, files: [], error: false, edit: false, properties: { text_color: '', background_color: '', edited: false, source: { id: null, display_name: null, source: null }, icon: '', allow_markdown: false, positive_feedback: null, state: 'complete', targets: [] }, category: 'message', content_blocks: [], id: randomUUID(), flow_id: f.id };
    return {
      session_id: sessionId,
      outputs: [{
        inputs: { input_value: inputValue },
        outputs: [{
          results: { message: { text_key: 'text', data: message, default_value: '', ...message } },
          artifacts: { message: text, sender: 'Machine', sender_name: 'AI', files: [], type: 'object' },
          outputs: { message: { message: text, type: 'text' } },
          logs: { message: [] },
          messages: [{ message: text, sender: 'Machine', sender_name: 'AI', session_id: sessionId, stream_url: null, component_id: 'ChatOutput', files: [], type: 'message' }],
          timedelta: null,
          duration: null,
          component_display_name: 'Chat Output',
          component_id: 'ChatOutput',
          used_frozen_result: false,
        }],
      }],
    };
  }

  async function runFlow(idOrName: string, stream: boolean, body: any, res: ServerResponse) {
    const f = flows.get(idOrName) ?? [...flows.values()].find((x) => x.endpoint_name === idOrName);
    if (!f) return send(res, 404, { detail: `Flow identifier ${idOrName} not found` });
    const sessionId = typeof body?.session_id === 'string' ? body.session_id : f.id;
    const text = answerOf(f, body);
    const result = runResponse(f, text, sessionId, body?.input_value ?? '');
    if (!stream) return send(res, 200, result);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const event = (e: unknown) => new Promise<void>((r) => (res.destroyed ? r() : res.write(`${JSON.stringify(e)}\n\n`, () => r())));
    await event({ event: 'add_message', data: { sender: 'User', sender_name: 'User', session_id: sessionId, text: body?.input_value ?? '', flow_id: f.id, id: randomUUID() } });
    const messageId = randomUUID();
    if (state.streamTokens) {
      for (const chunk of text.split(/(?<= )/)) {
        if (res.destroyed) return;
        await event({ event: 'token', data: { chunk, id: messageId, timestamp: new Date().toISOString() } });
        if (state.tokenGapMs) await new Promise((r) => setTimeout(r, state.tokenGapMs));
      }
    }
    await event({ event: 'add_message', data: { sender: 'Machine', sender_name: 'AI', session_id: sessionId, text, flow_id: f.id, id: messageId } });
    await event({ event: 'end', data: { result } });
    res.end();
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    flows,
    calls,
    get streamTokens() {
      return state.streamTokens;
    },
    set streamTokens(v: boolean) {
      state.streamTokens = v;
    },
    get tokenGapMs() {
      return state.tokenGapMs;
    },
    set tokenGapMs(v: number) {
      state.tokenGapMs = v;
    },
    get createDelayMs() {
      return state.createDelayMs;
    },
    set createDelayMs(v: number) {
      state.createDelayMs = v;
    },
    aborted: () => new Promise<void>((r) => abortWaiters.push(r)),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
