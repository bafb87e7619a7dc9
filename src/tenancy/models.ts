/**
 * The tenancy tables as objection models: users, orgs → projects, org → members / teams,
 * team → projects / members (through team_projects, team_members), project → API keys.
 *
 * Properties are the column names (snake_case), so a model is also the module's row type.
 * Models are never bound to a global knex: every query names its knex or transaction
 * (`OrgModel.query(trx)`), which keeps each statement inside the caller's unit of work (and on
 * PGlite's single connection, see src/db/create-db.ts).
 */
import { Model, type RelationMappings } from 'objection';
import { WalletModel } from '../money/models';
import type { OrgRole } from './roles';

export class UserModel extends Model {
  static override tableName = 'users';
  declare id: string;
  declare email: string | null;
  declare name: string | null;
  declare email_verified: boolean;
  declare pending: boolean;
  declare created_at: Date;
  declare updated_at: Date;

  declare memberships?: MembershipModel[];
  declare teams?: TeamModel[];

  static override get relationMappings(): RelationMappings {
    return {
      memberships: { relation: Model.HasManyRelation, modelClass: MembershipModel, join: { from: 'users.id', to: 'memberships.user_id' } },
      teams: {
        relation: Model.ManyToManyRelation,
        modelClass: TeamModel,
        join: { from: 'users.id', through: { from: 'team_members.user_id', to: 'team_members.team_id' }, to: 'teams.id' },
      },
    };
  }
}

export class OrgModel extends Model {
  static override tableName = 'orgs';
  declare id: string;
  declare name: string;
  declare personal: boolean;
  declare owner_user_id: string | null;
  declare created_at: Date;

  declare projects?: ProjectModel[];
  declare members?: MembershipModel[];
  declare teams?: TeamModel[];
  declare wallets?: WalletModel[];

  static override get relationMappings(): RelationMappings {
    return {
      projects: { relation: Model.HasManyRelation, modelClass: ProjectModel, join: { from: 'orgs.id', to: 'projects.org_id' } },
      members: { relation: Model.HasManyRelation, modelClass: MembershipModel, join: { from: 'orgs.id', to: 'memberships.org_id' } },
      teams: { relation: Model.HasManyRelation, modelClass: TeamModel, join: { from: 'orgs.id', to: 'teams.org_id' } },
      wallets: { relation: Model.HasManyRelation, modelClass: WalletModel, join: { from: 'orgs.id', to: 'wallets.org_id' } },
    };
  }
}

export class ProjectModel extends Model {
  static override tableName = 'projects';
  declare id: string;
  declare org_id: string;
  declare name: string;
  declare description: string | null;
  declare is_default: boolean;
  declare created_at: Date;

  declare org?: OrgModel;
  declare apiKeys?: ApiKeyModel[];

  static override get relationMappings(): RelationMappings {
    return {
      org: { relation: Model.BelongsToOneRelation, modelClass: OrgModel, join: { from: 'projects.org_id', to: 'orgs.id' } },
      apiKeys: { relation: Model.HasManyRelation, modelClass: ApiKeyModel, join: { from: 'projects.id', to: 'api_keys.project_id' } },
    };
  }
}

export class MembershipModel extends Model {
  static override tableName = 'memberships';
  static override idColumn = ['org_id', 'user_id'];
  declare org_id: string;
  declare user_id: string;
  declare role: OrgRole;
  declare created_at: Date;
  declare updated_at: Date;

  declare org?: OrgModel;
  declare user?: UserModel;

  static override get relationMappings(): RelationMappings {
    return {
      org: { relation: Model.BelongsToOneRelation, modelClass: OrgModel, join: { from: 'memberships.org_id', to: 'orgs.id' } },
      user: { relation: Model.BelongsToOneRelation, modelClass: UserModel, join: { from: 'memberships.user_id', to: 'users.id' } },
    };
  }
}

export class TeamModel extends Model {
  static override tableName = 'teams';
  declare id: string;
  declare org_id: string;
  declare name: string;
  declare description: string | null;
  declare created_at: Date;

  declare org?: OrgModel;
  declare projects?: ProjectModel[];
  declare members?: UserModel[];

  static override get relationMappings(): RelationMappings {
    return {
      org: { relation: Model.BelongsToOneRelation, modelClass: OrgModel, join: { from: 'teams.org_id', to: 'orgs.id' } },
      projects: {
        relation: Model.ManyToManyRelation,
        modelClass: ProjectModel,
        join: { from: 'teams.id', through: { from: 'team_projects.team_id', to: 'team_projects.project_id' }, to: 'projects.id' },
      },
      members: {
        relation: Model.ManyToManyRelation,
        modelClass: UserModel,
        join: { from: 'teams.id', through: { from: 'team_members.team_id', to: 'team_members.user_id' }, to: 'users.id' },
      },
    };
  }
}

export class ApiKeyModel extends Model {
  static override tableName = 'api_keys';
  declare id: string;
  declare project_id: string;
  declare org_id: string;
  declare name: string;
  declare prefix: string;
  declare hash: string;
  declare instance_ids: string[];
  declare created_by: string | null;
  declare created_at: Date;
  declare expires_at: Date | null;
  declare revoked_at: Date | null;
  declare last_used_at: Date | null;

  declare project?: ProjectModel;

  static override get relationMappings(): RelationMappings {
    return {
      project: { relation: Model.BelongsToOneRelation, modelClass: ProjectModel, join: { from: 'api_keys.project_id', to: 'projects.id' } },
    };
  }
}
