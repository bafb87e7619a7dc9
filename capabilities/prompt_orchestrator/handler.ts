import type { PromptOrchestratorHandler } from '../../generated/capabilities/prompt-orchestrator';

/**
 * Prompt orchestrator: System prompt, model choice and generation settings, with named variables filled in per run.
 * Fill in validate, desiredState and meter; the types come from the registry entry.
 */
export const promptOrchestrator: PromptOrchestratorHandler = {
  validate(config) {
    throw new Error('prompt_orchestrator: validate not implemented');
  },
  desiredState(ctx) {
    throw new Error('prompt_orchestrator: desiredState not implemented');
  },
  meter(usage) {
    throw new Error('prompt_orchestrator: meter not implemented');
  },
};
