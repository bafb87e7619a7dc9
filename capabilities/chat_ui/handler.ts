import type { ChatUiHandler } from '../../generated/capabilities/chat-ui';

/**
 * Chat UI: Hosted chat surface in the buyer's workspace, with session history.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const chatUi: ChatUiHandler = {
  validate(config) {
    throw new Error('chat_ui: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('chat_ui: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('chat_ui: meter not implemented');
  },
};
