import { spawnSync } from 'node:child_process';

/** What the typed clients need: openapi-generator 4.3.1 (the jar inside the npm package) runs on the JVM. */
export const JAVA_HINT = [
  'Install a Java runtime (11 or newer; 17 is what CI uses), then rerun npm run gen:',
  '  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless',
  '  macOS:         brew install openjdk@17',
  '  (gen runs the `java` found on PATH; check with `java -version`)',
].join('\n');

/**
 * Checks for `java` before gen touches anything. Returns the runtime's major version, or throws an
 * error whose message says what to install.
 */
export function requireJava(env: NodeJS.ProcessEnv = process.env): number {
  const res = spawnSync('java', ['-version'], { env, encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    const why = res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no `java` on PATH' : `\`java -version\` failed: ${(res.stderr || String(res.error)).trim()}`;
    throw new Error(`gen needs Java for the typed clients (generated/clients), and found ${why}.\n${JAVA_HINT}`);
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr}${res.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (!(major >= 11)) throw new Error(`gen needs Java 11 or newer for the typed clients, found: ${(res.stderr || res.stdout).split('\n')[0]}.\n${JAVA_HINT}`);
  return major;
}
