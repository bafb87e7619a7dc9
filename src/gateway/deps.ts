import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

/** What every gateway handler receives as `ctx.deps`. */
export interface GatewayDeps {
  config: Config;
  log: Logger;
  identity: Identity;
}
