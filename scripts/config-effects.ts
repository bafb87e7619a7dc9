/**
 * `npm run config:effects` (CI): no inert config. Every property of every capability's
 * `config_schema` (nested object properties too) and every plan field an instance inherits
 * (specs/control-plane.openapi.yaml: Plan.includedCredits, PlanLimits.*) says what it does with
 * `x-effect`, which is one of:
 *
 *   test:<file>[,<file>…]   proven by these tests to change a run, an answer, a limit or a bill:
 *                           each file exists, is a *.test.ts, and names the property (as
 *                           written, or in words: `includedCredits` or "included credits");
 *   desired-state:<Kind>    shapes desired state only: rendered into that manifest kind (one of
 *                           the capability's provisioning.kinds) for whatever reads it there;
 *   listing:<file>          (plan fields only) shown to buyers by that file and applied nowhere
 *                           else — listed as a warning on every run so it is not forgotten.
 *
 * Lists every property with neither (or with a marking that does not hold) and exits 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

type Json = any;

export interface ConfigEffectSources {
  registry: Json;
  controlPlane: Json;
  readFile(path: string): string | undefined;
}

const MARK = /^(test:([^\s,]+\.test\.ts(,[^\s,]+\.test\.ts)*)|desired-state:([A-Z][A-Za-z]+))$/;
const LISTING = /^listing:(\S+)$/;

/** Plan fields marked listing-only (shown, applied nowhere): warnings, not failures. */
export const listingOnly: string[] = [];

function checkMark(where: string, name: string, effect: unknown, kinds: readonly string[], readFile: ConfigEffectSources['readFile']): string[] {
  if (effect === undefined) return [`${where}: no x-effect (prove it with test:<file> or mark desired-state:<Kind>)`];
  const m = typeof effect === 'string' ? MARK.exec(effect) : null;
  if (!m) return [`${where}: x-effect ${JSON.stringify(effect)} is neither test:<file.test.ts,…> nor desired-state:<Kind>`];
  if (m[4]) return kinds.includes(m[4]) ? [] : [`${where}: desired-state:${m[4]} is not one of the kinds it provisions (${kinds.join(', ')})`];
  // Named as written (`includedCredits`) or in words (`included credits`).
  const words = name.split(/(?<=[a-z0-9])(?=[A-Z])/).map((w) => w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const word = new RegExp(`\\b(${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|${words.join('[\\s*/-]+')})\\b`, 'i');
  return m[2]!.split(',').flatMap((file) => {
    const text = readFile(file);
    if (text === undefined) return [`${where}: x-effect names ${file}, which does not exist`];
    return word.test(text) ? [] : [`${where}: ${file} never names ${name}`];
  });
}

/** Every unmarked or wrongly marked property, as `<where>: <problem>` lines. */
export function configEffectProblems(src: ConfigEffectSources): string[] {
  const problems: string[] = [];
  for (const cap of src.registry.capabilities as Json[]) {
    const kinds: string[] = cap.provisioning?.kinds ?? [];
    const walk = (props: Record<string, Json>, prefix: string) => {
      for (const [name, schema] of Object.entries(props)) {
        const path = `${prefix}${name}`;
        problems.push(...checkMark(`${cap.id}.${path}`, name, schema['x-effect'], kinds, src.readFile));
        if (schema.type === 'object' && schema.properties) walk(schema.properties, `${path}.`);
      }
    };
    walk(cap.config_schema.properties, '');
  }
  const schemas = src.controlPlane.components.schemas;
  const planFields: [string, string, Json][] = [
    ['Plan.includedCredits', 'includedCredits', schemas.Plan.properties.includedCredits],
    ...Object.entries(schemas.PlanLimits.properties as Record<string, Json>).map(([k, v]): [string, string, Json] => [`PlanLimits.${k}`, k, v]),
  ];
  for (const [where, name, schema] of planFields) {
    const listing = typeof schema['x-effect'] === 'string' ? LISTING.exec(schema['x-effect']) : null;
    if (listing) {
      if (src.readFile(listing[1]!) === undefined) problems.push(`plan ${where}: x-effect names ${listing[1]}, which does not exist`);
      else listingOnly.push(`plan ${where}: shown by ${listing[1]}, applied nowhere`);
      continue;
    }
    problems.push(...checkMark(`plan ${where}`, name, schema['x-effect'], [], src.readFile));
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = configEffectProblems({
    registry: parse(readFileSync('specs/capability-registry.yaml', 'utf8')),
    controlPlane: parse(readFileSync('specs/control-plane.openapi.yaml', 'utf8')),
    readFile: (p) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined),
  });
  if (problems.length) {
    console.error(`config:effects: ${problems.length} config propert${problems.length === 1 ? 'y does' : 'ies do'} not say what they do:`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  for (const w of listingOnly) console.warn(`config:effects: warning: ${w}`);
  console.log('config:effects: every capability config property and plan field is proven by a test or marked desired-state');
}
