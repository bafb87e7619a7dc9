import type { Connector } from '../../generated/control-plane/types';
import { AppError } from '../platform/errors';

/**
 * How a connector type puts its credential on an outgoing request (the Connector Gateway reads
 * this; the credential field names come from `credentialFields`).
 */
export type CredentialInjection =
  | { kind: 'bearer'; field: string }
  | { kind: 'header'; header: string; field: string }
  | { kind: 'basic'; userField: string; passwordField: string };

export interface ConnectorType extends Connector {
  injection: CredentialInjection;
}

/**
 * The connector types a binding can be made for. `generic_http` reaches any host the instance's
 * policy allows; the others are real SaaS APIs whose credential shape is fixed (a helpdesk, a CRM,
 * a chat tool). Their tools run over the generic HTTP executor with the credential injected as
 * `injection` says.
 */
export const CONNECTOR_TYPES: readonly ConnectorType[] = [
  {
    id: 'generic_http',
    name: 'Generic HTTP',
    description: "Call any HTTPS API allowed by the instance's connector policy.",
    authType: 'bearer',
    credentialFields: [{ name: 'token', label: 'Bearer token', required: true }],
    settingsFields: [{ name: 'baseUrl', label: 'Base URL', required: false }],
    tools: [
      { name: 'http.get', kind: 'read', description: 'GET a URL on an allowed host' },
      { name: 'http.post', kind: 'write', description: 'POST JSON to a URL on an allowed host' },
    ],
    injection: { kind: 'bearer', field: 'token' },
  },
  {
    id: 'mcp',
    name: 'MCP server',
    description: "The access token of a Model Context Protocol server named in an instance's mcp_tools servers (sent as Authorization: Bearer).",
    authType: 'bearer',
    credentialFields: [{ name: 'token', label: 'Access token', required: true }],
    settingsFields: [],
    // The server's tools come from its tools/list; the instance's mcp_tools config allows them.
    tools: [],
    injection: { kind: 'bearer', field: 'token' },
  },
  {
    id: 'zendesk',
    name: 'Zendesk',
    description: 'Read and create helpdesk tickets (escalation to a human agent).',
    authType: 'basic',
    credentialFields: [
      { name: 'email', label: 'Agent email (with /token suffix)', required: true },
      { name: 'apiToken', label: 'API token', required: true },
    ],
    settingsFields: [
      { name: 'subdomain', label: 'Zendesk subdomain', required: true },
      { name: 'apiBaseUrl', label: 'API base URL (default https://<subdomain>.zendesk.com)', required: false },
    ],
    tools: [
      { name: 'zendesk.get_ticket', kind: 'read', description: 'Read a ticket' },
      { name: 'zendesk.create_ticket', kind: 'write', description: 'Create a ticket' },
    ],
    injection: { kind: 'basic', userField: 'email', passwordField: 'apiToken' },
  },
  {
    id: 'hubspot',
    name: 'HubSpot CRM',
    description: 'Look up and update contacts and deals in HubSpot.',
    authType: 'bearer',
    credentialFields: [{ name: 'privateAppToken', label: 'Private app access token', required: true }],
    settingsFields: [],
    tools: [
      { name: 'crm.lookup_contact', kind: 'read', description: 'Find a contact by email' },
      { name: 'crm.update_deal', kind: 'write', description: 'Update a deal stage' },
    ],
    injection: { kind: 'bearer', field: 'privateAppToken' },
  },
  {
    id: 'slack',
    name: 'Slack',
    description: 'Post messages and read channels in a Slack workspace.',
    authType: 'oauth2',
    credentialFields: [{ name: 'botToken', label: 'Bot token', required: true }],
    settingsFields: [{ name: 'defaultChannel', label: 'Default channel', required: false }],
    tools: [
      { name: 'slack.post_message', kind: 'write', description: 'Post a message to a channel' },
      { name: 'slack.list_channels', kind: 'read', description: 'List channels' },
    ],
    injection: { kind: 'bearer', field: 'botToken' },
  },
];

export function connectorType(id: string): ConnectorType | undefined {
  return CONNECTOR_TYPES.find((c) => c.id === id);
}

/** The public view (without the injection rule). */
export function connectorView(c: ConnectorType): Connector {
  const { injection: _injection, ...view } = c;
  return view;
}

/**
 * Checks a credential and settings against the type's fields: required fields present and
 * non-empty, no unknown fields. Messages name fields, never values.
 */
export function checkCredential(type: ConnectorType, credential: Record<string, string>, settings: Record<string, string>): void {
  const problems: { path: string; message: string }[] = [];
  const check = (what: 'credential' | 'settings', fields: Connector['credentialFields'], given: Record<string, string>) => {
    for (const f of fields) if (f.required && !(typeof given[f.name] === 'string' && given[f.name]!.trim() !== '')) problems.push({ path: `/${what}/${f.name}`, message: 'is required' });
    for (const k of Object.keys(given)) if (!fields.some((f) => f.name === k)) problems.push({ path: `/${what}/${k}`, message: `is not a field of ${type.id}` });
  };
  check('credential', type.credentialFields, credential);
  check('settings', type.settingsFields, settings);
  if (problems.length) throw new AppError('UNPROCESSABLE', `The credential or settings do not match connector ${type.id}`, { connectorId: type.id, issues: problems });
}
