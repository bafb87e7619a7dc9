import type { Knex } from 'knex';
import type { Identity } from '../auth/identity';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';

/** What every control-plane handler receives as `ctx.deps`. */
export interface ControlPlaneDeps {
  config: Config;
  log: Logger;
  db: Knex;
  identity: Identity;
}
