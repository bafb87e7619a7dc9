/**
 * The catalog tables as objection models: an offering → its versions, its published and latest
 * version, its lifecycle transitions; a version → its offering.
 *
 * A model's properties are its columns (the row interfaces of ./rows.ts, merged into the class).
 * jsonb columns are listed in `jsonAttributes`, so writes pass plain values and objection
 * serialises them; text[] columns pass JS arrays straight to the driver. `offerings.search` (the
 * tsvector) is never read: select `OFFERING_COLUMNS` or use the `listing` modifier.
 */
import { Model, type Modifiers, type RelationMappings } from 'objection';
import { OFFERING_COLUMNS, type OfferingRow, type VersionRow } from './rows';

export interface OfferingModel extends OfferingRow {}
export class OfferingModel extends Model {
  static override tableName = 'offerings';
  static override jsonAttributes = ['plans'];

  declare versions?: OfferingVersionModel[];
  declare publishedVersion?: OfferingVersionModel | null;
  declare latestVersion?: OfferingVersionModel | null;
  declare transitions?: OfferingTransitionModel[];

  static override get modifiers(): Modifiers {
    return { listing: (q) => q.select(OFFERING_COLUMNS.map((c) => `${OfferingModel.tableName}.${c}`)) };
  }

  static override get relationMappings(): RelationMappings {
    return {
      versions: { relation: Model.HasManyRelation, modelClass: OfferingVersionModel, join: { from: 'offerings.id', to: 'offering_versions.offering_id' } },
      publishedVersion: {
        relation: Model.BelongsToOneRelation,
        modelClass: OfferingVersionModel,
        join: { from: 'offerings.published_version_id', to: 'offering_versions.id' },
      },
      latestVersion: {
        relation: Model.BelongsToOneRelation,
        modelClass: OfferingVersionModel,
        join: { from: 'offerings.latest_version_id', to: 'offering_versions.id' },
      },
      transitions: {
        relation: Model.HasManyRelation,
        modelClass: OfferingTransitionModel,
        join: { from: 'offerings.id', to: 'offering_transitions.offering_id' },
      },
    };
  }
}

export interface OfferingVersionModel extends VersionRow {}
export class OfferingVersionModel extends Model {
  static override tableName = 'offering_versions';
  static override jsonAttributes = ['capabilities', 'plans', 'certification_errors'];

  declare offering?: OfferingModel;

  static override get relationMappings(): RelationMappings {
    return {
      offering: {
        relation: Model.BelongsToOneRelation,
        modelClass: OfferingModel,
        // Never the tsvector: a version's offering comes with its listing columns only.
        filter: (q) => q.modify('listing'),
        join: { from: 'offering_versions.offering_id', to: 'offerings.id' },
      },
    };
  }
}

export class OfferingTransitionModel extends Model {
  static override tableName = 'offering_transitions';
  declare id: number;
  declare offering_id: string;
  declare from_state: string;
  declare to_state: string;
  declare version_id: string | null;
  declare reason: string | null;
  declare actor: string | null;
  declare at: Date;
}
