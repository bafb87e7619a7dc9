import type { RagKnowledgebaseHandler } from '../../generated/capabilities/rag-knowledgebase';

/**
 * Knowledge base (RAG): Answers from your own documents, retrieved from tenant-scoped knowledge bases with source citations.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const ragKnowledgebase: RagKnowledgebaseHandler = {
  validate(config) {
    throw new Error('rag_knowledgebase: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('rag_knowledgebase: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('rag_knowledgebase: meter not implemented');
  },
};
