/**
 * The rule around the diff: a breaking change to a published spec ships only with a major bump of
 * that spec's `info.version` and a section `## <service> <version>` in specs/CHANGELOG.md that names
 * each breaking change by its key (the gate prints the lines to add).
 */
import { findingKey, type Finding } from './rules';

export interface Verdict {
  service: string;
  findings: Finding[];
  /** Breaking changes that are not acknowledged (empty = the gate passes for this spec). */
  unacknowledged: Finding[];
  /** Why they are not, and what to do. */
  advice?: string;
}

export function major(version: unknown): number {
  const m = /^(\d+)\./.exec(String(version ?? ''));
  return m ? Number(m[1]) : NaN;
}

/** The body of `## <service> <version>` in the changelog ('' when there is none). */
export function changelogSection(changelog: string, service: string, version: string): string {
  const lines = changelog.split('\n');
  const heading = `## ${service} ${version}`;
  // a heading starts its line (an indented or fenced example in the intro is not one)
  let fenced = false;
  const start = lines.findIndex((l) => {
    if (l.startsWith('```')) fenced = !fenced;
    return !fenced && l.trimEnd() === heading;
  });
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^##\s/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

export function judge(service: string, specFile: string, beforeVersion: string, afterVersion: string, findings: Finding[], changelog: string): Verdict {
  if (!findings.length) return { service, findings, unacknowledged: [] };
  const lines = findings.map((f) => `- ${findingKey(f)}`).join('\n');
  if (!(major(afterVersion) > major(beforeVersion))) {
    return {
      service,
      findings,
      unacknowledged: findings,
      advice: `undo the change, or release it as a new major version: set info.version in ${specFile} to ${major(beforeVersion) + 1}.0.0 (released: ${beforeVersion}, now: ${afterVersion}) and add to specs/CHANGELOG.md:\n## ${service} ${major(beforeVersion) + 1}.0.0\n${lines}`,
    };
  }
  const section = changelogSection(changelog, service, afterVersion);
  const unacknowledged = findings.filter((f) => !section.includes(findingKey(f)));
  if (!unacknowledged.length) return { service, findings, unacknowledged };
  return {
    service,
    findings,
    unacknowledged,
    advice: `info.version is ${afterVersion} (released: ${beforeVersion}); name each breaking change in specs/CHANGELOG.md under "## ${service} ${afterVersion}":\n${unacknowledged.map((f) => `- ${findingKey(f)}`).join('\n')}`,
  };
}
