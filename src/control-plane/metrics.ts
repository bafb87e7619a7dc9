import { Gauge, Registry } from 'prom-client';
import type { ControlPlaneDeps } from './deps';

/** Control-plane domain metrics, read from the database when Prometheus scrapes. */
export function controlPlaneRegistry(deps: ControlPlaneDeps): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'agentstore_instances_stuck_provisioning',
    help: 'Instances requested or provisioning for longer than the stuck threshold.',
    registers: [registry],
    async collect() {
      const before = new Date(Date.now() - deps.instances.stuckAfterMs);
      const row = await deps.db('instances')
        .whereIn('state', ['requested', 'provisioning'])
        .whereRaw('coalesce(provisioning_since, created_at) < ?', [before])
        .count<{ count: number }[]>('* as count')
        .first();
      this.set(Number(row?.count ?? 0));
    },
  });
  new Gauge({
    name: 'agentstore_reservations_open',
    help: 'Open billing reservations (budget held for runs in flight).',
    registers: [registry],
    async collect() {
      const row = await deps.db('reservations').where({ status: 'open' }).count<{ count: number }[]>('* as count').first();
      this.set(Number(row?.count ?? 0));
    },
  });
  return registry;
}
