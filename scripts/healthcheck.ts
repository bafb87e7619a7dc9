/**
 * `node dist/healthcheck.js`: the container image's HEALTHCHECK. The image runs all five services
 * or the ones its arguments name, so this probes `/readyz` on each configured port that accepts
 * a connection: healthy (exit 0) when at least one answers and every one answering says ready.
 * Kubernetes does not use it (its Deployments probe `/readyz` and `/healthz` over HTTP).
 */
import { request } from 'node:http';
import { readCoreConfig } from '../src/platform/config';

type Probe = 'ready' | 'not-ready' | 'closed';

function probe(port: number, timeoutMs = 2000): Promise<Probe> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? 'ready' : 'not-ready');
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'closed' : 'not-ready'));
    req.end();
  });
}

async function main(): Promise<number> {
  const { ports } = readCoreConfig(process.env);
  const results = await Promise.all(Object.entries(ports).map(async ([service, port]) => ({ service, port, state: await probe(port) })));
  const open = results.filter((r) => r.state !== 'closed');
  for (const r of open) console.log(`${r.service} :${r.port} ${r.state}`);
  if (open.length === 0) console.log('no service is listening');
  return open.length > 0 && open.every((r) => r.state === 'ready') ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error('healthcheck failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
