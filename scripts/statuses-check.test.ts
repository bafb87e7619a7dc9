/**
 * statuses:check: an answered status the operation does not declare is reported (and fails the
 * script); codes missing from a declared status's named examples are listed; the recorder writes
 * what the check reads.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { recordStatus } from '../src/platform/http/status-recorder';
import { loadDefinition } from '../src/platform/spec';
import { compareStatuses, readSeen } from './statuses-check';

const ROOT = resolve(import.meta.dirname, '..');
const spec = {
  paths: {
    '/things': {
      post: {
        operationId: 'createThing',
        responses: {
          '201': { description: 'ok' },
          '403': { $ref: '#/components/responses/Forbidden' },
          '4XX': undefined,
        },
      },
    },
  },
  components: { responses: { Forbidden: { description: 'no', content: { 'application/json': { examples: { FORBIDDEN: {}, NOT_ENTITLED: {} } } } } } },
};

test('undeclared statuses are reported; codes outside the named examples are listed', () => {
  const r = compareStatuses(
    [
      { service: 'svc', operationId: 'createThing', status: 201 },
      { service: 'svc', operationId: 'createThing', status: 403, code: 'NOT_ENTITLED' },
      { service: 'svc', operationId: 'createThing', status: 403, code: 'INSUFFICIENT_CREDITS' },
      { service: 'svc', operationId: 'createThing', status: 429, code: 'RATE_LIMITED' },
      { service: 'svc', operationId: 'gone', status: 500 },
    ],
    { svc: spec as any },
  );
  assert.deepEqual(r.undeclared, ['svc createThing 429']);
  assert.deepEqual(r.unlistedCodes, ['svc createThing 403 INSUFFICIENT_CREDITS']);
});

test('the recorder writes what the check reads; the script fails on an undeclared status of a real spec', () => {
  const dir = mkdtempSync(join(tmpdir(), 'statuses-'));
  const before = process.env.RECORD_STATUSES_DIR;
  try {
    process.env.RECORD_STATUSES_DIR = dir;
    recordStatus('gateway', 'createRun', 200, {});
    recordStatus('gateway', 'createRun', 403, { error: { code: 'INSUFFICIENT_CREDITS' } });
    recordStatus('gateway', 'unrouted', 404, {});
    const seen = readSeen(dir);
    assert.equal(seen.length, 2);
    assert.deepEqual(compareStatuses(seen, { gateway: loadDefinition('gateway') as any }).undeclared, [], 'createRun declares 200 and 403');
    recordStatus('gateway', 'createRun', 418, {});
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/statuses-check.ts', dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /answered but not declared: gateway createRun 418/);
  } finally {
    if (before === undefined) delete process.env.RECORD_STATUSES_DIR;
    else process.env.RECORD_STATUSES_DIR = before;
    rmSync(dir, { recursive: true, force: true });
  }
});
