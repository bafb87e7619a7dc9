/**
 * The services whose specs the generator reads. A new service is a spec file plus a row here.
 * `deps` names the hand-written type every handler of the service receives as `ctx.deps`.
 */
export interface ServiceDef {
  name: string;
  spec: string;
  deps: { module: string; type: string };
}

export const services: ServiceDef[] = [
  { name: 'control-plane', spec: 'specs/control-plane.openapi.yaml', deps: { module: 'src/control-plane/deps', type: 'ControlPlaneDeps' } },
  { name: 'gateway', spec: 'specs/gateway.openapi.yaml', deps: { module: 'src/gateway/deps', type: 'GatewayDeps' } },
  { name: 'connector-gateway', spec: 'specs/connector-gateway.openapi.yaml', deps: { module: 'src/connector-gateway/deps', type: 'ConnectorGatewayDeps' } },
  { name: 'runner', spec: 'specs/runner.openapi.yaml', deps: { module: 'src/runner/deps', type: 'RunnerDeps' } },
  { name: 'provisioner', spec: 'specs/provisioner.openapi.yaml', deps: { module: 'src/provisioner/deps', type: 'ProvisionerDeps' } },
];
