/**
 * What a person reads when something goes wrong. Visitors (the widget on a customer's site) are
 * never told about the owner's wallet; buyers (the hosted chat) are told what to do about it.
 */
import type { ApiErrorInfo } from './api';

export type Audience = 'visitor' | 'buyer';

export function friendlyMessage(err: ApiErrorInfo, audience: Audience): string {
  const d = err.details ?? {};
  switch (err.code) {
    case 'ORIGIN_NOT_ALLOWED':
      return audience === 'visitor' ? "This chat isn't available on this website." : 'This page may not use this assistant.';
    case 'INSUFFICIENT_CREDITS':
      return audience === 'visitor'
        ? "The assistant can't answer right now. Please try again later."
        : `Not enough credits for this message (available ${d.balance ?? '?'}, needed ${d.requiredBudget ?? '?'}). Top up to continue.`;
    case 'RATE_LIMITED': {
      const wait = err.retryAfterSeconds ?? (typeof d.retryAfterSeconds === 'number' ? d.retryAfterSeconds : undefined);
      return `You're sending messages quickly. Please wait ${wait ? `${wait} second${wait === 1 ? '' : 's'}` : 'a moment'} and try again.`;
    }
    case 'NOT_ENTITLED':
      if (d.state === 'paused') return 'This assistant is paused at the moment. Please try again later.';
      if (d.state === 'terminated') return 'This assistant is no longer available.';
      if (typeof d.state === 'string') return 'This assistant is getting ready. Please try again in a moment.';
      return "This assistant isn't available here.";
    case 'UNPROCESSABLE':
      return typeof d.maxInputChars === 'number' ? `That message is too long (at most ${d.maxInputChars} characters).` : "The assistant couldn't take that message.";
    case 'UNAUTHENTICATED':
      return audience === 'visitor' ? 'Your chat session ended. Please send your message again.' : 'Your sign-in has expired. Please sign in again.';
    case 'NOT_FOUND':
      return "This assistant doesn't exist (or you can't see it).";
    case 'TIMEOUT':
    case 'DEPENDENCY_TIMEOUT':
      return 'The assistant is taking too long to answer. Please try again.';
    case 'NETWORK':
      return "Can't reach the assistant right now. Check your connection and try again.";
    default:
      return 'The assistant is having trouble answering. Please try again in a moment.';
  }
}
