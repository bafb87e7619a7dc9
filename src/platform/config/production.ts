/**
 * The production guard: in production (APP_ENV=production, or NODE_ENV=production without
 * APP_ENV) every embedded stand-in is refused — the development token issuer, PGlite, the local
 * secret store (unless chosen on purpose with SECRET_STORE=local), local object storage, a
 * GitOps repository nobody deploys from, the built-in reconciler that reports Healthy without
 * deploying anything, the offline model in place of a model provider, generated widget secrets, per-replica rate limits when several gateway
 * replicas are declared, and org webhooks allowed to private addresses. Each rule names the services it concerns, so a Deployment that runs one
 * service is checked for what that service uses; every missing piece is listed by name at once.
 */
import type { ServiceName } from './sections/core';
import type { Config } from './index';

type Add = (name: string, message: string) => void;

interface Rule {
  services: readonly ServiceName[];
  check(c: Config, add: Add): void;
}

const RULES: Rule[] = [
  {
    services: ['control-plane', 'provisioner'],
    check: (c, add) => { if (!c.databaseUrl) add('DATABASE_URL', 'is required in production (the embedded database is for development)'); },
  },
  {
    services: ['control-plane', 'gateway', 'connector-gateway', 'runner', 'provisioner'],
    check: (c, add) => { if (!c.oidc.issuer) add('OIDC_ISSUER', 'is required in production (the development issuer is refused)'); },
  },
  {
    services: ['control-plane', 'connector-gateway'],
    check: (c, add) => {
      if (c.vault.store === 'local' && !c.vault.explicit) add('VAULT_ADDR', 'is required in production (connector credentials), or choose the local store on purpose with SECRET_STORE=local');
    },
  },
  {
    services: ['control-plane'],
    check: (c, add) => { if (c.storage.kind === 'local') add('S3_BUCKET', 'is required in production (flow artifacts and uploads need object storage, not the pod\'s disk)'); },
  },
  {
    services: ['control-plane'],
    check: (c, add) => {
      if (!c.gitops.remote) add('GITOPS_REMOTE_URL', 'is required in production (desired state must reach the repository Argo CD deploys from)');
      // Without a remote the reconciler defaults to builtin: setting the remote fixes both.
      else if (c.gitops.reconciler !== 'argocd') add('GITOPS_RECONCILER', 'must be argocd in production (the built-in reconciler reports Healthy without deploying anything)');
      if (!c.argocdWebhookToken) add('ARGOCD_WEBHOOK_TOKEN', 'is required in production (Argo CD\'s notifications are how instances become active)');
    },
  },
  {
    services: ['gateway', 'control-plane'],
    check: (c, add) => {
      if (c.gateway.replicas > 1 && !c.redisUrl) add('REDIS_URL', `is required in production with GATEWAY_REPLICAS=${c.gateway.replicas} (rate limits and lifecycle signals must be shared by every gateway replica)`);
    },
  },
  {
    services: ['gateway'],
    check: (c, add) => {
      if (!c.gateway.widgetSessionSecret) add('WIDGET_SESSION_SECRET', 'is required in production (every gateway replica must sign widget sessions with the same secret)');
      if (!c.gateway.clientSecret) add('GATEWAY_CLIENT_SECRET', 'is required in production (the gateway\'s Keycloak client)');
    },
  },
  {
    services: ['connector-gateway'],
    check: (c, add) => { if (!c.connectorGateway.clientSecret) add('CONNECTOR_GATEWAY_CLIENT_SECRET', 'is required in production (the connector gateway\'s Keycloak client)'); },
  },
  {
    services: ['runner'],
    check: (c, add) => {
      if (!c.langflow && !c.llm) add('LLM_BASE_URL', 'is required in production (or LLM_PROVIDERS, or LANGFLOW_URL): the offline deterministic model is a development stand-in');
    },
  },
  {
    services: ['runner'],
    check: (c, add) => { if (!c.runner.clientSecret) add('RUNNER_CLIENT_SECRET', 'is required in production (the runner\'s Keycloak client)'); },
  },
  {
    services: ['control-plane'],
    check: (c, add) => {
      // An org's webhook URL is chosen by the org: to a private or loopback address it would reach
      // into the cluster (the metadata service, the database, other services) from the control plane.
      if (c.notifications.allowPrivateTargets) add('NOTIFY_ALLOW_PRIVATE_TARGETS', 'must be off in production (org webhooks to private, loopback and link-local addresses would reach inside the cluster)');
    },
  },
  {
    services: ['control-plane'],
    check: (c, add) => { if (c.scheduler.enabled && !c.scheduler.clientSecret) add('SCHEDULER_CLIENT_SECRET', 'is required in production while SCHEDULER_ENABLED is on (the scheduler\'s Keycloak client)'); },
  },
  {
    services: ['provisioner'],
    check: (c, add) => {
      if (!c.provisioner.clientSecret) add('PROVISIONER_CLIENT_SECRET', 'is required in production (the provisioner\'s Keycloak client)');
      if (c.saleor.apiUrls.length === 0) add('SALEOR_API_URLS', 'is required in production (which Saleor instances may send paid orders)');
    },
  },
];

/** Problems of a production configuration for the services that will run (each variable once). */
export function productionProblems(c: Config, services: readonly ServiceName[]): string[] {
  const seen = new Map<string, string>();
  for (const rule of RULES) {
    if (!rule.services.some((s) => services.includes(s))) continue;
    rule.check(c, (name, message) => { if (!seen.has(name)) seen.set(name, `  ${name}: ${message}`); });
  }
  return [...seen.values()];
}
