/**
 * How the scheduler starts a trigger's run: `POST /v1/runs` on the gateway, as any run is
 * started, with the scheduler's own service token (svc:scheduler), the trigger in the body and an
 * Idempotency-Key per slot or delivery. The gateway applies the instance's limits and credits and
 * bills the run (`scheduled_runs`); nothing here touches money.
 */
import type { TokenSource } from '../auth/token-source';
import { createHttpClient, type HttpClient } from '../platform/service-client/http-json';

export interface TriggeredRun {
  instanceId: string;
  trigger: { kind: 'schedule' | 'webhook'; id: string };
  text: string;
  idempotencyKey: string;
  requestId: string;
}

/** The gateway's answer: 200 with the run, or its canonical error (status 0: unreachable). */
export interface TriggeredRunOutcome {
  status: number;
  runId?: string;
  code?: string;
  creditsCharged?: number;
}

export type StartRun = (run: TriggeredRun) => Promise<TriggeredRunOutcome>;

export function gatewayRunStarter(o: { gatewayUrl: () => string; tokens: TokenSource; http?: HttpClient; timeoutMs?: number }): StartRun & { close(): void } {
  const http = o.http ?? createHttpClient({ maxSockets: 32 });
  const start = async (run: TriggeredRun): Promise<TriggeredRunOutcome> => {
    for (let attempt = 0; ; attempt++) {
      let token: string;
      try {
        token = await o.tokens.token();
      } catch {
        return { status: 0, code: 'UNAUTHENTICATED' };
      }
      try {
        const res = await http.json<{ runId?: string; billing?: { creditsCharged?: number }; error?: { code?: string; details?: { runId?: string } } }>('POST', `${o.gatewayUrl().replace(/\/+$/, '')}/v1/runs`, {
          headers: { authorization: `Bearer ${token}`, 'idempotency-key': run.idempotencyKey, 'x-request-id': run.requestId },
          body: { instanceId: run.instanceId, input: { text: run.text }, trigger: run.trigger },
          timeoutMs: o.timeoutMs ?? 75_000,
        });
        if (res.status === 401 && attempt === 0) {
          o.tokens.invalidate();
          continue;
        }
        const b = res.body;
        return { status: res.status, runId: b?.runId ?? b?.error?.details?.runId, code: b?.error?.code, creditsCharged: b?.billing?.creditsCharged };
      } catch {
        return { status: 0, code: 'DEPENDENCY_UNAVAILABLE' };
      }
    }
  };
  return Object.assign(start, { close: () => http.close() });
}
