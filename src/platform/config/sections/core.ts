import { defineSection } from '../define';

/** The five services, in start order; each can also run alone (`npm start -- <service>`). */
export const SERVICE_NAMES = ['control-plane', 'gateway', 'connector-gateway', 'runner', 'provisioner'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export type AppEnv = 'development' | 'test' | 'production';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Environment, logging, data directory, database, and where the five services listen and reach each other. */
export const core = defineSection({
  id: 'core',
  title: 'Environment, database, ports and service URLs',
  vars: {
    APP_ENV: { doc: 'development, test or production. production refuses every embedded stand-in (see the production guard in src/platform/config/production.ts).', default: 'development (production when NODE_ENV=production)' },
    NODE_ENV: { doc: 'Only read when APP_ENV is unset: NODE_ENV=production counts as APP_ENV=production.' },
    LOG_LEVEL: { doc: 'fatal, error, warn, info, debug, trace or silent. Logs are JSON lines on stdout; secrets and tokens are redacted.', default: 'info (silent when APP_ENV=test)' },
    HOST: { doc: 'Address the services listen on (0.0.0.0 in a container).', default: '127.0.0.1' },
    DATA_DIR: { doc: 'PGlite data, development issuer key, local GitOps repository, local object and secret stores.', default: '.data' },
    DATABASE_URL: { doc: 'PostgreSQL (postgres://…); unset = PGlite in <DATA_DIR>/pglite.', secret: true, required: 'production (control-plane, provisioner)' },
    VALIDATE_RESPONSES: { doc: 'Validate every response against its spec (tests and the Newman run turn it on).', default: '0' },
    SEED_DEMO: { doc: 'Load the demo catalog (Support Assistant, Docs Knowledge Agent) at start.', default: '1 in development, else 0' },
    CP_PORT: { doc: 'Control Plane listening port.', default: '8080' },
    GATEWAY_PORT: { doc: 'Gateway listening port.', default: '8081' },
    CONNECTOR_GATEWAY_PORT: { doc: 'Connector Gateway listening port.', default: '8082' },
    RUNNER_PORT: { doc: 'Runner listening port.', default: '8083' },
    PROVISIONER_PORT: { doc: 'Provisioner listening port.', default: '8084' },
    CP_BASE: { doc: 'Where the other services reach the Control Plane (also the base of local presigned URLs).', default: 'http://<HOST>:<CP_PORT>' },
    API_BASE: { doc: 'Public URL of the Gateway.', default: 'http://<HOST>:<GATEWAY_PORT>' },
    CONN_BASE: { doc: 'Where the Runner reaches the Connector Gateway.', default: 'http://<HOST>:<CONNECTOR_GATEWAY_PORT>' },
    RUNNER_BASE: { doc: 'Where the Gateway reaches the Runner.', default: 'http://<HOST>:<RUNNER_PORT>' },
    PROVISIONER_BASE: { doc: 'Public URL of the Provisioner (Saleor webhooks).', default: 'http://<HOST>:<PROVISIONER_PORT>' },
  },
  read(r) {
    const nodeProduction = (r.str('NODE_ENV') ?? '').trim().toLowerCase() === 'production';
    const env = r.oneOf('APP_ENV', ['development', 'test', 'production'] as const, nodeProduction ? 'production' : 'development');
    const host = r.str('HOST', '127.0.0.1');
    const ports = {
      controlPlane: r.int('CP_PORT', 8080, 0, 65535),
      gateway: r.int('GATEWAY_PORT', 8081, 0, 65535),
      connectorGateway: r.int('CONNECTOR_GATEWAY_PORT', 8082, 0, 65535),
      runner: r.int('RUNNER_PORT', 8083, 0, 65535),
      provisioner: r.int('PROVISIONER_PORT', 8084, 0, 65535),
    };
    const local = (port: number) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    return {
      env: env as AppEnv,
      logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, env === 'test' ? 'silent' : 'info') as string,
      host,
      dataDir: r.str('DATA_DIR', '.data'),
      databaseUrl: r.url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
      ports,
      /** Where each service reaches the others (defaults: this host's ports). */
      urls: {
        controlPlane: r.url('CP_BASE', local(ports.controlPlane))!,
        gateway: r.url('API_BASE', local(ports.gateway))!,
        connectorGateway: r.url('CONN_BASE', local(ports.connectorGateway))!,
        runner: r.url('RUNNER_BASE', local(ports.runner))!,
        provisioner: r.url('PROVISIONER_BASE', local(ports.provisioner))!,
      },
      /** Validate every response against the spec (tests, Newman runs); off in production. */
      validateResponses: r.bool('VALIDATE_RESPONSES', false),
      /** Load the demo catalog at start-up; default on in development. */
      seedDemo: r.bool('SEED_DEMO', env === 'development'),
    };
  },
});
