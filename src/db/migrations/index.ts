/**
 * Every migration, in order. knex's directory loader does not cope with tsx/ESM, so the list
 * is explicit: add a new migration file here (timestamped name, `up`/`down` exports).
 */
import type { Knex } from 'knex';
import * as tenancyCore from './20261123000100_tenancy_core';
import * as money from './20261123000200_money';
import * as idempotencyKeys from './20261123000300_idempotency_keys';
import * as catalog from './20261123000400_catalog';
import * as membershipsTeamsApiKeys from './20261123000400_memberships_teams_api_keys';
import * as provisionerDeadLetters from './20261123000600_provisioner_dead_letters';
import * as instances from './20261123000700_instances';
import * as pendingUsers from './20261123000800_pending_users';
import * as connectorBindings from './20261123000900_connector_bindings';
import * as auditEvents from './20261123001000_audit_events';
import * as knowledgeBases from './20261123001100_knowledge_bases';
import * as runs from './20261123001200_runs';
import * as provisionerInbox from './20261123001250_provisioner_inbox';
import * as langflowFlows from './20261124000100_langflow_flows';
import * as planPeriods from './20261203000100_plan_periods';
import * as triggers from './20261203000200_triggers';
import * as instanceCreditSuspension from './20261203000300_instance_credit_suspension';
import * as notifications from './20261203000400_notifications';
import * as triggerDeliveryRuns from './20261203000500_trigger_delivery_runs';
import * as sessionHandovers from './20261203000600_session_handovers';
import * as creditQuotas from './20261203000700_credit_quotas';
import * as usageJournal from './20261204000100_usage_journal';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '20261123000100_tenancy_core', ...tenancyCore },
  { name: '20261123000200_money', ...money },
  { name: '20261123000300_idempotency_keys', ...idempotencyKeys },
  { name: '20261123000400_catalog', ...catalog },
  { name: '20261123000400_memberships_teams_api_keys', ...membershipsTeamsApiKeys },
  { name: '20261123000600_provisioner_dead_letters', ...provisionerDeadLetters },
  { name: '20261123000700_instances', ...instances },
  { name: '20261123000800_pending_users', ...pendingUsers },
  { name: '20261123000900_connector_bindings', ...connectorBindings },
  { name: '20261123001000_audit_events', ...auditEvents },
  { name: '20261123001100_knowledge_bases', ...knowledgeBases },
  { name: '20261123001200_runs', ...runs },
  { name: '20261123001250_provisioner_inbox', ...provisionerInbox },
  { name: '20261124000100_langflow_flows', ...langflowFlows },
  { name: '20261203000100_plan_periods', ...planPeriods },
  { name: '20261203000200_triggers', ...triggers },
  { name: '20261203000300_instance_credit_suspension', ...instanceCreditSuspension },
  { name: '20261203000400_notifications', ...notifications },
  { name: '20261203000500_trigger_delivery_runs', ...triggerDeliveryRuns },
  { name: '20261203000600_session_handovers', ...sessionHandovers },
  { name: '20261203000700_credit_quotas', ...creditQuotas },
  { name: '20261204000100_usage_journal', ...usageJournal },
];
