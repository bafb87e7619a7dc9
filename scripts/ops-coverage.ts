/**
 * `npm run ops:coverage`: how many spec operations have a real handler, per service, and whether
 * every capability's hooks are built. Exit 1 on any operation still answering 501 or any capability
 * hook that throws (CI gate: a deleted handler comes back as gen's 501 skeleton and fails here).
 */
import { capabilityHandlers } from '../generated/capabilities/handler-registry';
import { handlers as connectorGateway } from '../generated/connector-gateway/handler-registry';
import { handlers as controlPlane } from '../generated/control-plane/handler-registry';
import { handlers as gateway } from '../generated/gateway/handler-registry';
import { handlers as provisioner } from '../generated/provisioner/handler-registry';
import { handlers as runner } from '../generated/runner/handler-registry';
import { operationCoverage, unbuiltCapabilityHooks } from './coverage';

const ops = operationCoverage({ 'control-plane': controlPlane, gateway, 'connector-gateway': connectorGateway, runner, provisioner });
let total = 0;
let unbuilt = 0;
for (const s of ops) {
  total += s.total;
  unbuilt += s.unbuilt.length;
  console.log(`${s.service.padEnd(18)} ${String(s.total - s.unbuilt.length).padStart(3)}/${s.total} implemented`);
  for (const id of s.unbuilt) console.log(`  501 ${id}`);
}
console.log(`${'all'.padEnd(18)} ${String(total - unbuilt).padStart(3)}/${total} implemented`);

const hooks = unbuiltCapabilityHooks(capabilityHandlers);
const caps = Object.keys(capabilityHandlers).length;
const badCaps = new Set(hooks.map((h) => h.capability));
console.log(`${'capabilities'.padEnd(18)} ${String(caps - badCaps.size).padStart(3)}/${caps} built`);
for (const h of hooks) console.log(`  ${h.capability}.${h.hook} throws: ${h.error}`);

if (unbuilt || hooks.length) {
  console.error(`ops:coverage: ${unbuilt} operation(s) answer 501 and ${badCaps.size} capability handler(s) are not built. Fill in the handler gen created (handlers/<service>/<operation>.ts, capabilities/<id>/handler.ts).`);
  process.exit(1);
}
