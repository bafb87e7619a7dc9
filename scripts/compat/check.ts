/**
 * `npm run compat`: the breaking-change gate. Compares each service's spec (bundled from specs/)
 * with the contract last released to consumers (specs/released/<service>.openapi.yaml) and fails
 * on any breaking change that is not released as a new major version with a changelog entry
 * (gate.ts). Adding is free; the released baseline moves only with `npm run compat:release`.
 *
 *   npm run compat                    # against specs/released/ (what CI runs)
 *   npm run compat -- --against main  # against the bundled specs at the merge base with main
 *   npm run compat:release            # record the current specs as released (refused while a
 *                                     # breaking change is unacknowledged)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { bundleSpec } from '../gen/bundle';
import { services } from '../gen/services';
import { breakingChanges } from './diff';
import { changelogSection, judge, type Verdict } from './gate';
import { findingKey, RULES } from './rules';

export const RELEASED = 'specs/released';
export const CHANGELOG = 'specs/CHANGELOG.md';
const released = (service: string, dir = RELEASED) => join(dir, `${service}.openapi.yaml`);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function operationCount(spec: any): number {
  return Object.values<any>(spec.paths ?? {}).reduce((n, item) => n + METHODS.filter((m) => item?.[m]).length, 0);
}

function baselineFromGit(ref: string, service: string): any | undefined {
  const base = execFileSync('git', ['merge-base', 'HEAD', ref], { encoding: 'utf8' }).trim();
  try {
    return parse(execFileSync('git', ['show', `${base}:generated/openapi/${service}.openapi.yaml`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

export interface CheckOptions {
  /** A git ref: compare with the bundled specs at the merge base with it instead of the released ones. */
  against?: string;
  releasedDir?: string;
  changelogFile?: string;
  services?: { name: string; spec: string }[];
}

export function checkAll(options: CheckOptions = {}): { verdicts: Verdict[]; notes: string[] } {
  const { releasedDir = RELEASED, changelogFile = CHANGELOG, services: list = services } = options;
  const changelog = existsSync(changelogFile) ? readFileSync(changelogFile, 'utf8') : '';
  const verdicts: Verdict[] = [];
  const notes: string[] = [];
  for (const svc of list) {
    const file = released(svc.name, releasedDir);
    const before = options.against ? baselineFromGit(options.against, svc.name) : existsSync(file) ? parse(readFileSync(file, 'utf8')) : undefined;
    const after = bundleSpec(svc.spec);
    if (!before) {
      notes.push(`${svc.name}: no released contract yet (new service), nothing to break`);
      continue;
    }
    const findings = breakingChanges(before, after);
    verdicts.push(judge(svc.name, svc.spec, String(before.info?.version), String(after.info?.version), findings, changelog));
    const added = operationCount(after) - operationCount(before);
    if (added > 0) notes.push(`${svc.name}: ${added} operation(s) more than released (additive, fine)`);
  }
  if (!options.against && existsSync(releasedDir)) {
    const known = new Set(list.map((s) => s.name));
    for (const f of readdirSync(releasedDir).filter((f) => f.endsWith('.openapi.yaml'))) {
      const service = f.replace('.openapi.yaml', '');
      if (known.has(service)) continue;
      const finding = { rule: 'spec-removed' as const, operation: 'spec', where: service, message: 'the spec was removed' };
      const ok = changelogSection(changelog, service, 'removed').includes(findingKey(finding));
      verdicts.push({ service, findings: [finding], unacknowledged: ok ? [] : [finding], advice: ok ? undefined : `keep the spec, or add to ${changelogFile}:\n## ${service} removed\n- ${findingKey(finding)}\nand record the release with npm run compat:release` });
    }
  }
  return { verdicts, notes };
}

export function release(): string[] {
  mkdirSync(RELEASED, { recursive: true });
  const written: string[] = [];
  for (const svc of services) {
    const header = `# The ${svc.name} contract as last released to consumers: specs/${svc.name}.openapi.yaml bundled.\n# Written by npm run compat:release; npm run compat fails on breaking changes against it.\n`;
    writeFileSync(released(svc.name), header + stringify(bundleSpec(svc.spec), { lineWidth: 0, aliasDuplicateObjects: false }));
    written.push(released(svc.name));
  }
  const known = new Set(services.map((s) => `${s.name}.openapi.yaml`));
  for (const f of readdirSync(RELEASED)) if (f.endsWith('.openapi.yaml') && !known.has(f)) rmSync(join(RELEASED, f));
  return written;
}

function print(verdicts: Verdict[], notes: string[], against: string): number {
  let failing = 0;
  for (const v of verdicts) {
    if (!v.findings.length) {
      console.log(`compat: ${v.service}: no breaking change against ${against}`);
      continue;
    }
    const ok = !v.unacknowledged.length;
    console.log(`compat: ${v.service}: ${v.findings.length} breaking change(s) against ${against}${ok ? ', released as a new major version with a changelog entry' : ''}:`);
    for (const f of v.findings) {
      console.log(`  ${v.unacknowledged.includes(f) ? '✖' : '✓'} ${f.rule} (${RULES[f.rule]})`);
      console.log(`      ${[f.operation, f.where].filter(Boolean).join(' ')}: ${f.message}`);
    }
    if (!ok) {
      failing += v.unacknowledged.length;
      console.log(`  To ship it, ${v.advice!.replace(/\n/g, '\n    ')}`);
    }
  }
  for (const n of notes) console.log(`compat: ${n}`);
  return failing;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const againstAt = args.indexOf('--against');
  const against = againstAt >= 0 ? args[againstAt + 1] : undefined;
  const { verdicts, notes } = checkAll({ against });
  const failing = print(verdicts, notes, against ? `the merge base with ${against}` : RELEASED);
  if (args.includes('--release')) {
    if (failing) {
      console.error(`compat:release refused: ${failing} breaking change(s) not acknowledged (see above).`);
      process.exit(1);
    }
    for (const f of release()) console.log(`compat:release: wrote ${f}`);
  } else if (failing) {
    console.error(`compat: ${failing} breaking change(s) for consumers of the released specs. Rules: scripts/compat/rules.ts.`);
    process.exit(1);
  }
}
