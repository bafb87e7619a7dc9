import type { McpToolsHandler } from '../../generated/capabilities/mcp-tools';

/**
 * MCP tools: Connects the flow to Model Context Protocol servers through the Connector Gateway's policy and secret handling.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const mcpTools: McpToolsHandler = {
  validate(config) {
    throw new Error('mcp_tools: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('mcp_tools: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('mcp_tools: meter not implemented');
  },
};
