/**
 * Instances as objection models: an instance → its org, project, offering, offering version,
 * wallet, its event history and the connector bindings scoped to it; an event → its instance.
 *
 * Properties are the columns (the row interfaces of ./rows.ts merged into the classes). The
 * jsonb config columns are `jsonAttributes`: writes pass plain objects. `ownBindings` are the
 * bindings made for this instance only; the ones it may use also include its project's
 * project-wide bindings (src/connectors/bindings.ts `bindingsOfInstance`).
 */
import { Model, type RelationMappings } from 'objection';
import { OfferingModel, OfferingVersionModel } from '../catalog/models';
import { ConnectorBindingModel } from '../connectors/models';
import { WalletModel } from '../money/models';
import { OrgModel, ProjectModel } from '../tenancy/models';
import type { InstanceEventRow, InstanceRow } from './rows';

export interface InstanceModel extends InstanceRow {
  /** Paused because its wallet ran dry (set and cleared by src/money/depletion.ts). */
  suspended_for_credits: boolean;
}
export class InstanceModel extends Model {
  static override tableName = 'instances';
  static override jsonAttributes = ['config_overrides', 'effective_config'];

  declare org?: OrgModel;
  declare project?: ProjectModel;
  declare offering?: OfferingModel;
  declare version?: OfferingVersionModel;
  declare wallet?: WalletModel;
  declare events?: InstanceEventModel[];
  declare ownBindings?: ConnectorBindingModel[];

  static override get relationMappings(): RelationMappings {
    return {
      org: { relation: Model.BelongsToOneRelation, modelClass: OrgModel, join: { from: 'instances.org_id', to: 'orgs.id' } },
      project: { relation: Model.BelongsToOneRelation, modelClass: ProjectModel, join: { from: 'instances.project_id', to: 'projects.id' } },
      offering: {
        relation: Model.BelongsToOneRelation,
        modelClass: OfferingModel,
        filter: (q) => q.modify('listing'),
        join: { from: 'instances.offering_id', to: 'offerings.id' },
      },
      version: { relation: Model.BelongsToOneRelation, modelClass: OfferingVersionModel, join: { from: 'instances.version_id', to: 'offering_versions.id' } },
      wallet: { relation: Model.BelongsToOneRelation, modelClass: WalletModel, join: { from: 'instances.wallet_id', to: 'wallets.id' } },
      events: { relation: Model.HasManyRelation, modelClass: InstanceEventModel, join: { from: 'instances.id', to: 'instance_events.instance_id' } },
      ownBindings: {
        relation: Model.HasManyRelation,
        modelClass: ConnectorBindingModel,
        join: { from: 'instances.id', to: 'connector_bindings.instance_id' },
      },
    };
  }
}

export interface InstanceEventModel extends InstanceEventRow {}
export class InstanceEventModel extends Model {
  static override tableName = 'instance_events';

  declare instance?: InstanceModel;

  static override get relationMappings(): RelationMappings {
    return {
      instance: { relation: Model.BelongsToOneRelation, modelClass: InstanceModel, join: { from: 'instance_events.instance_id', to: 'instances.id' } },
    };
  }
}
