import { folder, request } from '../dsl';

export default folder('01 - Catalog', 'Browsing needs no login: readiness, the capability registry, catalog search and an offering\'s versions.', [
  request({ name: 'Health and readiness', call: 'GET /readyz', service: 'control-plane', direct: 'probes are not part of the spec', status: 200 }),
  request({
    name: 'Capabilities (public)',
    call: 'GET /capabilities',
    service: 'control-plane',
    status: 200,
    checks: [['16 capabilities, tool_connectors among them', "pm.expect(body.items.length).to.eql(16); pm.expect(body.items.map((c) => c.id)).to.include('tool_connectors');"]],
  }),
  request({
    name: 'One capability with its config schema (public)',
    call: 'GET /capabilities/tool_connectors',
    service: 'control-plane',
    status: 200,
    checks: [['the JSON Schema a UI renders a form from', "pm.expect(body.configSchema.type).to.eql('object'); pm.expect(body.configSchema.properties).to.have.property('allowedTools');"]],
  }),
  request({
    name: 'Catalog search (public)',
    call: 'GET /offerings?valueStream=customer_support&limit=10',
    service: 'control-plane',
    status: 200,
    checks: [['the demo assistant is published', "pm.expect(body.items.find((x) => x.slug === 'support-assistant')).to.be.an('object');"]],
    saves: { OFFERING_ID: "body.items.find((x) => x.slug === 'support-assistant').id" },
  }),
  request({
    name: 'Offering versions',
    call: 'GET /offerings/{{OFFERING_ID}}/versions',
    service: 'control-plane',
    status: 200,
    checks: [['one certified version', 'pm.expect(body.items.length).to.be.at.least(1);']],
    saves: { OFFERING_VERSION_ID: 'body.items[0].id' },
  }),
]);
