import { folder, request } from '../dsl';

/** The smallest Langflow export the built-in runtime runs: chat input straight to chat output. */
export const echoFlow = {
  id: 'b2c4e6f8-0000-4000-8000-00000000a11e',
  name: 'Newman echo',
  endpoint_name: 'newman-echo',
  data: {
    nodes: [
      { id: 'ChatInput-aaaaa', type: 'genericNode', data: { id: 'ChatInput-aaaaa', type: 'ChatInput', node: { template: { input_value: { type: 'str', value: '' } }, outputs: [] } } },
      { id: 'ChatOutput-bbbbb', type: 'genericNode', data: { id: 'ChatOutput-bbbbb', type: 'ChatOutput', node: { template: {}, outputs: [] } } },
    ],
    edges: [{ source: 'ChatInput-aaaaa', target: 'ChatOutput-bbbbb', sourceHandle: 'x', targetHandle: 'y' }],
    viewport: { x: 0, y: 0, zoom: 1 },
  },
};

export default folder('08 - Publisher', 'A publisher lists a tool-using agent: offering, version (flow, capabilities incl. tool_connectors, a plan limited to one run per minute), certification, publication. Folders 09 and 10 buy it.', [
  request({
    name: 'Create the offering (publisher-admin)',
    call: 'POST /offerings',
    service: 'control-plane',
    token: 'PUBLISHER_JWT',
    body: { slug: 'newman-tools-agent', name: 'Newman Tools Agent', category: 'agents', summary: 'Calls an orders API through the connector gateway.', valueStreams: ['ops_it'], connectors: ['generic_http'] },
    status: 201,
    checks: [['a draft', "pm.expect(body.lifecycle).to.eql('draft');"]],
    saves: { TOOLS_OFFERING_ID: 'body.id' },
  }),
  request({
    name: 'Create version 1.0.0 with tool_connectors',
    call: 'POST /offerings/{{TOOLS_OFFERING_ID}}/versions',
    service: 'control-plane',
    token: 'PUBLISHER_JWT',
    body: {
      version: '1.0.0',
      flow: echoFlow,
      capabilities: [
        { id: 'prompt_orchestrator', v: 1, defaults: { systemPrompt: 'You relay order questions.', temperature: 0 } },
        { id: 'credits_wallet', v: 1, defaults: { estimatedBudgetPerRun: 10 } },
        { id: 'tool_connectors', v: 1, defaults: {} },
      ],
      plans: [{ id: 'starter', name: 'Starter', includedCredits: 500, limits: { rateLimitPerMinute: 1, burst: 1 }, defaults: {}, priceRef: { sku: 'newman-tools-starter' } }],
    },
    status: 201,
    checks: [['the flow artifact is stored by sha256', 'pm.expect(body.artifact.sha256).to.match(/^[0-9a-f]{64}$/);']],
    saves: { TOOLS_VERSION_ID: 'body.id' },
  }),
  request({
    name: 'Certify the version against the capability registry',
    call: 'POST /offerings/{{TOOLS_OFFERING_ID}}/versions/{{TOOLS_VERSION_ID}}/certify',
    service: 'control-plane',
    token: 'PUBLISHER_JWT',
    status: 200,
    checks: [['certified, no errors', "pm.expect(body.status).to.eql('passed'); pm.expect(body.errors).to.eql([]);"]],
  }),
  request({
    name: 'Publish the offering',
    call: 'POST /offerings/{{TOOLS_OFFERING_ID}}/transitions',
    service: 'control-plane',
    token: 'PUBLISHER_JWT',
    body: { to: 'published' },
    status: 200,
    checks: [['published', "pm.expect(body.lifecycle).to.eql('published');"]],
  }),
]);
