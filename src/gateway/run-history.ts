/**
 * Run history and chat sessions through the gateway, read from the Control Plane (so any replica
 * answers): users and API keys with their own credential (the Control Plane checks the
 * instance's tenant scope), a widget session with the gateway's token and itself as the owner
 * — and only on its own instance.
 */
import type { RunRecordList, SessionList, SessionMessageList } from '../../generated/gateway/types';
import { AppError } from '../platform/errors';
import type { Caller } from '../platform/http/handler-types';
import type { HistoryQuery } from './cp-client';
import type { GatewayDeps } from './deps';
import { historyCredential } from './runs';

interface Ctx {
  requestId: string;
  signal: AbortSignal;
}

function scope(caller: Caller | undefined, instanceId: string) {
  if (!caller) throw new AppError('NOT_FOUND', 'Instance not found');
  if (caller.kind === 'widget' && caller.instanceId !== instanceId) throw new AppError('NOT_FOUND', 'Instance not found');
  return historyCredential(caller);
}

const page = (q: { cursor?: string; limit?: number }, owner?: string): HistoryQuery => ({ ...(owner ? { owner } : {}), ...(q.cursor ? { cursor: q.cursor } : {}), ...(q.limit ? { limit: q.limit } : {}) });

export async function listRuns(deps: GatewayDeps, caller: Caller | undefined, q: { instanceId: string; sessionId?: string; cursor?: string; limit?: number }, c: Ctx): Promise<RunRecordList> {
  const { credential, owner } = scope(caller, q.instanceId);
  return (await deps.cp.history.listRuns(q.instanceId, { ...page(q, owner), ...(q.sessionId ? { sessionId: q.sessionId } : {}) }, credential, c)) as RunRecordList;
}

export async function listSessions(deps: GatewayDeps, caller: Caller | undefined, q: { instanceId: string; cursor?: string; limit?: number }, c: Ctx): Promise<SessionList> {
  const { credential, owner } = scope(caller, q.instanceId);
  const list = await deps.cp.history.listSessions(q.instanceId, page(q, owner), credential, c);
  // A session with a person shows its hand-over (only pending or open ones are listed).
  return {
    ...list,
    items: list.items.map(({ handover: h, ...s }) => ({
      ...s,
      ...(h && (h.status === 'pending' || h.status === 'open') ? { handover: { handoverId: h.handoverId, provider: h.provider, status: h.status, ticketRef: h.ticketRef } } : {}),
    })),
  };
}

export async function listSessionMessages(deps: GatewayDeps, caller: Caller | undefined, sessionId: string, q: { instanceId: string; cursor?: string; limit?: number }, c: Ctx): Promise<SessionMessageList> {
  const { credential, owner } = scope(caller, q.instanceId);
  return deps.cp.history.listMessages(q.instanceId, sessionId, page(q, owner), credential, c);
}

export async function deleteSession(deps: GatewayDeps, caller: Caller | undefined, sessionId: string, instanceId: string, c: Ctx): Promise<void> {
  const { credential, owner } = scope(caller, instanceId);
  // A widget session erases its own conversation only.
  if (caller!.kind === 'widget' && caller!.subject !== sessionId) throw new AppError('NOT_FOUND', 'Session not found');
  await deps.cp.history.eraseSession(instanceId, sessionId, credential, owner, c);
}
