/**
 * `npm run token -- --user alice@example.com [--roles a,b] [--ttl 3600] [--name "Alice"]`
 * `npm run token -- --service gateway|provisioner|runner|connector-gateway|argocd [--ttl 3600]`
 *
 * Prints an access token minted by the development issuer, using the same key
 * (`$DATA_DIR/dev-issuer/signing-key.json`, default `.data`), issuer (`$CP_BASE/dev-oidc/realms/agent-store`)
 * and audience (`$OIDC_AUDIENCE`, default `agent-store`) as `npm start`. Only the token goes to
 * stdout, so `TOKEN=$(npm run -s token -- --user a@b.c)` works. Refused in production and when
 * OIDC_ISSUER points at a real Keycloak (its verifier would never trust these tokens).
 */
import { parseArgs } from 'node:util';
import { createDevIssuer, devIssuerUrl, devUserSubject, DevIssuerInProductionError, isProductionEnv } from '../src/identity/dev-issuer';
import { isServiceName, SERVICE_NAMES, SERVICE_ROLES } from '../src/identity/principal';
import { ConfigError, loadConfig } from '../src/platform/config';

const USAGE = `Usage:
  npm run token -- --user <email> [--roles role1,role2] [--name "Full Name"] [--ttl seconds]
  npm run token -- --service <${SERVICE_NAMES.join('|')}> [--ttl seconds]`;

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        user: { type: 'string' },
        service: { type: 'string' },
        roles: { type: 'string' },
        name: { type: 'string' },
        ttl: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if ((values.user === undefined) === (values.service === undefined)) fail(`Give exactly one of --user or --service.\n${USAGE}`);

  if (isProductionEnv(process.env.APP_ENV)) fail('Refusing to mint tokens in production (APP_ENV=production): tokens come from Keycloak there.');
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  if (config.env === 'production') fail('Refusing to mint tokens in production (APP_ENV=production): tokens come from Keycloak there.');
  if (config.oidc.issuer) fail(`OIDC_ISSUER is set (${config.oidc.issuer}): the services trust that issuer, not the development one. Get a token from it instead.`);

  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 24 * 3600) fail('--ttl must be a whole number of seconds from 1 to 604800');

  const dev = await createDevIssuer({ dataDir: config.dataDir, issuer: devIssuerUrl(config.urls.controlPlane), appEnv: config.env });
  const audience = config.oidc.audience;

  let token: string;
  if (values.user !== undefined) {
    const email = values.user.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) fail(`--user must be an email address (got ${JSON.stringify(values.user)})`);
    const roles = (values.roles ?? '').split(',').map((r) => r.trim()).filter(Boolean);
    const svc = roles.filter((r) => r.startsWith('svc:'));
    if (svc.length) fail(`Service roles (${svc.join(', ')}) belong to service tokens: use --service.`);
    token = await dev.mint({ kind: 'user', subject: devUserSubject(email), email, name: values.name, roles, audience, ttlSeconds: ttl });
  } else {
    const service = values.service!;
    if (!isServiceName(service)) fail(`Unknown service ${JSON.stringify(service)}. Choose from: ${SERVICE_NAMES.join(', ')}`);
    if (values.roles !== undefined) fail('--roles applies to --user; a service token carries its service role.');
    token = await dev.mint({
      kind: 'service',
      subject: `service-account-${service}`,
      clientId: service,
      roles: [SERVICE_ROLES[service]],
      audience,
      ttlSeconds: ttl,
    });
  }
  process.stdout.write(token + '\n');
}

main().catch((err) => {
  if (err instanceof DevIssuerInProductionError) fail(err.message);
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
