import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

/** What every connector-gateway handler receives as `ctx.deps`. */
export interface ConnectorGatewayDeps {
  config: Config;
  log: Logger;
  identity: Identity;
}
