import { defineSection } from '../define';

export interface ServiceClient {
  clientId: string;
  clientSecret?: string;
  tokenUrl?: string;
}

/**
 * The Keycloak clients of the internal services that call others with their own token
 * (client-credentials grant). The gateway's and the provisioner's live in their own sections.
 */
export const serviceClients = defineSection({
  id: 'service-clients',
  title: 'Service clients (Connector Gateway, Runner)',
  vars: {
    CONNECTOR_GATEWAY_CLIENT_ID: { doc: 'The connector gateway\'s Keycloak client, for entitlement reads from the control plane.', default: 'connector-gateway' },
    CONNECTOR_GATEWAY_CLIENT_SECRET: { doc: 'Its client secret.', secret: true, required: 'with OIDC_ISSUER (connector-gateway)' },
    CONNECTOR_GATEWAY_TOKEN_URL: { doc: 'Token endpoint override.', default: '<OIDC_ISSUER>/protocol/openid-connect/token' },
    RUNNER_CLIENT_ID: { doc: 'The runner\'s Keycloak client, for knowledge-base queries to the control plane and tool calls through the connector gateway.', default: 'runner' },
    RUNNER_CLIENT_SECRET: { doc: 'Its client secret (without it under OIDC_ISSUER the built-in retriever answers RAG_UNAVAILABLE).', secret: true, required: 'production (runner)' },
  },
  read: (r) => ({
    /** The Connector Gateway's own Keycloak client. */
    connectorGateway: {
      clientId: r.str('CONNECTOR_GATEWAY_CLIENT_ID', 'connector-gateway'),
      clientSecret: r.str('CONNECTOR_GATEWAY_CLIENT_SECRET'),
      tokenUrl: r.url('CONNECTOR_GATEWAY_TOKEN_URL'),
    } satisfies ServiceClient,
    /** The Runner's own Keycloak client. */
    runner: {
      clientId: r.str('RUNNER_CLIENT_ID', 'runner'),
      clientSecret: r.str('RUNNER_CLIENT_SECRET'),
    } satisfies ServiceClient,
  }),
});
