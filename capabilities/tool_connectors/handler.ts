import type { ToolConnectorsHandler } from '../../generated/capabilities/tool-connectors';

/**
 * Tool connectors: Lets the flow call external APIs through the Connector Gateway, with credentials from connector bindings kept in Vault.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const toolConnectors: ToolConnectorsHandler = {
  validate(config) {
    throw new Error('tool_connectors: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('tool_connectors: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('tool_connectors: meter not implemented');
  },
};
