/**
 * One run, end to end: refuse secret-looking tweaks and a session of another instance → fetch
 * and verify the artifact (a refused artifact is audited and nothing runs) → parse the flow
 * export and refuse tweaks that would change its code or endpoints → run it on the configured
 * runtime within what is left of `timeoutMs`, with the session's history and the output cap →
 * the result with usage dimensions. `progress` (streamed runs) receives the answer as it is
 * produced and keeps the usage so far.
 */
import type { RunnerRunRequest, RunnerRunResult } from '../../generated/runner/types';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import { parseFlowExport } from '../runtime/flow';
import { assertNoSecretsInTweaks } from '../runtime/secret-guard';
import { assertTweaksAllowed } from '../runtime/tweak-guard';
import type { RunProgress, Tweaks } from '../runtime/types';
import { redactArtifactUri, type FetchedArtifact, type IntegrityFailureEvent } from './artifacts';
import type { RunnerDeps } from './deps';
import { prepareMedia, speakAnswer } from './media';

export const DEFAULT_RUN_TIMEOUT_MS = 60_000;

export interface ExecuteContext {
  requestId: string;
  signal: AbortSignal;
  log: Logger;
  progress?: RunProgress;
}

export async function executeRun(deps: RunnerDeps, req: RunnerRunRequest, ctx: ExecuteContext): Promise<RunnerRunResult> {
  const started = performance.now();
  const timeoutMs = req.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const given = req.input.text ?? req.input.message?.content ?? '';
  if (!given && !req.attachments?.length) throw new AppError('VALIDATION_FAILED', 'input needs text or message.content', { errors: [{ path: '/body/input', message: 'must have text or message' }] });
  // Sessions are namespaced by instance (`<instanceId>:<sessionId>`): one of another instance is refused.
  if (req.sessionId && !req.sessionId.startsWith(`${req.instanceId}:`)) {
    throw new AppError('VALIDATION_FAILED', 'sessionId belongs to another instance', {
      errors: [{ path: '/body/sessionId', message: 'must start with the run\'s instanceId followed by ":"' }],
    });
  }
  const tweaks = (req.tweaks ?? {}) as Tweaks;
  assertNoSecretsInTweaks(tweaks);

  const artifact = await fetchVerified(deps, req, ctx);
  const flow = parseFlowExport(artifact.bytes);
  assertTweaksAllowed(flow, tweaks);

  const runtime = deps.runtimes.default;
  const { text, media, usage: mediaUsage } = await prepareMedia(deps, req, runtime, given, ctx);
  const elapsed = performance.now() - started;
  const result = await runtime.run({
    flow,
    artifactSha256: artifact.sha256,
    flowId: req.flowId,
    tweaks,
    input: { text, ...(media.length ? { media } : {}) },
    sessionId: req.sessionId,
    history: req.history ?? [],
    ...(req.maxOutputTokens ? { maxOutputTokens: req.maxOutputTokens } : {}),
    ...(req.instructions?.length ? { instructions: req.instructions } : {}),
    ...(ctx.progress ? { progress: ctx.progress } : {}),
    bindings: req.bindings ?? [],
    scope: { runId: req.runId, instanceId: req.instanceId, orgId: req.orgId, projectId: req.projectId, versionId: req.versionId },
    signal: ctx.signal,
    timeoutMs: Math.max(1, Math.floor(timeoutMs - elapsed)),
    requestId: ctx.requestId,
  });
  const spoken = await speakAnswer(deps, req, String(result.output.text ?? ''), ctx.signal);
  const usage = { ...result.usage };
  const audio = mediaUsage.audio_seconds + Math.ceil(spoken?.seconds ?? 0);
  if (mediaUsage.images) usage.images = (usage.images ?? 0) + mediaUsage.images;
  if (audio) usage.audio_seconds = (usage.audio_seconds ?? 0) + audio;
  const durationMs = Math.round(performance.now() - started);
  ctx.log.info({ runtime: result.runtime, attempts: result.attempts, usage, artifactCacheHit: artifact.cacheHit, durationMs }, 'run executed');
  return {
    runId: req.runId,
    output: spoken ? { ...result.output, audio: spoken } : result.output,
    usage: { dimensions: usage },
    runtime: {
      name: result.runtime,
      version: result.version ?? runtime.version,
      flowId: result.flowId ?? req.flowId,
      sessionId: result.sessionId ?? req.sessionId ?? null,
      attempts: result.attempts,
      artifactCacheHit: artifact.cacheHit,
    },
    durationMs,
  };
}

async function fetchVerified(deps: RunnerDeps, req: RunnerRunRequest, ctx: ExecuteContext): Promise<FetchedArtifact> {
  try {
    return await deps.artifacts.fetch(req.artifact, { signal: ctx.signal, requestId: ctx.requestId });
  } catch (err) {
    if (err instanceof AppError && err.code === 'ARTIFACT_INTEGRITY_FAILED') await audit(deps, req, ctx, err);
    throw err;
  }
}

async function audit(deps: RunnerDeps, req: RunnerRunRequest, ctx: ExecuteContext, err: AppError): Promise<void> {
  const d = err.details ?? {};
  const event: IntegrityFailureEvent = {
    event: 'artifact.integrity_failed',
    reason: d.reason === 'too_large' ? 'too_large' : 'sha256_mismatch',
    runId: req.runId,
    instanceId: req.instanceId,
    versionId: req.versionId,
    ...(req.orgId ? { orgId: req.orgId } : {}),
    ...(req.projectId ? { projectId: req.projectId } : {}),
    uri: redactArtifactUri(req.artifact.uri),
    expected: String(d.expected ?? req.artifact.sha256),
    ...(typeof d.actual === 'string' ? { actual: d.actual } : {}),
    requestId: ctx.requestId,
    at: new Date().toISOString(),
  };
  ctx.log.warn({ audit: true, ...event }, 'artifact.integrity_failed');
  try {
    await deps.onIntegrityFailure?.(event);
  } catch (hookErr) {
    ctx.log.error({ err: hookErr, event: event.event }, 'artifact.integrity_failed audit hook failed');
  }
}
