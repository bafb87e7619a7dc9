import type { WebWidgetHandler } from '../../generated/capabilities/web-widget';

/**
 * Web widget: Embeddable chat widget for your website, locked to allowed origins, with your branding.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const webWidget: WebWidgetHandler = {
  validate(config) {
    throw new Error('web_widget: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('web_widget: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('web_widget: meter not implemented');
  },
};
