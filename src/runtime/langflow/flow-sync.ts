/**
 * Puts the certified flow into Langflow and answers the id to run it under, so a run on Langflow
 * executes exactly the graph whose sha256 was verified — not whatever Langflow holds under the
 * export's own id. Langflow's flows API (src/backend/base/langflow/api/v1/flows.py):
 *   POST  /api/v1/flows/        FlowCreate {name, description, data, is_component, id?} → 201 FlowRead
 *   GET   /api/v1/flows/{id}    → 200 FlowRead | 404
 *   PATCH /api/v1/flows/{id}    FlowUpdate {data, …} → 200 FlowRead | 404
 *   DELETE /api/v1/flows/{id}   → 200
 * with `x-api-key`. Flow ids, by Langflow version:
 *   - 1.0 up to the 1.4-era models, `FlowCreate` has no `id` field: pydantic drops the one sent
 *     and the row gets a fresh uuid4;
 *   - newer releases accept `id` on create (`_new_flow` uses `flow.id`, "stable import") and
 *     answer 400 "… must be unique" when that id exists.
 * The Runner sends an id derived from the sha256 and records whatever id Langflow answers, in the
 * durable store (artifact sha256 → flow id), so both behaviours run the certified flow, and a
 * record lost on the newer ones is found again under the derived id.
 *
 * Before a recorded flow is used (first use in this process, then at most every
 * `verifyIntervalMs`) its graph is read back and compared with the certified one (nodes and edges,
 * key order ignored); an edited flow is patched back, a deleted one created again. After a 404
 * from the run API the next run re-checks at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { abortable } from '../builtin/context';
import type { FlowExport } from '../flow';
import type { LangflowFlowStore } from './flow-store';

export interface LangflowFlowSyncOptions {
  /** LANGFLOW_URL without a trailing slash. */
  base: string;
  apiKey?: string;
  store: LangflowFlowStore;
  fetch?: typeof fetch;
  log?: Logger;
  /** How long a verified flow is trusted before its graph is read back again (default 60 s). */
  verifyIntervalMs?: number;
  /** Bound on one sync (read back, create, record), shared by the runs waiting for it (default 30 s). */
  syncTimeoutMs?: number;
  now?: () => number;
}

export interface SyncCall {
  signal: AbortSignal;
  requestId: string;
}

/** A UUID derived from the artifact's sha256 (version 8, RFC 9562 "custom"): the same artifact, the same id. */
export function flowIdForArtifact(sha256: string): string {
  const h = createHash('sha256').update(`agent-store:langflow-flow:${sha256}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** JSON with object keys sorted: two graphs that differ only in key order compare equal. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

const graphOf = (data: any) => canonicalJson({ nodes: data?.nodes ?? [], edges: data?.edges ?? [] });

type Check = 'same' | 'patched' | 'missing';

export class LangflowFlowSync {
  private readonly fetch: typeof fetch;
  private readonly verified = new Map<string, { flowId: string; at: number }>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly now: () => number;

  constructor(private readonly opts: LangflowFlowSyncOptions) {
    this.fetch = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /** The Langflow flow id holding the certified `flow` (created or repaired when needed). */
  async flowIdFor(flow: FlowExport, sha256: string, call: SyncCall): Promise<string> {
    const hit = this.verified.get(sha256);
    if (hit && this.now() - hit.at < (this.opts.verifyIntervalMs ?? 60_000)) return hit.flowId;
    let pending = this.inFlight.get(sha256);
    if (!pending) {
      // Shared by every run waiting for this artifact: bounded by its own timeout, not by the
      // first caller (who may go away while others wait).
      const own = { signal: AbortSignal.timeout(this.opts.syncTimeoutMs ?? 30_000), requestId: call.requestId };
      pending = this.sync(flow, sha256, own).finally(() => this.inFlight.delete(sha256));
      this.inFlight.set(sha256, pending);
    }
    const flowId = await abortable(pending, call.signal);
    this.verified.set(sha256, { flowId, at: this.now() });
    return flowId;
  }

  /** The run API answered 404 for this artifact's flow: check it again before the next run. */
  forget(sha256: string): void {
    this.verified.delete(sha256);
  }

  private async sync(flow: FlowExport, sha256: string, call: SyncCall): Promise<string> {
    const { base, store } = this.opts;
    const log = this.opts.log?.child({ runtime: 'langflow', artifactSha256: sha256, requestId: call.requestId });
    const recorded = await store.get(base, sha256);
    if (recorded) {
      const state = await this.check(recorded, flow, call);
      if (state !== 'missing') {
        if (state === 'patched') log?.warn({ flowId: recorded }, 'langflow flow differed from the certified artifact; restored it');
        return recorded;
      }
      const created = await this.create(flow, sha256, call);
      const winner = await store.replace(base, sha256, recorded, created);
      if (winner !== created) await this.remove(created, call);
      log?.warn({ was: recorded, flowId: winner }, 'langflow flow was gone; created it again');
      return winner;
    }
    const created = await this.create(flow, sha256, call);
    const winner = await store.claim(base, sha256, created);
    if (winner !== created) {
      await this.remove(created, call);
      return winner;
    }
    log?.info({ flowId: created }, 'certified flow put into langflow');
    return created;
  }

  /** Reads the flow back: the same graph, patched back to it, or gone. */
  private async check(flowId: string, flow: FlowExport, call: SyncCall): Promise<Check> {
    const got = await this.request('GET', `/api/v1/flows/${encodeURIComponent(flowId)}`, undefined, call);
    if (got.status === 404) return 'missing';
    this.expectOk(got, 'read', flowId);
    if (graphOf(got.body?.data) === graphOf(flow.data)) return 'same';
    const patched = await this.request('PATCH', `/api/v1/flows/${encodeURIComponent(flowId)}`, { data: flow.data }, call);
    if (patched.status === 404) return 'missing';
    this.expectOk(patched, 'restore', flowId);
    return 'patched';
  }

  private async create(flow: FlowExport, sha256: string, call: SyncCall): Promise<string> {
    const id = flowIdForArtifact(sha256);
    const name = `${(flow.name ?? 'Flow').slice(0, 80)} [${sha256.slice(0, 12)}]`;
    const body = (n: string) => ({
      id,
      name: n,
      description: flow.description ?? null,
      data: flow.data,
      is_component: false,
    });
    let res = await this.request('POST', '/api/v1/flows/', body(name), call);
    if ((res.status === 400 || res.status === 409) && /\bid\b.*(unique|exists)|already exists/i.test(detailOf(res.body))) {
      // Newer Langflow keeps our id: the flow is there already (its record was lost).
      const state = await this.check(id, flow, call);
      if (state !== 'missing') return id;
    }
    if ((res.status === 400 || res.status === 409) && /name/i.test(detailOf(res.body))) {
      // Older Langflow refuses a duplicate name: a copy from a lost record holds it.
      res = await this.request('POST', '/api/v1/flows/', body(`${name} ${randomBytes(3).toString('hex')}`), call);
    }
    this.expectOk(res, 'create');
    const created = res.body?.id;
    if (typeof created !== 'string' || !created) throw new AppError('RUNTIME_ERROR', 'Langflow created the flow but answered no id', { dependency: 'langflow', operation: 'create' });
    return created;
  }

  /** Best effort: a duplicate this runner created while another one won the record. */
  private async remove(flowId: string, call: SyncCall): Promise<void> {
    try {
      await this.request('DELETE', `/api/v1/flows/${encodeURIComponent(flowId)}`, undefined, call);
    } catch (err) {
      this.opts.log?.warn({ err, flowId }, 'could not delete a duplicate langflow flow');
    }
  }

  private expectOk(res: { status: number; body: any }, operation: string, flowId?: string): void {
    if (res.status >= 200 && res.status < 300) return;
    const detail = this.scrub(detailOf(res.body));
    const where = { dependency: 'langflow', operation, status: res.status, ...(flowId ? { flowId } : {}), ...(detail ? { detail } : {}) };
    if (res.status === 401 || res.status === 403) {
      throw new AppError('RUNTIME_ERROR', `Langflow refused the API key${flowId ? ` (or its user does not own flow ${flowId})` : ''}`, where);
    }
    if (res.status >= 500) throw new AppError('RUNTIME_UNAVAILABLE', 'Langflow is unavailable', where);
    throw new AppError('RUNTIME_ERROR', `Langflow refused to ${operation} the flow${detail ? `: ${detail}` : ''}`, where);
  }

  /** One flows-API call; 502/503/504 and network errors are tried once more. */
  private async request(method: string, path: string, body: unknown, call: SyncCall): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': call.requestId };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.apiKey) headers['x-api-key'] = this.opts.apiKey;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetch(`${this.opts.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: call.signal, redirect: 'error' });
      } catch (err) {
        if (call.signal.aborted) {
          throw new AppError('DEPENDENCY_TIMEOUT', 'Langflow did not answer its flows API in time', { dependency: 'langflow', operation: `${method} ${path.split('/').slice(0, 4).join('/')}` }, { cause: err });
        }
        if (attempt < 2) continue;
        throw new AppError('RUNTIME_UNAVAILABLE', 'Langflow is unavailable', { dependency: 'langflow', reason: 'network' }, { cause: err });
      }
      if ([502, 503, 504].includes(res.status) && attempt < 2) {
        await res.body?.cancel().catch(() => undefined);
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        if (call.signal.aborted) throw new AppError('DEPENDENCY_TIMEOUT', 'Langflow did not answer its flows API in time', { dependency: 'langflow' }, { cause: err });
        if (attempt < 2) continue;
        throw new AppError('RUNTIME_UNAVAILABLE', 'Langflow is unavailable', { dependency: 'langflow', reason: 'network' }, { cause: err });
      }
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed };
    }
  }

  private scrub(s: string): string {
    const d = this.opts.apiKey ? s.split(this.opts.apiKey).join('[redacted]') : s;
    return d.length > 500 ? `${d.slice(0, 500)}…` : d;
  }
}

/** FastAPI's `detail` (a string, or a list of `{loc, msg}`), as text. */
function detailOf(body: any): string {
  const d = body?.detail ?? body?.message ?? (typeof body === 'string' ? body : undefined);
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) return d.map((e: any) => (e?.msg ? `${Array.isArray(e.loc) ? `${e.loc.join('.')}: ` : ''}${e.msg}` : JSON.stringify(e))).join('; ');
  return d === undefined ? '' : JSON.stringify(d);
}
