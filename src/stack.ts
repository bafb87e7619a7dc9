import type { Knex } from 'knex';
import { createIdentity, type Identity } from './auth/identity';
import { createConnectorGatewayApp } from './connector-gateway/app';
import { toolCallAuditor } from './audit';
import { buildConnectorGatewayDeps, type ConnectorGatewayOverrides } from './connector-gateway/build-deps';
import { connectorGatewayToolInvoker } from './connector-gateway/client';
import { createControlPlaneApp } from './control-plane/app';
import { createDb } from './db/create-db';
import { migrateLatest } from './db/migrate';
import { createGatewayApp } from './gateway/app';
import { buildGatewayDeps } from './gateway/build-deps';
import { buildControlPlane } from './control-plane/build-deps';
import { SERVICE_NAMES, type Config, type ServiceName } from './platform/config';
import type { ServiceApp } from './platform/http/create-service-app';
import { createInstanceSignals } from './platform/instance-signals';
import type { Logger } from './platform/logger';
import { createProvisionerApp } from './provisioner/app';
import { createProvisionerDeps } from './provisioner/deps';
import { controlPlaneRetriever, runnerTokenSource } from './rag/cp-retriever';
import { createRunnerApp } from './runner/app';
import { flushTracing, initTracing, type InstanceExportOptions } from './platform/tracing';
import { guardedLookup, systemResolver } from './platform/net-guard';
import { buildRunnerDeps } from './runner/build-deps';

export { SERVICE_NAMES, type ServiceName } from './platform/config';

export interface Stack {
  config: Config;
  identity: Identity;
  db?: Knex;
  apps: { name: ServiceName; app: ServiceApp; url: string }[];
  close(): Promise<void>;
}

/**
 * Builds and starts the selected services in this process, on the ports from the config
 * (port 0 picks a free one). Services that need the database share one pool.
 */
export async function startStack(
  config: Config,
  log: Logger,
  opts: { services?: readonly ServiceName[]; validateResponses?: boolean; db?: Knex; connectorGateway?: ConnectorGatewayOverrides; instanceExport?: InstanceExportOptions } = {},
): Promise<Stack> {
  const selected = opts.services ?? SERVICE_NAMES;
  // Traces of every service of this process go to the configured OTLP endpoint, and the runs of
  // instances with their own endpoint there, through the SSRF guard (no private addresses).
  initTracing(config.tracing, [], { instanceExport: opts.instanceExport ?? { lookup: guardedLookup(false, systemResolver) } });
  const identity = await createIdentity(config);
  // The runner needs it only on Langflow, for the record of which flow holds each artifact.
  const needsDb = selected.includes('control-plane') || selected.includes('provisioner') || (selected.includes('runner') && !!config.langflow);
  // An injected database (tests) is already migrated and is closed by its owner.
  const ownsDb = needsDb && !opts.db;
  const db = opts.db ?? (needsDb ? await createDb({ url: config.databaseUrl, dataDir: `${config.dataDir}/pglite` }) : undefined);
  const apps: Stack['apps'] = [];
  const stoppers: (() => Promise<void>)[] = [];
  // Instance lifecycle changes reach gateways in-process, or through Redis pub/sub when configured.
  const signals = createInstanceSignals(config.redisUrl, log);
  try {
    if (ownsDb) await migrateLatest(db!);
    const v = { validateResponses: opts.validateResponses ?? config.validateResponses };
    // Local presigned URLs point at the control plane; with port 0 its URL is known after listen.
    let cpListenUrl: string | undefined;
    const cpUrl = () => (config.ports.controlPlane === 0 && cpListenUrl ? cpListenUrl : config.urls.controlPlane);
    let runnerListenUrl: string | undefined;
    let connListenUrl: string | undefined;
    const connUrl = () => (config.ports.connectorGateway === 0 && connListenUrl ? connListenUrl : config.urls.connectorGateway);
    const runnerUrl = () => (config.ports.runner === 0 && runnerListenUrl ? runnerListenUrl : config.urls.runner);
    let gatewayListenUrl: string | undefined;
    const gatewayUrl = () => (config.ports.gateway === 0 && gatewayListenUrl ? gatewayListenUrl : config.urls.gateway);
    const builders: Record<ServiceName, () => Promise<ServiceApp>> = {
      'control-plane': async () => {
        const cp = buildControlPlane({ config, log, db: db!, identity }, { publicUrl: cpUrl, gatewayUrl, onLifecycleChange: (id) => signals.publish(id) });
        await cp.start();
        stoppers.push(() => cp.stop());
        return createControlPlaneApp(cp.deps, { ...v, gatewayUrl });
      },
      gateway: async () => {
        const gw = await buildGatewayDeps({ config, log, identity }, { controlPlaneUrl: cpUrl, runnerUrl, signals });
        stoppers.unshift(() => gw.close());
        return createGatewayApp(gw.deps, { ...v, publicUrl: gatewayUrl, controlPlaneUrl: cpUrl });
      },
      'connector-gateway': () => createConnectorGatewayApp(
        // Beside the Control Plane's database, tool calls also land in the audit log.
        buildConnectorGatewayDeps({ config, log, identity }, { controlPlaneUrl: cpUrl, onToolCall: db ? toolCallAuditor(db) : undefined, ...opts.connectorGateway }),
        v,
      ),
      provisioner: () => {
        const deps = createProvisionerDeps({ config, log, db: db!, identity }, { controlPlaneUrl: cpUrl });
        // The inbox worker delivers held orders until the stack stops (then hands its leases back).
        deps.inboxWorker.start();
        stoppers.unshift(() => deps.inboxWorker.stop());
        return createProvisionerApp(deps, v);
      },
      runner: () => {
        // The built-in runtime's retriever asks the Control Plane (queryKnowledgeBase) with the Runner's token.
        const tokens = runnerTokenSource(config, identity);
        const retriever = tokens ? controlPlaneRetriever({ controlPlaneUrl: cpUrl, tokens }) : undefined;
        // …and its ToolCall component reaches tools through the Connector Gateway, with the same token.
        const toolInvoker = tokens ? connectorGatewayToolInvoker({ baseUrl: connUrl, tokens }) : undefined;
        return createRunnerApp(buildRunnerDeps({ config, log, identity }, { retriever, toolInvoker, controlPlaneUrl: cpUrl, ...(db ? { db } : {}) }), v);
      },
    };
    const ports: Record<ServiceName, number> = {
      'control-plane': config.ports.controlPlane,
      gateway: config.ports.gateway,
      'connector-gateway': config.ports.connectorGateway,
      runner: config.ports.runner,
      provisioner: config.ports.provisioner,
    };
    for (const name of selected) {
      const app = await builders[name]();
      const { url } = await app.listen(ports[name], config.host);
      if (name === 'control-plane') cpListenUrl = url;
      if (name === 'runner') runnerListenUrl = url;
      if (name === 'connector-gateway') connListenUrl = url;
      if (name === 'gateway') gatewayListenUrl = url;
      apps.push({ name, app, url });
    }
  } catch (err) {
    await Promise.all(apps.map((a) => a.app.close(0)));
    for (const stop of stoppers) await stop();
    await signals.close();
    if (ownsDb) await db?.destroy();
    throw err;
  }
  return {
    config,
    identity,
    db,
    apps,
    async close() {
      await Promise.all(apps.map((a) => a.app.close()));
      await flushTracing().catch(() => {});
      for (const stop of stoppers) await stop();
      await signals.close();
      if (ownsDb) await db?.destroy();
    },
  };
}
