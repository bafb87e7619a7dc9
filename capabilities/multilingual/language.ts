/**
 * The reply language of a run. With `autoDetect`, the input's language is detected with `franc-min`
 * (trigram models of 82 languages, ISO 639-3, mapped to ISO 639-1 with `iso-639-3`):
 * - detected and among `supportedLanguages` (compared by primary subtag: `en-GB` serves `en`) → that
 *   language (the supported tag as written);
 * - detected but not supported → `fallbackLanguage`;
 * - too short or ambiguous to tell (franc answers `und` under 10 characters) → `defaultLanguage`.
 * Without `autoDetect` the reply is always in `defaultLanguage`.
 */
import { franc } from 'franc-min';
import { iso6393To1 } from 'iso-639-3';
import type { MultilingualConfig } from '../../generated/capabilities/multilingual';

export interface LanguageChoice {
  language: string;
  reason: 'detected' | 'fallback' | 'default';
  /** The detected language (ISO 639-1, or 639-3 when it has no two-letter code). */
  detected?: string;
}

const primary = (tag: string) => tag.toLowerCase().split('-')[0]!;

export function detectLanguage(text: string): string | undefined {
  const code = franc(text, { minLength: 10 });
  if (code === 'und') return undefined;
  return (iso6393To1 as Record<string, string>)[code] ?? code;
}

export function replyLanguage(config: MultilingualConfig, text: string): LanguageChoice {
  const def = config.defaultLanguage ?? 'en';
  if (!config.autoDetect) return { language: def, reason: 'default' };
  const detected = detectLanguage(text);
  if (!detected) return { language: def, reason: 'default' };
  const supported = (config.supportedLanguages ?? [def]).find((s) => primary(s) === detected);
  return supported ? { language: supported, reason: 'detected', detected } : { language: config.fallbackLanguage ?? def, reason: 'fallback', detected };
}

/** The English name of a language tag ("German"), or the tag itself when Intl does not know it. */
export function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The instructions the model gets for the chosen language. */
export function languageInstructions(config: MultilingualConfig, choice: LanguageChoice): string[] {
  const name = languageName(choice.language);
  const out = [`Reply in ${name} (${choice.language}), whatever language the context or earlier turns are in.`];
  if (config.translateKnowledge) out.push(`Translate any passages you use from the knowledge base or tools into ${name}.`);
  return out;
}
