import { mcpToolsMeta as meta, type McpToolsHandler } from '../../generated/capabilities/mcp-tools';
import { httpsUrlProblem, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue, Manifest } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { connectorSecret, instanceObject } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/**
 * MCP tools. Semantic rules: server names are unique; a server URL is https to a public host, with
 * no credentials in it (user info or credential-like query parameters — use `bindingId`) and no
 * query or fragment; a server's allowedTools are unique.
 * Desired state: a ConnectorPolicy listing the servers, and an ExternalSecret per distinct binding.
 * Run time (src/connector-gateway/mcp-tools.ts): the Connector Gateway is the MCP client; a tool is
 * a read only when its annotations say `readOnlyHint: true` without `destructiveHint: true`
 * (retried like HTTP read tools, 3×), every other tool a write (never retried).
 */
export const mcpTools: McpToolsHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const servers = config.servers ?? [];
    for (const i of repeatedIndexes(servers, (s) => s.name)) issues.push({ path: pointer('servers', i, 'name'), message: `repeats server ${servers[i]!.name}` });
    servers.forEach((s, i) => {
      const problem = httpsUrlProblem(s.url, { allowQuery: false });
      if (problem) issues.push({ path: pointer('servers', i, 'url'), message: problem });
      const tools = s.allowedTools ?? [];
      for (const j of repeatedIndexes(tools, (t) => t)) issues.push({ path: pointer('servers', i, 'allowedTools', j), message: `repeats tool ${tools[j]}` });
      tools.forEach((t, j) => {
        if (t.trim() === '') issues.push({ path: pointer('servers', i, 'allowedTools', j), message: 'must not be blank' });
      });
    });
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const secrets = new Map<string, { manifest: Manifest; secretName: string }>();
    for (const s of c.servers ?? []) {
      if (s.bindingId && !secrets.has(s.bindingId)) secrets.set(s.bindingId, connectorSecret(ctx, meta.id, s.bindingId));
    }
    const policy = instanceObject(ctx, meta.id, 'ConnectorPolicy', {
      spec: {
        instanceId: ctx.instanceId,
        source: meta.id,
        allowPrivateNetworks: false,
        timeoutMs: c.callTimeoutMs!,
        maxCallsPerRun: c.maxCallsPerRun!,
        retries: { read: 3, write: 0 },
        mcpServers: (c.servers ?? []).map((s) => ({
          name: s.name,
          url: s.url,
          transport: s.transport!,
          allowedTools: s.allowedTools ?? [],
          ...(s.bindingId ? { secretRef: { name: secrets.get(s.bindingId)!.secretName } } : {}),
        })),
        bindings: [...secrets.entries()].map(([bindingId, { secretName }]) => ({
          bindingId,
          connectorId: ctx.bindings.find((b) => b.bindingId === bindingId)?.connectorId ?? 'mcp',
          secretName,
        })),
      },
    });
    return [policy, ...[...secrets.values()].map((s) => s.manifest)];
  },
  meter: meterBy(meta.dimensions),
};
