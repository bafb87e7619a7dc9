/**
 * `npm start [-- <service> …]`: runs every service (or the named ones) in one process on the
 * embedded defaults (PGlite in DATA_DIR, development token issuer) and prints where to go next.
 * With PostgreSQL (DATABASE_URL) and no service named, the Control Plane runs in a child process
 * of its own (the same script, `control-plane`), so that it and the gateway use a core each; the
 * other services reach it at CP_BASE. PGlite lives in one process, so without DATABASE_URL
 * everything stays in this one.
 */
import '../src/platform/v8-flags';
import { fork, type ChildProcess } from 'node:child_process';
import { ConfigError, loadConfig, redactUrl } from '../src/platform/config';
import { describeProviders } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
import { SERVICE_NAMES, startStack, type ServiceName } from '../src/stack';

let stopping = false;

async function main() {
  const started = performance.now();
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = requested.filter((s) => !(SERVICE_NAMES as readonly string[]).includes(s));
  if (unknown.length) {
    console.error(`Unknown service(s): ${unknown.join(', ')}. Choose from: ${SERVICE_NAMES.join(', ')}`);
    process.exit(2);
  }
  let config;
  try {
    // The production guard checks what the selected services use.
    config = loadConfig(process.env, { services: requested.length ? (requested as ServiceName[]) : undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  let cpChild: ChildProcess | undefined;
  let services = requested.length ? (requested as ServiceName[]) : undefined;
  if (!services && config.databaseUrl && config.ports.controlPlane !== 0) {
    cpChild = await startControlPlaneChild(config.urls.controlPlane);
    services = SERVICE_NAMES.filter((n) => n !== 'control-plane');
  }
  const stack = await startStack(config, log, { services });
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const width = Math.max('control-plane'.length, ...stack.apps.map((a) => a.name.length));
  const lines = [
    '',
    `Agent Store is up in ${seconds} s (${stack.db ? (config.databaseUrl ? 'PostgreSQL' : `PGlite in ${config.dataDir}/pglite`) : 'no database'})`,
    ...stack.apps.map((a) => `  ${a.name.padEnd(width)}  ${a.url}   (health: ${a.url}/healthz)`),
    ...(cpChild ? [`  ${'control-plane'.padEnd(width)}  ${config.urls.controlPlane}   (its own process, pid ${cpChild.pid})`] : []),
  ];
  if (stack.apps.some((a) => a.name === 'runner')) {
    if (config.langflow) lines.push(`  runtime            Langflow at ${redactUrl(config.langflow.url)} (flows run with Langflow's own model settings)`);
    else if (config.llm) {
      lines.push(`  model providers    ${describeProviders(config.llm).join('\n                     ')}`);
      lines.push(`  default model      ${config.llm.providers[0].name}/${config.llm.providers[0].models[0]} (model nodes naming no other model, and builtin:deterministic, use it)`);
    } else {
      lines.push('  model              offline deterministic model: no model provider configured (set LLM_BASE_URL and LLM_MODELS to use a real one); its answers say so');
    }
  }
  if (stack.identity.devIssuer) {
    lines.push(`  dev OIDC issuer    ${stack.identity.issuer}`);
    lines.push('', 'Next: mint a token with `npm run token -- --user you@example.com` and follow the README buyer journey.');
  }
  console.log(lines.join('\n') + '\n');

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 15_000).unref();
    await stack.close();
    if (cpChild && cpChild.exitCode === null) {
      const exited = new Promise((r) => cpChild!.once('exit', r));
      cpChild.kill('SIGTERM');
      await exited;
    }
    clearTimeout(timer);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** This script again, for the Control Plane alone; resolves once it answers /healthz. */
async function startControlPlaneChild(baseUrl: string): Promise<ChildProcess> {
  // Its log lines go where this process's go.
  const child = fork(process.argv[1]!, ['control-plane'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('exit', (code) => {
    if (!stopping) {
      console.error(`the control plane process exited (${code}); stopping`);
      process.exit(1);
    }
  });
  for (let i = 0; ; i++) {
    if (await fetch(`${baseUrl}/healthz`).then((r) => r.ok).catch(() => false)) return child;
    if (i > 1200 || child.exitCode !== null) throw new Error('the control plane process did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

main().catch((err) => {
  console.error('start failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
