/**
 * Calls the run-time hooks of an instance's capabilities (those its entitlements list and whose
 * registry entry declares the hook), each with its effective config (schema defaults filled in).
 *
 * Order: governance capabilities (guardrails) see the raw input first and the final output last;
 * the others run in registry order. So a hand-over or a language instruction never sees text the
 * guardrails refused, and nothing another capability adds to the output escapes them.
 *
 * A hook that throws becomes 502 `CAPABILITY_ERROR` naming the capability (its message stays in
 * the log: it may quote user text). A refusal becomes 422 `GUARDRAIL_BLOCKED` naming the
 * capability and rule, with the capability's refusal message.
 */
import { capabilityHandlers } from '../../../generated/capabilities/handler-registry';
import type { Entitlements } from '../../../generated/control-plane/types';
import { AppError } from '../../platform/errors';
import { withDefaults } from '../config-defaults';
import { capabilityRegistry } from '../registry';
import {
  isAnswer, isRefusal, type HandoverIntent, type HookName, type HookServices, type OutputStreamFilter, type Refusal, type RunHookContext, type RunHooks, type ToolCallView,
} from '../hook-types';

/** What the run path knows when it calls hooks: the hook context without the capability's config (history and services default). */
export interface RunFacts extends Omit<RunHookContext<unknown>, 'config' | 'history' | 'services'>, Partial<Pick<RunHookContext<unknown>, 'history' | 'services'>> {
  /** The handlers to call (tests replace them; default: generated/capabilities/handler-registry). */
  handlers?: Record<string, unknown>;
}

interface Hooked {
  id: string;
  config: Record<string, unknown>;
  hooks: Partial<RunHooks<any>>;
}

/** The instance's capabilities that implement `hook`, in calling order. */
export function hookedCapabilities(ent: Pick<Entitlements, 'capabilities' | 'config'>, hook: HookName, order: 'input' | 'output' = 'input', handlers: Record<string, unknown> = capabilityHandlers): Hooked[] {
  const reg = capabilityRegistry();
  const list = reg.capabilities.filter((c) => c.hooks.includes(hook) && ent.capabilities.includes(c.id));
  const governance = list.filter((c) => c.layer === 'governance');
  const rest = list.filter((c) => c.layer !== 'governance');
  const ordered = order === 'input' ? [...governance, ...rest] : [...rest, ...governance];
  return ordered.map((c) => ({
    id: c.id,
    config: withDefaults(c.id, (ent.config[c.id] ?? {}) as Record<string, unknown>),
    hooks: handlers[c.id] as Partial<RunHooks<any>>,
  }));
}

const noServices: HookServices = {
  createTicket: async () => {
    throw new Error('tickets are not available here');
  },
};

function contextOf(h: Hooked, facts: RunFacts): RunHookContext<any> {
  return {
    config: h.config, instanceId: facts.instanceId, orgId: facts.orgId, projectId: facts.projectId, runId: facts.runId,
    sessionId: facts.sessionId, channel: facts.channel, history: facts.history ?? [], services: facts.services ?? noServices,
  };
}

export function capabilityError(capability: string, hook: HookName, cause: unknown): AppError {
  if (cause instanceof AppError && (cause.code === 'CAPABILITY_ERROR' || cause.code === 'GUARDRAIL_BLOCKED')) return cause;
  return new AppError('CAPABILITY_ERROR', `The ${capability} capability failed; the run was stopped`, { capability, hook }, { cause });
}

export function refusedBy(capability: string, r: Refusal): AppError {
  return new AppError('GUARDRAIL_BLOCKED', r.refuse.message, { capability, rule: r.refuse.rule, ...(r.refuse.details ?? {}) });
}

const call_ = <T>(h: Hooked, hook: HookName, f: () => T | Promise<T>) => call(h, hook, f);

async function call<T>(h: Hooked, hook: HookName, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw capabilityError(h.id, hook, err);
  }
}

export interface BeforeRunOutcome {
  text: string;
  instructions: string[];
  /** A capability answered instead of the model (and may hand the conversation over to a person). */
  answer?: { capability: string; text: string; usage: Record<string, number>; handover?: HandoverIntent };
}

/** beforeRun of every hooked capability, in order; throws the refusal or the failure. */
export async function runBeforeHooks(ent: Pick<Entitlements, 'capabilities' | 'config'>, text: string, facts: RunFacts): Promise<BeforeRunOutcome> {
  const out: BeforeRunOutcome = { text, instructions: [] };
  for (const h of hookedCapabilities(ent, 'beforeRun', 'input', facts.handlers)) {
    const r = await call(h, 'beforeRun', () => h.hooks.beforeRun!({ text: out.text }, contextOf(h, facts)));
    if (!r) continue;
    if (isRefusal(r)) throw refusedBy(h.id, r);
    if (isAnswer(r)) {
      out.answer = { capability: h.id, text: r.answer.text, usage: r.answer.usage ?? {}, ...(r.answer.handover ? { handover: r.answer.handover } : {}) };
      return out;
    }
    if (typeof r.text === 'string') out.text = r.text;
    if (r.instructions) out.instructions.push(...r.instructions);
  }
  return out;
}

/** afterRun of every hooked capability, in order: the output text as it may be answered and stored. */
export async function runAfterHooks(ent: Pick<Entitlements, 'capabilities' | 'config'>, text: string, facts: RunFacts): Promise<string> {
  let out = text;
  for (const h of hookedCapabilities(ent, 'afterRun', 'output', facts.handlers)) {
    const r = await call(h, 'afterRun', () => h.hooks.afterRun!({ text: out }, contextOf(h, facts)));
    if (!r) continue;
    if (isRefusal(r)) throw refusedBy(h.id, r);
    out = r.text;
  }
  return out;
}

/**
 * The stream filters of the hooked capabilities chained (each one's output feeds the next); null
 * when none applies. push/end throw the refusal or the failure as AppErrors.
 */
export function outputStreamChain(ent: Pick<Entitlements, 'capabilities' | 'config'>, facts: RunFacts): { push(chunk: string): string; end(): string } | null {
  const stages: { id: string; f: OutputStreamFilter }[] = [];
  for (const h of hookedCapabilities(ent, 'outputStream', 'output', facts.handlers)) {
    try {
      stages.push({ id: h.id, f: h.hooks.outputStream!(contextOf(h, facts)) });
    } catch (err) {
      throw capabilityError(h.id, 'outputStream', err);
    }
  }
  if (!stages.length) return null;
  const through = (i: number, text: string, ending: boolean): string => {
    if (i === stages.length) return text;
    const { id, f } = stages[i]!;
    let r: string | Refusal;
    try {
      const pushed = text ? f.push(text) : '';
      if (isRefusal(pushed)) r = pushed;
      else if (ending) {
        const rest = f.end();
        r = isRefusal(rest) ? rest : pushed + rest;
      } else r = pushed;
    } catch (err) {
      throw capabilityError(id, 'outputStream', err);
    }
    if (isRefusal(r)) throw refusedBy(id, r);
    return through(i + 1, r, ending);
  };
  return { push: (chunk) => through(0, chunk, false), end: () => through(0, '', true) };
}

/**
 * onToolCall of every hooked capability (connector gateway, before the secret is read): a refusal
 * is 403 POLICY_DENIED naming the capability and rule (a tool call is refused like any other
 * policy refusal there); a hook that throws is 502 CAPABILITY_ERROR.
 */
export async function runToolCallHooks(ent: Pick<Entitlements, 'capabilities' | 'config' | 'instanceId'>, call: ToolCallView, runId: string | undefined, handlers?: Record<string, unknown>): Promise<void> {
  for (const h of hookedCapabilities(ent, 'onToolCall', 'input', handlers)) {
    const r = await call_(h, 'onToolCall', () => h.hooks.onToolCall!(call, { config: h.config, instanceId: ent.instanceId, ...(runId ? { runId } : {}) }));
    if (isRefusal(r)) throw new AppError('POLICY_DENIED', r.refuse.message, { capability: h.id, rule: r.refuse.rule, reason: 'capability_refused', ...(r.refuse.details ?? {}) });
  }
}
