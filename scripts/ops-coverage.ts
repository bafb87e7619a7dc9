/** `npm run ops:coverage`: how many spec operations have a real handler, per service. */
import { handlers as connectorGateway } from '../generated/connector-gateway/handler-registry';
import { handlers as controlPlane } from '../generated/control-plane/handler-registry';
import { handlers as gateway } from '../generated/gateway/handler-registry';
import { handlers as provisioner } from '../generated/provisioner/handler-registry';
import { handlers as runner } from '../generated/runner/handler-registry';
import { isNotImplemented } from '../src/platform/http/not-implemented';

const services: Record<string, Record<string, unknown>> = { 'control-plane': controlPlane, gateway, 'connector-gateway': connectorGateway, runner, provisioner };
let done = 0;
let total = 0;
for (const [name, handlers] of Object.entries(services)) {
  const ids = Object.keys(handlers);
  const missing = ids.filter((id) => isNotImplemented(handlers[id]));
  done += ids.length - missing.length;
  total += ids.length;
  console.log(`${name.padEnd(18)} ${String(ids.length - missing.length).padStart(3)}/${ids.length} implemented`);
  if (process.argv.includes('--verbose')) for (const id of missing) console.log(`  501 ${id}`);
}
console.log(`${'all'.padEnd(18)} ${String(done).padStart(3)}/${total} implemented`);
