import { promptOrchestratorMeta as meta, type PromptOrchestratorHandler } from '../../generated/capabilities/prompt-orchestrator';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { configMap } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';

/** Models the built-in runtime knows; any other `builtin:` model is a typo. */
export const BUILTIN_MODELS = ['builtin:deterministic'] as const;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** `{name}` with an identifier inside; other braces (JSON examples, `{ }`) are plain text. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Prompt orchestrator. Semantic rules: variable names are identifiers; every `{name}` placeholder
 * of the system prompt has a declared variable (its value is the default a run may override, as the
 * Gateway only accepts run variables the prompt declares); `builtin:` models exist.
 * Desired state: a ConfigMap with the generation settings.
 */
export const promptOrchestrator: PromptOrchestratorHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const variables = config.variables ?? {};
    for (const name of Object.keys(variables)) {
      if (!VARIABLE_NAME.test(name)) issues.push({ path: pointer('variables', name), message: 'must be an identifier (letters, digits, _; not starting with a digit)' });
    }
    const missing = new Set<string>();
    for (const [, name] of (config.systemPrompt ?? '').matchAll(PLACEHOLDER)) {
      if (!Object.prototype.hasOwnProperty.call(variables, name!)) missing.add(name!);
    }
    for (const name of missing) {
      issues.push({ path: pointer('systemPrompt'), message: `uses {${name}} but variables declares no ${name}` });
    }
    if (config.model?.startsWith('builtin:') && !(BUILTIN_MODELS as readonly string[]).includes(config.model)) {
      issues.push({ path: pointer('model'), message: `is not a built-in model (${BUILTIN_MODELS.join(', ')})` });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return [
      configMap(ctx, meta.id, {
        systemPrompt: c.systemPrompt,
        model: c.model,
        temperature: c.temperature,
        topP: c.topP,
        maxTokens: c.maxTokens,
        historyTurns: c.historyTurns,
        variables: c.variables,
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
};
