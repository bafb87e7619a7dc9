/**
 * Schedules through the whole stack (Control Plane on its database → Gateway → Runner): two
 * scheduler replicas on one database start each due slot once, a restarted scheduler repeats no
 * slot, the missed-run policies, at most one run in flight, and every triggered run is billed
 * like any run (the wallet drops) and is in the history with its trigger. The schedulers here run
 * on a test clock; the stack's own loop is off (SCHEDULER_ENABLED=false).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { devIssuerTokenSource } from '../auth/token-source';
import { createLogger } from '../platform/logger';
import { activeInstance, buyer, wallet, type Buyer } from '../../test/support/gateway';
import { http, startTestStack, type TestStack } from '../../test/support/stack';
import { gatewayRunStarter } from './gateway-runs';
import { createScheduler, type Scheduler } from './scheduler';
import { scheduleTriggerId } from './slots';

let stack: TestStack;
let cp: string;
let clock = new Date();
const started: { close(): void }[] = [];

before(async () => {
  stack = await startTestStack(['control-plane', 'runner', 'gateway'], { SEED_DEMO: '1', SCHEDULER_ENABLED: 'false' });
  cp = stack.url('control-plane');
});
after(async () => {
  for (const s of started) s.close();
  await stack?.close();
});

/** A scheduler replica of the stack's database, on the test clock. */
function replica(): Scheduler {
  const tokens = devIssuerTokenSource(stack.identity.devIssuer!, { service: 'scheduler', audience: stack.config.oidc.audience });
  const starter = gatewayRunStarter({ gatewayUrl: () => stack.url('gateway'), tokens });
  started.push(starter);
  return createScheduler({ db: stack.db!, log: createLogger({ level: 'silent' }), startRun: starter, tickMs: 1000, missedAfterMs: 60_000, now: () => clock });
}

async function runsOf(who: Buyer, instanceId: string): Promise<any[]> {
  const r = await http('GET', `${cp}/instances/${instanceId}/runs?limit=100`, { token: who.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items;
}

async function nextRunAt(who: Buyer, instanceId: string, name: string): Promise<Date> {
  const r = await http('GET', `${cp}/instances/${instanceId}/triggers`, { token: who.token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const t = r.body.items.find((i: any) => i.name === name);
  assert.ok(t?.nextRunAt, JSON.stringify(r.body));
  return new Date(t.nextRunAt);
}

const scheduled = (schedules: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({ scheduler_triggers: { schedules, maxRunsPerDay: 5000, ...extra } });

test('two scheduler replicas on one database start each due slot once; the runs are billed and in the history with their trigger', async () => {
  const ann = await buyer(stack, 'sched-ann@example.com');
  const instanceId = await activeInstance(stack, ann, { configOverrides: scheduled([{ name: 'every-minute', cron: '* * * * *', input: 'Daily digest please' }]) });
  const triggerId = scheduleTriggerId(instanceId, 'every-minute');
  const a = replica();
  const b = replica();
  clock = new Date();
  await Promise.all([a.tick(), b.tick()]);
  const first = await nextRunAt(ann, instanceId, 'every-minute');
  assert.ok(first > clock && first.getTime() - clock.getTime() <= 60_000, 'the next slot is within the minute');
  assert.equal((await runsOf(ann, instanceId)).length, 0, 'nothing is due yet');

  const w0 = await wallet(stack, ann);
  for (const slot of [first, new Date(first.getTime() + 60_000), new Date(first.getTime() + 120_000)]) {
    clock = new Date(slot.getTime() + 1_000);
    const ticks = await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
    assert.equal(ticks.reduce((n, t) => n + t.started, 0), 1, `slot ${slot.toISOString()} is claimed by exactly one replica`);
    await Promise.all([a.idle(), b.idle()]);
  }
  const runs = await runsOf(ann, instanceId);
  assert.equal(runs.length, 3, JSON.stringify(runs));
  for (const r of runs) {
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.deepEqual(r.trigger, { kind: 'schedule', id: triggerId });
    assert.equal(r.callerKind, 'trigger');
    assert.equal(r.usage.dimensions.scheduled_runs, 1, 'counted in the capability\'s dimension');
    assert.ok(r.billing.creditsCharged > 0);
  }
  const w1 = await wallet(stack, ann);
  assert.equal(w1.balance, w0.balance - runs.reduce((n, r) => n + r.billing.creditsCharged, 0), 'the wallet drops by exactly what the runs were charged');
  assert.equal(w1.reserved, 0);

  // A restarted scheduler (a new process on the same database) repeats no slot.
  const restarted = replica();
  await restarted.tick();
  await restarted.idle();
  assert.equal((await runsOf(ann, instanceId)).length, 3, 'no slot runs twice after a restart');

  // A user's run is recorded as `api`.
  const own = await http('POST', `${stack.url('gateway')}/v1/runs`, { token: ann.token, body: { instanceId, input: { text: 'hi' } } });
  assert.equal(own.status, 200, JSON.stringify(own.body));
  const rec = await http('GET', `${stack.url('gateway')}/v1/runs/${own.body.runId}`, { token: ann.token });
  assert.deepEqual(rec.body.trigger, { kind: 'api', id: null });
});

test('missed slots: `skip` moves on without a run, `run_once` runs once for all of them', async () => {
  const ben = await buyer(stack, 'sched-ben@example.com');
  const instanceId = await activeInstance(stack, ben, {
    configOverrides: scheduled([
      { name: 'skipper', cron: '*/5 * * * *', missedRunPolicy: 'skip' },
      { name: 'catcher', cron: '*/5 * * * *', missedRunPolicy: 'run_once' },
    ]),
  });
  const s = replica();
  clock = new Date();
  await s.tick();
  const due = await nextRunAt(ben, instanceId, 'catcher');
  // The control plane was down for an hour: twelve slots of each schedule were missed.
  clock = new Date(due.getTime() + 60 * 60_000 + 30_000);
  const t = await s.tick();
  await s.idle();
  assert.equal(t.started, 1);
  const runs = await runsOf(ben, instanceId);
  assert.deepEqual(runs.map((r) => r.trigger.id), [scheduleTriggerId(instanceId, 'catcher')], 'only the run_once schedule ran, once');
  for (const name of ['skipper', 'catcher']) assert.ok((await nextRunAt(ben, instanceId, name)) > clock, `${name} moved on to a slot after now`);
  await s.tick();
  await s.idle();
  assert.equal((await runsOf(ben, instanceId)).length, 1, 'the missed slots are not run again');
});

test('pause keeps a schedule\'s last run; nothing runs while paused; resumed, it starts from its next slot after now', async () => {
  const di = await buyer(stack, 'sched-di@example.com');
  const instanceId = await activeInstance(stack, di, { configOverrides: scheduled([{ name: 'pausable', cron: '* * * * *', missedRunPolicy: 'run_once' }]) });
  const triggers = async () => (await http('GET', `${cp}/instances/${instanceId}/triggers`, { token: di.token })).body.items.find((t: any) => t.name === 'pausable');
  const s = replica();
  clock = new Date();
  await s.tick();
  const slot = await nextRunAt(di, instanceId, 'pausable');
  clock = new Date(slot.getTime() + 1_000);
  await s.tick();
  await s.idle();
  const [ran] = await runsOf(di, instanceId);
  const before = await triggers();
  assert.equal(before.lastRunAt, slot.toISOString());
  assert.equal(before.lastRunId, ran.runId);

  assert.equal((await http('POST', `${cp}/instances/${instanceId}/pause`, { token: di.token, body: {} })).status, 200);
  clock = new Date(slot.getTime() + 3 * 60_000 + 1_000);
  assert.equal((await s.tick()).started, 0, 'a paused instance starts nothing');
  await s.idle();
  const paused = await triggers();
  assert.deepEqual([paused.lastRunAt, paused.lastRunId, paused.nextRunAt], [before.lastRunAt, before.lastRunId, null], 'paused: the last run is kept, no next slot');

  assert.equal((await http('POST', `${cp}/instances/${instanceId}/resume`, { token: di.token, body: {} })).status, 200);
  assert.equal((await s.tick()).started, 0, 'the slots of the pause are not made up');
  const resumed = await triggers();
  assert.deepEqual([resumed.lastRunAt, resumed.lastRunId], [before.lastRunAt, before.lastRunId], 'resumed: the last run is still there');
  const next = new Date(resumed.nextRunAt);
  assert.ok(next > clock && next.getTime() - clock.getTime() <= 60_000, `next slot ${resumed.nextRunAt} after ${clock.toISOString()}`);
  clock = new Date(next.getTime() + 1_000);
  assert.equal((await s.tick()).started, 1);
  await s.idle();
  const after = await triggers();
  assert.equal(after.lastRunAt, next.toISOString());
  assert.equal((await runsOf(di, instanceId)).length, 2);
});

test('at most one run in flight per schedule: a slot due while its run holds the schedule waits for it', async () => {
  const cy = await buyer(stack, 'sched-cy@example.com');
  const instanceId = await activeInstance(stack, cy, { configOverrides: scheduled([{ name: 'slow', cron: '* * * * *', missedRunPolicy: 'run_once' }]) });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[] = [];
  const s = createScheduler({
    db: stack.db!,
    log: createLogger({ level: 'silent' }),
    startRun: async (run) => {
      calls.push(run.idempotencyKey);
      await gate;
      return { status: 200, runId: 'run_test000000' };
    },
    tickMs: 1000,
    missedAfterMs: 60_000,
    now: () => clock,
  });
  clock = new Date();
  await s.tick();
  const first = await nextRunAt(cy, instanceId, 'slow');
  clock = new Date(first.getTime() + 1_000);
  assert.equal((await s.tick()).started, 1);
  clock = new Date(first.getTime() + 61_000);
  assert.equal((await s.tick()).started, 0, 'the next slot waits while the first run is in flight');
  release();
  await s.idle();
  assert.equal((await s.tick()).started, 1, 'then it starts');
  await s.idle();
  assert.equal(new Set(calls).size, 2);
});

test('a trigger is the scheduler\'s to name: users and other services get 403, and instances without scheduler_triggers 403 NOT_ENTITLED', async () => {
  const dee = await buyer(stack, 'sched-dee@example.com');
  const instanceId = await activeInstance(stack, dee);
  const gw = stack.url('gateway');
  const body = { instanceId, input: { text: 'x' }, trigger: { kind: 'schedule', id: 'trg_0123456789abcdef01234567' } };
  const asUser = await http('POST', `${gw}/v1/runs`, { token: dee.token, body });
  assert.equal(asUser.status, 403, JSON.stringify(asUser.body));
  assert.equal(asUser.body.error.code, 'FORBIDDEN');
  const asGateway = await http('POST', `${gw}/v1/runs`, { token: await stack.serviceToken('gateway'), body });
  assert.equal(asGateway.status, 403);
  const noTrigger = await http('POST', `${gw}/v1/runs`, { token: await stack.serviceToken('scheduler'), body: { instanceId, input: { text: 'x' } } });
  assert.equal(noTrigger.status, 403, 'the scheduler always names the trigger');
  assert.equal((await runsOf(dee, instanceId)).length, 0);
});

test('a capability\'s onTrigger refusal starts no run and frees the schedule for its next slot', async () => {
  const eli = await buyer(stack, 'sched-eli@example.com');
  const instanceId = await activeInstance(stack, eli, { configOverrides: scheduled([{ name: 'refused', cron: '* * * * *', input: 'quiet please' }]) });
  const started: string[] = [];
  const seen: unknown[] = [];
  let refuse = true;
  const s = createScheduler({
    db: stack.db!,
    log: createLogger({ level: 'silent' }),
    startRun: async (run) => {
      started.push(run.text);
      return { status: 200, runId: 'run_test000000' };
    },
    onTrigger: async (id, t) => {
      seen.push([id, t.kind, t.name, t.input]);
      if (refuse) throw Object.assign(new Error('refused'), { code: 'GUARDRAIL_BLOCKED' });
      return `${t.input} (rewritten)`;
    },
    tickMs: 1000,
    missedAfterMs: 60_000,
    now: () => clock,
  });
  clock = new Date();
  await s.tick();
  const first = await nextRunAt(eli, instanceId, 'refused');
  clock = new Date(first.getTime() + 1_000);
  await s.tick();
  await s.idle();
  assert.deepEqual(started, [], 'nothing ran');
  assert.deepEqual(seen, [[instanceId, 'schedule', 'refused', 'quiet please']]);
  refuse = false;
  clock = new Date(first.getTime() + 61_000);
  assert.equal((await s.tick()).started, 1, 'the schedule was freed');
  await s.idle();
  assert.deepEqual(started, ['quiet please (rewritten)'], 'the hook\'s input is the run\'s');
});
