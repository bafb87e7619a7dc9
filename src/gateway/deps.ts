import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import type { ControlPlaneClient } from './cp-client';
import type { EntitlementsCache } from './entitlements';
import type { FlowArtifacts } from './flow-tweaks';
import type { GatewayMetrics } from './metrics';
import type { RateLimiter } from './rate-limit';
import type { ConcurrencyLimiter } from './concurrency';
import type { RunnerClient } from './runner-client';
import type { RunnerStreamer } from './runner-stream';
import type { TicketClient } from './ticket-client';
import type { WidgetSessions } from './widget-session';
import type { ObjectStore } from '../storage/object-store';
import type { UsageJournal } from './usage-journal';
import type { QuotaManager } from './quotas';

/** What every gateway handler receives as `ctx.deps` (built by build-deps.ts). */
export interface GatewayDeps {
  config: Config;
  log: Logger;
  identity: Identity;
  cp: ControlPlaneClient;
  runner: RunnerClient;
  entitlements: EntitlementsCache;
  rateLimiter: RateLimiter;
  widgets: WidgetSessions;
  /** maxConcurrentRuns leases (Redis when REDIS_URL is set). */
  concurrency: ConcurrencyLimiter;
  /** The Runner with `Accept: text/event-stream`. */
  runnerStream: RunnerStreamer;
  flows: FlowArtifacts;
  /** Helpdesk tickets of hand-overs, through the Connector Gateway (it holds the credentials). */
  tickets: TicketClient;
  metrics: GatewayMetrics;
  /** Where run attachments are uploaded (presigned PUT) and read back for their checks. */
  objectStore: ObjectStore;
  /** Credit quotas (GATEWAY_QUOTA_RUNS > 0): runs admitted against this replica's block of credits. */
  quotas?: QuotaManager;
  /** Where quota runs' charges are recorded (usage-journal.ts); unset: charged over HTTP. */
  usageJournal?: UsageJournal;
  /** Trial activation polling interval (ms). */
  pollIntervalMs: number;
}
