/**
 * Run-time hooks a capability may declare in the registry (`hooks: [...]`) next to `validate`,
 * `desiredState` and `meter`. Each is called with the instance's effective config (schema defaults
 * filled in) and runs where its data is:
 *
 *   beforeRun     gateway, before the hold    the run's input: transform it, add instructions for
 *                                             the model, refuse it, or answer without the model
 *   afterRun      gateway, before settling    the complete output: transform or refuse it
 *   outputStream  gateway, while streaming    the streamed output, chunk by chunk (may hold back)
 *   onToolCall    connector gateway           a tool call about to be executed: allow or refuse
 *   onTrigger     control plane               a schedule or webhook about to start a run
 *
 * Failure rules (the platform enforces them, not the hook): a hook that throws fails the run
 * closed with 502 `CAPABILITY_ERROR` naming the capability, its hold voided, nothing charged; a
 * refused input is never charged (no hold is taken); a refused output is charged for the model
 * work already done.
 */

/** Where each hook runs (documented in README "Adding a capability"). */
export const HOOK_SITES = {
  beforeRun: 'gateway',
  afterRun: 'gateway',
  outputStream: 'gateway',
  onToolCall: 'connector-gateway',
  onTrigger: 'control-plane',
} as const;

export type HookName = keyof typeof HOOK_SITES;

/** What every run hook knows about the run, besides the capability's config. */
export interface RunHookContext<Config> {
  config: Config;
  instanceId: string;
  orgId: string;
  projectId: string;
  runId: string;
  /** The caller's session (null for a one-off run). */
  sessionId: string | null;
  channel: 'user' | 'api_key' | 'widget' | 'trigger';
  /** The session's previous turns, oldest first (what the runtime is sent). */
  history: readonly { role: 'user' | 'assistant'; content: string }[];
  /** Platform services a hook may use; all are scoped to this instance. */
  services: HookServices;
}

/** Side effects the platform offers hooks (so a capability needs no client of its own). */
export interface HookServices {
  /**
   * Creates a helpdesk ticket through the connector gateway with the binding's credential (which
   * the hook never sees). The same `idempotencyKey` answers the same ticket, never a second one.
   */
  createTicket(req: TicketRequest): Promise<{ ticketRef: string }>;
}

export interface TicketRequest {
  provider: 'zendesk';
  bindingId: string;
  subject: string;
  body: string;
  requester?: { email?: string; name?: string };
  tags?: string[];
  idempotencyKey: string;
}

/**
 * A hand-over to a person, returned with a beforeRun answer. The platform records it (`pending`,
 * with the run's hold) before calling `deliver`, then opens it with the run's settle — or marks
 * it failed and voids the run when `deliver` throws. While the session is handed over, every run
 * in it is answered with the capability's message without the model (and not charged) until the
 * session is released (control plane `releaseInstanceSession`).
 */
export interface HandoverIntent {
  provider: 'email' | 'webhook' | 'zendesk';
  trigger: 'user_request' | 'keyword';
  deliver(d: HandoverDelivery): Promise<{ ticketRef?: string }>;
}

export interface HandoverDelivery {
  /** The hand-over's id (the idempotency key of whatever `deliver` creates). */
  handoverId: string;
  instanceId: string;
  runId: string;
  sessionId: string | null;
  /** The session's turns before this run, oldest first (empty without `includeTranscript`). */
  transcript: readonly { role: 'user' | 'assistant'; content: string }[];
  /** This run's input, as the capabilities before made it. */
  input: string;
  services: HookServices;
}

export interface RunInputView {
  text: string;
}

/** A refusal names the rule that fired (never the text that triggered it). */
export interface Refusal {
  refuse: { rule: string; message: string; details?: Record<string, unknown> };
}

/** The answer a hook gives instead of the model's, with what it meters (registry dimensions). */
export interface HookAnswer {
  answer: { text: string; usage?: Record<string, number>; handover?: HandoverIntent };
}

export type BeforeRunResult =
  | void
  | undefined
  | Refusal
  | HookAnswer
  | {
      /** The input as the runtime (and the stored history) should see it. */
      text?: string;
      /** Instructions appended to the model's system prompt for this run. */
      instructions?: string[];
    };

export type AfterRunResult = void | undefined | Refusal | { text: string };

/**
 * A streaming filter: `push` gets each chunk and returns the text that may be sent now (it may
 * hold back the tail until it knows more); `end` returns the held-back rest. Either may refuse.
 */
export interface OutputStreamFilter {
  push(chunk: string): string | Refusal;
  end(): string | Refusal;
}

export interface ToolCallView {
  tool: string;
  bindingId?: string;
  server?: string;
  input: Record<string, unknown>;
}

export interface TriggerView {
  kind: 'schedule' | 'webhook';
  name: string;
  input: string;
}

type Awaitable<T> = T | Promise<T>;

/** The hooks, typed by the capability's config. A capability implements those it declares. */
export interface RunHooks<Config> {
  beforeRun(input: RunInputView, ctx: RunHookContext<Config>): Awaitable<BeforeRunResult>;
  afterRun(output: { text: string }, ctx: RunHookContext<Config>): Awaitable<AfterRunResult>;
  outputStream(ctx: RunHookContext<Config>): OutputStreamFilter;
  onToolCall(call: ToolCallView, ctx: { config: Config; instanceId: string; runId?: string }): Awaitable<void | Refusal>;
  onTrigger(trigger: TriggerView, ctx: { config: Config; instanceId: string }): Awaitable<void | Refusal | { input: string }>;
}

export const isRefusal = (r: unknown): r is Refusal => typeof r === 'object' && r !== null && 'refuse' in r;
export const isAnswer = (r: unknown): r is HookAnswer => typeof r === 'object' && r !== null && 'answer' in r;
