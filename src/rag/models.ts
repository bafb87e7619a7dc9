/**
 * Knowledge bases as objection models: a knowledge base → its documents, uploads and ingestion
 * jobs; a document / upload / ingestion → its knowledge base. Properties are the columns (the
 * row interfaces of ./service.ts merged into the classes); `metadata` is jsonb, serialised by
 * objection on write. Every query still filters by `org_id` and `project_id` itself.
 * `kb_chunks` (the embedded store's full-text index) stays on knex: its search is a
 * tsvector ranking, see ./embedded-backend.ts.
 */
import { Model, type RelationMappings } from 'objection';
import type { IngestionRow, KbRow, UploadRow } from './service';

const belongsToKb = (table: string): RelationMappings => ({
  knowledgeBase: { relation: Model.BelongsToOneRelation, modelClass: KnowledgeBaseModel, join: { from: `${table}.kb_id`, to: 'knowledge_bases.id' } },
});

export interface KnowledgeBaseModel extends KbRow {}
export class KnowledgeBaseModel extends Model {
  static override tableName = 'knowledge_bases';

  declare documents?: KbDocumentModel[];
  declare uploads?: KbUploadModel[];
  declare ingestions?: IngestionModel[];

  static override get relationMappings(): RelationMappings {
    return {
      documents: { relation: Model.HasManyRelation, modelClass: KbDocumentModel, join: { from: 'knowledge_bases.id', to: 'kb_documents.kb_id' } },
      uploads: { relation: Model.HasManyRelation, modelClass: KbUploadModel, join: { from: 'knowledge_bases.id', to: 'kb_uploads.kb_id' } },
      ingestions: { relation: Model.HasManyRelation, modelClass: IngestionModel, join: { from: 'knowledge_bases.id', to: 'ingestions.kb_id' } },
    };
  }
}

export class KbDocumentModel extends Model {
  static override tableName = 'kb_documents';
  static override jsonAttributes = ['metadata'];
  declare id: string;
  declare org_id: string;
  declare project_id: string;
  declare kb_id: string;
  declare upload_id: string;
  declare title: string | null;
  declare file_name: string;
  declare content_type: string;
  declare size_bytes: number;
  declare backend_document_id: string | null;
  declare pages: number | null;
  declare chunk_count: number | null;
  declare metadata: Record<string, string>;
  declare created_at: Date;

  declare knowledgeBase?: KnowledgeBaseModel;
  static override get relationMappings(): RelationMappings {
    return belongsToKb('kb_documents');
  }
}

export interface KbUploadModel extends UploadRow {
  created_at: Date;
  expires_at: Date;
}
export class KbUploadModel extends Model {
  static override tableName = 'kb_uploads';
  declare knowledgeBase?: KnowledgeBaseModel;
  static override get relationMappings(): RelationMappings {
    return belongsToKb('kb_uploads');
  }
}

export interface IngestionModel extends IngestionRow {}
export class IngestionModel extends Model {
  static override tableName = 'ingestions';
  static override jsonAttributes = ['metadata'];
  declare knowledgeBase?: KnowledgeBaseModel;
  static override get relationMappings(): RelationMappings {
    return belongsToKb('ingestions');
  }
}
