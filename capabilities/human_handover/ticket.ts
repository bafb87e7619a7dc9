/**
 * What a hand-over delivers: the ticket's subject and body (the conversation so far and the
 * request that triggered it — the text the guardrails already masked, never a credential), and
 * the delivery per provider.
 */
import type { HumanHandoverConfig } from '../../generated/capabilities/human-handover';
import type { HandoverDelivery } from '../../src/capabilities/hook-types';
import type { Trigger } from './triggers';

const WHY: Record<Trigger, string> = { user_request: 'asked to talk to a person', keyword: 'used a hand-over keyword' };

export function ticketSubject(input: string): string {
  const line = input.replace(/\s+/g, ' ').trim();
  return `Conversation handed over: ${line.length > 80 ? `${line.slice(0, 79)}…` : line || '(no text)'}`;
}

/** The ticket's first comment: why, where from, then the transcript (oldest first) and the request. */
export function ticketBody(d: Pick<HandoverDelivery, 'instanceId' | 'sessionId' | 'runId' | 'transcript' | 'input'>, trigger: Trigger, includeTranscript: boolean): string {
  const lines = [`The customer ${WHY[trigger]}.`, `Instance ${d.instanceId} · session ${d.sessionId ?? '(none)'} · run ${d.runId}`, ''];
  if (includeTranscript && d.transcript.length) {
    lines.push('Conversation so far:');
    for (const m of d.transcript) lines.push(`${m.role === 'user' ? 'Customer' : 'Assistant'}: ${m.content}`);
    lines.push('');
  }
  lines.push(`Customer: ${d.input}`);
  return lines.join('\n').slice(0, 65_000);
}

/**
 * Delivers the hand-over: a Zendesk ticket through the connector gateway (the binding's
 * credential stays there). `email` and `webhook` hand-overs are recorded on the session and the
 * instance's events; nothing is sent for them yet (see README "Capabilities at run time").
 */
export async function deliverHandover(c: HumanHandoverConfig, trigger: Trigger, d: HandoverDelivery): Promise<{ ticketRef?: string }> {
  if (c.provider !== 'zendesk') return {};
  const { ticketRef } = await d.services.createTicket({
    provider: 'zendesk',
    bindingId: c.bindingId!,
    subject: ticketSubject(d.input),
    body: ticketBody(d, trigger, c.includeTranscript !== false),
    tags: ['agent-store', 'handover'],
    idempotencyKey: d.handoverId,
  });
  return { ticketRef };
}
