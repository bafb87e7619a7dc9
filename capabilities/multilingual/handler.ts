import { multilingualMeta as meta, type MultilingualHandler } from '../../generated/capabilities/multilingual';
import { canonicalLanguage, repeatedIndexes } from '../../src/capabilities/checks';
import { withDefaults } from '../../src/capabilities/config-defaults';
import type { ConfigIssue } from '../../src/capabilities/handler-types';
import { pointer } from '../../src/capabilities/issues';
import { configMap } from '../../src/capabilities/manifest';
import { meterBy } from '../../src/capabilities/metering-rule';
import { languageInstructions, replyLanguage } from './language';

/**
 * Multilingual. Semantic rules: every tag is a valid BCP 47 language tag (Intl), supported languages
 * are unique after canonicalisation (`en-us` and `en-US` are one language), and the default and
 * fallback languages are among the supported ones.
 * Desired state: a ConfigMap with canonical tags. Not metered (no dimensions).
 * Run time: beforeRun picks the reply language (language.ts: detected, fallback or default) and
 * tells the model with an instruction appended to its system message.
 */
export const multilingual: MultilingualHandler = {
  validate(config) {
    const issues: ConfigIssue[] = [];
    const supported = config.supportedLanguages ?? [];
    const canonical = supported.map((tag, i) => {
      const c = canonicalLanguage(tag);
      if (!c) issues.push({ path: pointer('supportedLanguages', i), message: `is not a valid language tag: ${tag}` });
      return c ?? tag;
    });
    for (const i of repeatedIndexes(canonical, (t) => t)) issues.push({ path: pointer('supportedLanguages', i), message: `repeats ${canonical[i]}` });
    for (const field of ['defaultLanguage', 'fallbackLanguage'] as const) {
      const tag = config[field];
      if (tag === undefined) continue;
      const c = canonicalLanguage(tag);
      if (!c) issues.push({ path: pointer(field), message: `is not a valid language tag: ${tag}` });
      else if (!canonical.includes(c)) issues.push({ path: pointer(field), message: `${tag} is not in supportedLanguages (${supported.join(', ')})` });
    }
    return issues;
  },
  desiredState(ctx) {
    const c = withDefaults(meta.id, ctx.config);
    const canon = (tag: string) => canonicalLanguage(tag) ?? tag;
    return [
      configMap(ctx, meta.id, {
        defaultLanguage: canon(c.defaultLanguage!),
        supportedLanguages: c.supportedLanguages!.map(canon),
        autoDetect: c.autoDetect,
        fallbackLanguage: canon(c.fallbackLanguage!),
        translateKnowledge: c.translateKnowledge,
      }),
    ];
  },
  meter: meterBy(meta.dimensions),
  beforeRun(input, ctx) {
    const c = withDefaults(meta.id, ctx.config);
    return { instructions: languageInstructions(c, replyLanguage(c, input.text)) };
  },
};
