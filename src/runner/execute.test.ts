import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { RunnerRunRequest } from '../../generated/runner/types';
import { loadConfig } from '../platform/config';
import { AppError } from '../platform/errors';
import { createRuntimeRegistry } from '../runtime/registry';
import { basicFlow } from '../runtime/testing';
import { sha256Hex, type ArtifactFetcher, type IntegrityFailureEvent } from './artifacts';
import type { RunnerDeps } from './deps';
import { executeRun } from './execute';

const good = Buffer.from(JSON.stringify(basicFlow()));
const tampered = Buffer.from(JSON.stringify({ ...basicFlow(), name: 'evil' }));

/** A fetcher over an in-memory "storage" that verifies like the real one. */
const memoryFetcher = (bytes: Buffer): ArtifactFetcher => ({
  async fetch(artifact) {
    const actual = sha256Hex(bytes);
    if (actual !== artifact.sha256) throw new AppError('ARTIFACT_INTEGRITY_FAILED', 'mismatch', { expected: artifact.sha256, actual });
    return { bytes, sha256: actual, sizeBytes: bytes.length, cacheHit: false };
  },
});

function deps(bytes: Buffer, onIntegrityFailure?: RunnerDeps['onIntegrityFailure']) {
  const lines: any[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
  const d: RunnerDeps = {
    config: loadConfig({ APP_ENV: 'test' }),
    log,
    identity: {} as RunnerDeps['identity'],
    artifacts: memoryFetcher(bytes),
    attachments: memoryFetcher(bytes),
    objectStore: {} as RunnerDeps['objectStore'],
    runtimes: createRuntimeRegistry({}),
    onIntegrityFailure,
  };
  return { d, lines, log };
}

const request = (over: Partial<RunnerRunRequest> = {}): RunnerRunRequest => ({
  runId: 'run_01J9ZK6G9H0J1K2M3N4P5Q6R7S',
  instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P',
  orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X',
  versionId: 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M',
  artifact: { uri: 'https://minio.local/artifacts/flows/x.json?X-Amz-Signature=s3cr3tsig', sha256: sha256Hex(good) },
  flowId: 'flow-1',
  input: { text: 'Hello?' },
  ...over,
});

describe('executeRun (service)', () => {
  test('a refused artifact is audited: one artifact.integrity_failed log line and the hook, without content or signature', async () => {
    const events: IntegrityFailureEvent[] = [];
    const { d, lines, log } = deps(tampered, (e) => { events.push(e); });
    await assert.rejects(executeRun(d, request(), { requestId: 'req-1', signal: new AbortController().signal, log }), (e: unknown) => e instanceof AppError && e.code === 'ARTIFACT_INTEGRITY_FAILED');
    assert.equal(events.length, 1);
    assert.deepEqual({ ...events[0], at: 'x' }, {
      event: 'artifact.integrity_failed', reason: 'sha256_mismatch', runId: 'run_01J9ZK6G9H0J1K2M3N4P5Q6R7S', instanceId: 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P',
      versionId: 'ov_01J9ZK1B3C4D5E6F7G8H9J0K1M', orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X', uri: 'https://minio.local/artifacts/flows/x.json',
      expected: sha256Hex(good), actual: sha256Hex(tampered), requestId: 'req-1', at: 'x',
    });
    const audit = lines.filter((l) => l.msg === 'artifact.integrity_failed');
    assert.equal(audit.length, 1);
    assert.equal(audit[0].audit, true);
    const all = JSON.stringify(lines);
    assert.doesNotMatch(all, /s3cr3tsig/);
    assert.doesNotMatch(all, /evil/);
  });

  test('a failing audit hook is logged and never masks the refusal', async () => {
    const { d, lines, log } = deps(tampered, () => { throw new Error('audit store down'); });
    await assert.rejects(executeRun(d, request(), { requestId: 'req-2', signal: new AbortController().signal, log }), (e: unknown) => e instanceof AppError && e.code === 'ARTIFACT_INTEGRITY_FAILED');
    assert.ok(lines.some((l) => l.msg === 'artifact.integrity_failed audit hook failed'));
  });

  test('the result carries output, usage dimensions and runtime info', async () => {
    const { d, log } = deps(good);
    const r = await executeRun(d, request({ input: { message: { role: 'user', content: 'Hello?' } } }), { requestId: 'req-3', signal: new AbortController().signal, log });
    assert.match(r.output.text, /"Hello\?"/);
    assert.equal(r.usage.dimensions.runs, 1);
    assert.deepEqual(r.runtime, { name: 'builtin', version: '1.0.0', flowId: 'flow-1', sessionId: null, attempts: 1, artifactCacheHit: false });
  });
});
