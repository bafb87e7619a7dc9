/**
 * Connector bindings as an objection model: a binding → its project and (when instance-scoped)
 * its instance. Properties are the columns (`BindingRow` merged into the class); `settings` is
 * jsonb, serialised by objection on write.
 */
import { Model, type RelationMappings } from 'objection';
import type { BindingRow } from './bindings';
import { InstanceModel } from '../instances/models';
import { ProjectModel } from '../tenancy/models';

export interface ConnectorBindingModel extends BindingRow {
  created_by: string | null;
  revoked_reason: string | null;
}
export class ConnectorBindingModel extends Model {
  static override tableName = 'connector_bindings';
  static override jsonAttributes = ['settings'];

  declare project?: ProjectModel;
  declare instance?: InstanceModel | null;

  static override get relationMappings(): RelationMappings {
    return {
      project: { relation: Model.BelongsToOneRelation, modelClass: ProjectModel, join: { from: 'connector_bindings.project_id', to: 'projects.id' } },
      instance: { relation: Model.BelongsToOneRelation, modelClass: InstanceModel, join: { from: 'connector_bindings.instance_id', to: 'instances.id' } },
    };
  }
}
