import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../platform/errors';
import { runTriggerHooks } from './trigger-hooks';

const ent = { capabilities: ['a', 'b'], config: {} };
const view = { kind: 'schedule' as const, name: 'digest', input: 'hello' };
const hooked = (id: string, onTrigger: (...a: any[]) => unknown) => ({ id, config: { k: id }, hooks: { onTrigger } as any });

test('onTrigger hooks rewrite the input in order, each with its own config', async () => {
  const seen: unknown[] = [];
  const out = await runTriggerHooks(ent, view, 'inst_1', [
    hooked('a', (t, ctx) => { seen.push([t.input, ctx.config.k, ctx.instanceId]); return { input: `${t.input} [a]` }; }),
    hooked('b', (t) => { seen.push([t.input]); }),
  ]);
  assert.equal(out, 'hello [a]');
  assert.deepEqual(seen, [['hello', 'a', 'inst_1'], ['hello [a]']]);
});

test('a refusal is GUARDRAIL_BLOCKED naming the capability; a throwing hook is CAPABILITY_ERROR', async () => {
  await assert.rejects(runTriggerHooks(ent, view, 'i', [hooked('a', () => ({ refuse: { rule: 'quiet_hours', message: 'Not now' } }))]), (e: AppError) => e.code === 'GUARDRAIL_BLOCKED' && e.details?.capability === 'a' && e.details?.rule === 'quiet_hours');
  await assert.rejects(runTriggerHooks(ent, view, 'i', [hooked('b', () => { throw new Error('boom'); })]), (e: AppError) => e.code === 'CAPABILITY_ERROR' && e.details?.capability === 'b' && e.details?.hook === 'onTrigger');
});

test('no capability declares onTrigger: the input passes unchanged', async () => {
  assert.equal(await runTriggerHooks(ent, view, 'i'), 'hello');
});
