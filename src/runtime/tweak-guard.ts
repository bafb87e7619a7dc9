/**
 * Tweaks may set a certified flow's settings, never its code or where it sends things. A tweak
 * is refused (422 UNPROCESSABLE, naming the node and field) when it
 *   - names a node the flow does not have;
 *   - sets `code` or a field whose template type is `code` (Langflow would run the new source);
 *   - sets a prompt's `template` (the publisher's certified prompt: runs fill its variables, never
 *     replace it);
 *   - sets a `_`-prefixed field (`_type`, `_input_type`: component internals);
 *   - sets an endpoint a model or tool node calls (`openai_api_base`, `base_url`, `api_base`,
 *     `azure_endpoint`, `url`…): the platform, not a request, decides where calls go.
 * Which values a run may change (declared prompt variables) is decided before the Runner; this is
 * the Runner's own floor, so nothing a request carries can rewrite the executed bytes.
 */
import { AppError } from '../platform/errors';
import type { FlowExport } from './flow';
import type { Tweaks } from './types';

const ENDPOINT_FIELDS = new Set(['openai_api_base', 'api_base', 'base_url', 'baseurl', 'azure_endpoint', 'endpoint', 'url', 'api_url', 'server_url', 'host']);

export function assertTweaksAllowed(flow: FlowExport, tweaks: Tweaks): void {
  const nodes = new Map(flow.data.nodes.map((n) => [n.id, n]));
  for (const [nodeId, fields] of Object.entries(tweaks)) {
    const node = nodes.get(nodeId);
    if (!node) throw refuse(`Tweaks name node "${nodeId}", which the flow does not have`, nodeId);
    for (const field of Object.keys(fields ?? {})) {
      const template = node.data?.node?.template?.[field] as { type?: unknown } | undefined;
      if (field === 'code' || (template && typeof template === 'object' && template.type === 'code')) {
        throw refuse(`A tweak may not replace the code of node "${nodeId}"`, nodeId, field);
      }
      if (field === 'template') throw refuse(`A tweak may not replace the prompt template of node "${nodeId}" (set its variables instead)`, nodeId, field);
      if (field.startsWith('_')) throw refuse(`A tweak may not set the internal field "${field}" of node "${nodeId}"`, nodeId, field);
      if (ENDPOINT_FIELDS.has(field.toLowerCase())) throw refuse(`A tweak may not change where node "${nodeId}" sends requests ("${field}")`, nodeId, field);
    }
  }
}

function refuse(message: string, nodeId: string, field?: string): AppError {
  return new AppError('UNPROCESSABLE', message, { reason: 'tweak_not_allowed', nodeId, ...(field ? { field } : {}) });
}
