import { toolConnectorsMeta as meta, type ToolConnectorsHandler } from '../../generated/capabilities/tool-connectors';
import { hostProblem, isPrivateHost, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue, Manifest } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { ANNOTATION, connectorSecret, instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/** The connector whose tools reach arbitrary URLs, limited by allowedHosts. */
export const GENERIC_HTTP = 'generic_http';

/**
 * Tool connectors. Semantic rules:
 * - tool names are unique; every tool names its connector (a write tool without one could not be
 *   audited or attributed to a binding);
 * - allowedHosts are valid host names (a leading `*.` with at least two labels after it), unique
 *   (case-insensitively), and `generic_http` tools need at least one;
 * - a loopback/private/link-local host needs allowPrivateNetworks; with allowPrivateNetworks on,
 *   every host must be named exactly (no wildcard), and some host must be listed. Turning it on is
 *   also flagged on the ConnectorPolicy (annotation `platform.agentstore.dev/private-networks`) so
 *   it stands out in the GitOps diff.
 * Desired state: a ConnectorPolicy (read retries as configured, write retries always 0) and one
 * ExternalSecret per connector binding the tools use (the first binding of that connector in
 * ctx.bindings). A tool whose connector has no binding gets no secretRef: the Connector Gateway
 * refuses it (fails closed).
 */
export const toolConnectors: ToolConnectorsHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const tools = config.allowedTools ?? [];
    for (const i of repeatedIndexes(tools, (t) => t.name)) issues.push({ path: pointer('allowedTools', i, 'name'), message: `repeats tool ${tools[i]!.name}` });
    tools.forEach((t, i) => {
      if (!t.connector) issues.push({ path: pointer('allowedTools', i, 'connector'), message: `${t.kind} tools need a connector` });
    });
    const hosts = config.allowedHosts ?? [];
    hosts.forEach((h, i) => {
      const problem = hostProblem(h);
      if (problem) issues.push({ path: pointer('allowedHosts', i), message: problem });
      else if (isPrivateHost(h.replace(/^\*\./, '')) && !config.allowPrivateNetworks) {
        issues.push({ path: pointer('allowedHosts', i), message: 'is a loopback, private or link-local host; it is blocked unless allowPrivateNetworks is true' });
      }
    });
    for (const i of repeatedIndexes(hosts, (h) => h.toLowerCase())) issues.push({ path: pointer('allowedHosts', i), message: `repeats ${hosts[i]}` });
    if (tools.some((t) => t.connector === GENERIC_HTTP) && hosts.length === 0) {
      issues.push({ path: pointer('allowedHosts'), message: `${GENERIC_HTTP} tools can reach nothing without allowed hosts` });
    }
    if (config.allowPrivateNetworks) {
      if (hosts.length === 0) issues.push({ path: pointer('allowPrivateNetworks'), message: 'needs allowedHosts naming the private hosts to reach' });
      hosts.forEach((h, i) => {
        if (h.startsWith('*.')) issues.push({ path: pointer('allowedHosts', i), message: 'with allowPrivateNetworks on, hosts must be named exactly (no wildcard)' });
      });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const tools = c.allowedTools ?? [];
    const manifests: Manifest[] = [];
    const secretOf = new Map<string, string>();
    const bindings: { bindingId: string; connectorId: string; secretName: string }[] = [];
    for (const connector of new Set(tools.map((t) => t.connector))) {
      const binding = ctx.bindings.find((b) => b.connectorId === connector);
      if (!binding) continue;
      const { manifest, secretName } = connectorSecret(ctx, meta.id, binding.bindingId);
      manifests.push(manifest);
      secretOf.set(connector, secretName);
      bindings.push({ bindingId: binding.bindingId, connectorId: connector, secretName });
    }
    const policy = instanceObject(
      ctx,
      meta.id,
      'ConnectorPolicy',
      {
        spec: {
          instanceId: ctx.instanceId,
          source: meta.id,
          tools: tools.map((t) => {
            const secretName = secretOf.get(t.connector);
            return { name: t.name, kind: t.kind, connector: t.connector, ...(secretName ? { secretRef: { name: secretName } } : {}) };
          }),
          allowedHosts: (c.allowedHosts ?? []).map((h) => h.toLowerCase()),
          allowPrivateNetworks: c.allowPrivateNetworks!,
          timeoutMs: c.toolTimeoutMs!,
          maxCallsPerRun: c.maxToolCallsPerRun!,
          retries: { read: c.readRetries!, write: 0 },
          bindings,
        },
      },
      c.allowPrivateNetworks ? { annotations: { [ANNOTATION.privateNetworks]: 'allowed' } } : {},
    );
    return [policy, ...manifests];
  },
  meter: meterBy(meta.dimensions),
};
