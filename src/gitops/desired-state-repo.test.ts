import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { AppError } from '../platform/errors';
import { GitDesiredStateRepo } from './desired-state-repo';
import { git } from './git';
import { instanceDir, LABELS, tenantNamespace } from './naming';
import { configMap, externalSecret, gatewayRoute, gitOut, newRef, tempDir } from './testing';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function newRepo(opts: Partial<ConstructorParameters<typeof GitDesiredStateRepo>[0]> = {}) {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const repo = new GitDesiredStateRepo({ dir: join(tmp.path, 'gitops'), author: { name: 'CP Test', email: 'cp@test.invalid' }, ...opts });
  return { repo, dir: join(tmp.path, 'gitops'), tmp: tmp.path };
}

const count = async (dir: string, rev = 'HEAD') => Number((await gitOut(dir, 'rev-list', '--count', rev)).trim());
const filesOf = (dir: string, ref: Parameters<typeof instanceDir>[0]) => readdirSync(join(dir, instanceDir(ref))).sort();

async function rejectsWith(p: Promise<unknown>, code: string, check?: (e: AppError) => void) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AppError, `expected AppError, got ${e}`);
    assert.equal(e.code, code);
    check?.(e);
    return true;
  });
}

describe('desired-state repository (local)', () => {
  test('initialises on first use with a README and the bases', async () => {
    const { repo, dir } = newRepo();
    const head = await repo.head();
    assert.match(head, /^[0-9a-f]{40}$/);
    assert.ok(existsSync(join(dir, 'README.md')));
    assert.ok(existsSync(join(dir, 'base', 'kustomization.yaml')), 'base/ copied');
    assert.ok(existsSync(join(dir, 'crds', 'kustomization.yaml')), 'crds/ copied');
    assert.equal(await count(dir), 1);
    assert.equal((await gitOut(dir, 'status', '--porcelain')).trim(), '');
  });

  test('one change is exactly one commit, with the message, trailers and configured author', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    await repo.head();
    const before = await count(dir);
    const { revision, path } = await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'create', actor: 'user-buyer@example.com' });
    assert.equal(await count(dir), before + 1);
    assert.equal(revision, (await gitOut(dir, 'rev-parse', 'HEAD')).trim());
    assert.equal(path, `clusters/dev/instances/${ref.orgId}/${ref.projectId}/${ref.instanceId}/`);
    assert.equal((await gitOut(dir, 'log', '-1', '--format=%s')).trim(), `instance ${ref.instanceId}: create`);
    const trailers = (await gitOut(dir, 'log', '-1', '--format=%(trailers:only,unfold)')).trim().split('\n');
    assert.deepEqual(trailers, [
      `Instance-Id: ${ref.instanceId}`,
      `Org-Id: ${ref.orgId}`,
      `Project-Id: ${ref.projectId}`,
      'Env: dev',
      'Action: create',
      'Actor: user-buyer@example.com',
    ]);
    assert.equal((await gitOut(dir, 'log', '-1', '--format=%an <%ae>')).trim(), 'CP Test <cp@test.invalid>');
    // Only this instance's directory changed.
    const changed = (await gitOut(dir, 'show', '--name-only', '--format=', 'HEAD')).trim().split('\n');
    assert.ok(changed.every((p) => p.startsWith(path)), changed.join(','));
    assert.equal((await gitOut(dir, 'status', '--porcelain')).trim(), '');
  });

  test('rewriting identical manifests is still its own commit (every lifecycle step has a revision)', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    const a = await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'create' });
    const b = await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'pause' });
    assert.notEqual(a.revision, b.revision);
    assert.equal(a.changed, true);
    assert.equal(b.changed, false, 'identical content is reported as unchanged');
    assert.equal((await gitOut(dir, 'show', '--name-only', '--format=', 'HEAD')).trim(), '');
    assert.equal((await gitOut(dir, 'log', '-1', '--format=%s')).trim(), `instance ${ref.instanceId}: pause`);
  });

  test('concurrent writes all land, one commit each, in call order', async () => {
    const { repo, dir } = newRepo();
    await repo.head();
    const refs = Array.from({ length: 6 }, () => newRef());
    const actions = ['create', 'update', 'pause', 'resume', 'upgrade', 'rotate-secrets'] as const;
    const calls: { ref: ReturnType<typeof newRef>; action: (typeof actions)[number] }[] = [];
    for (let i = 0; i < 24; i++) calls.push({ ref: refs[i % refs.length], action: actions[i % actions.length] });
    const results = await Promise.all(calls.map((c, i) => repo.writeInstance({ ...c.ref, manifests: [gatewayRoute(c.ref, `/v1/runs/${i}`)], action: c.action })));
    assert.equal(await count(dir), 1 + calls.length);
    const subjects = (await gitOut(dir, 'log', '--reverse', '--format=%s', 'HEAD~24..HEAD')).trim().split('\n');
    assert.deepEqual(subjects, calls.map((c) => `instance ${c.ref.instanceId}: ${c.action}`));
    assert.equal(new Set(results.map((r) => r.revision)).size, calls.length, 'every call got its own revision');
    const revs = (await gitOut(dir, 'log', '--reverse', '--format=%H', 'HEAD~24..HEAD')).trim().split('\n');
    assert.deepEqual(results.map((r) => r.revision), revs, 'each caller got the revision of its own commit');
    // The last write of each instance is what its directory holds.
    for (let r = 0; r < refs.length; r++) {
      const last = calls.length - refs.length + r;
      const text = readFileSync(join(dir, instanceDir(refs[r]), 'gatewayroute.yaml'), 'utf8');
      assert.match(text, new RegExp(`path: /v1/runs/${last}\\n`));
    }
  });

  test('terminate removes the directory in one commit', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    const other = newRef();
    await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'create' });
    await repo.writeInstance({ ...other, manifests: [gatewayRoute(other)], action: 'create' });
    const before = await count(dir);
    const { revision } = await repo.removeInstance({ ...ref, actor: 'admin' });
    assert.equal(await count(dir), before + 1);
    assert.equal(revision, (await gitOut(dir, 'rev-parse', 'HEAD')).trim());
    assert.equal((await gitOut(dir, 'log', '-1', '--format=%s')).trim(), `instance ${ref.instanceId}: terminate`);
    assert.match(await gitOut(dir, 'log', '-1', '--format=%B'), /Action: terminate/);
    assert.ok(!existsSync(join(dir, instanceDir(ref))));
    assert.equal((await gitOut(dir, 'ls-tree', '-r', '--name-only', 'HEAD', '--', instanceDir(ref))).trim(), '');
    assert.ok(existsSync(join(dir, instanceDir(other), 'kustomization.yaml')), 'other instances untouched');
  });

  test('a rewrite replaces the whole directory: stale files are removed', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    await repo.writeInstance({
      ...ref,
      manifests: [gatewayRoute(ref), configMap(ref, 'chat-ui', { 'config.json': '{}' }), externalSecret(ref, 'bind_01J9ZK7H8J9K0M1N2P3Q4R5S6T')],
      action: 'create',
    });
    assert.deepEqual(filesOf(dir, ref), ['configmap.yaml', 'externalsecret-bind_01j9zk7h8j9k0m1n2p3q4r5s6t.yaml', 'gatewayroute.yaml', 'kustomization.yaml']);
    await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'rotate-secrets' });
    assert.deepEqual(filesOf(dir, ref), ['gatewayroute.yaml', 'kustomization.yaml']);
    assert.deepEqual((await gitOut(dir, 'ls-tree', '--name-only', 'HEAD', `${instanceDir(ref)}/`)).trim().split('\n').map((p) => p.split('/').pop()).sort(), [
      'gatewayroute.yaml',
      'kustomization.yaml',
    ]);
  });

  test('kustomization.yaml lists exactly the manifest files, with the tenant namespace and identity labels', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    await repo.writeInstance({
      ...ref,
      manifests: [
        gatewayRoute(ref),
        configMap(ref, 'a', { x: '1' }),
        configMap(ref, 'b', { y: '2' }),
        externalSecret(ref, 'bind_01J9ZK7H8J9K0M1N2P3Q4R5S6T'),
        externalSecret(ref, 'bind_01J9ZK7H8J9K0M1N2P3Q4R5S6V'),
      ],
      action: 'create',
    });
    const k = parse(readFileSync(join(dir, instanceDir(ref), 'kustomization.yaml'), 'utf8'));
    assert.equal(k.apiVersion, 'kustomize.config.k8s.io/v1beta1');
    assert.equal(k.kind, 'Kustomization');
    assert.equal(k.namespace, tenantNamespace(ref.orgId));
    assert.equal(k.namespace, 'as-org-01j9zk4a7q8r2m5n6p3t9v0w1x');
    assert.deepEqual(k.resources, [
      'gatewayroute.yaml',
      `configmap-${ref.instanceId.toLowerCase().replace('_', '-')}-a.yaml`,
      `configmap-${ref.instanceId.toLowerCase().replace('_', '-')}-b.yaml`,
      'externalsecret-bind_01j9zk7h8j9k0m1n2p3q4r5s6t.yaml',
      'externalsecret-bind_01j9zk7h8j9k0m1n2p3q4r5s6v.yaml',
    ]);
    assert.deepEqual([...k.resources].sort(), filesOf(dir, ref).filter((f) => f !== 'kustomization.yaml'));
    assert.deepEqual(k.labels[0].pairs, {
      [LABELS.instance]: ref.instanceId,
      [LABELS.org]: ref.orgId,
      [LABELS.project]: ref.projectId,
      [LABELS.managedBy]: 'agent-store-control-plane',
    });
    // Each file holds its manifest.
    const cm = parse(readFileSync(join(dir, instanceDir(ref), k.resources[2]), 'utf8'));
    assert.deepEqual(cm.data, { y: '2' });
  });
});

describe('desired-state repository refuses', () => {
  test('a Secret with data, before writing anything', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    const head = await repo.head();
    for (const field of ['data', 'stringData']) {
      const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, [field]: { token: 'c2VjcmV0' } };
      await rejectsWith(repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref), secret], action: 'create' }), 'UNPROCESSABLE', (e) => {
        const findings = (e.details as { findings: { file: string; path: string }[] }).findings;
        assert.equal(findings[0].file, 'secret.yaml');
        assert.equal(findings[0].path, field);
      });
    }
    assert.equal(await repo.head(), head);
    assert.ok(!existsSync(join(dir, instanceDir(ref))));
  });

  test('a known secret value (plain or base64), and never repeats it', async () => {
    const { repo } = newRepo();
    const ref = newRef();
    const secret = 'zq8-Lk3r9-Vv2p-7Tt1';
    const head = await repo.head();
    for (const value of [secret, `Bearer ${secret}`, Buffer.from(secret).toString('base64')]) {
      const cm = configMap(ref, 'settings', { 'config.json': JSON.stringify({ header: value }) });
      await rejectsWith(repo.writeInstance({ ...ref, manifests: [cm], action: 'update', knownSecrets: { values: [secret] } }), 'UNPROCESSABLE', (e) => {
        const text = JSON.stringify({ message: e.message, details: e.details });
        assert.ok(!text.includes(secret) && !text.includes(Buffer.from(secret).toString('base64')), text);
        assert.match(text, /known secret value/);
      });
    }
    // By fingerprint only: the caller need not hold the value.
    const fp = createHash('sha256').update(secret).digest('hex');
    const cm = configMap(ref, 'settings', { 'config.json': `token=${secret}` });
    await rejectsWith(repo.writeInstance({ ...ref, manifests: [cm], action: 'update', knownSecrets: { sha256: [fp] } }), 'UNPROCESSABLE');
    assert.equal(await repo.head(), head);
  });

  test('values that look like secrets (private keys, tokens)', async () => {
    const { repo } = newRepo();
    const ref = newRef();
    const samples = ['-----BEGIN RSA PRIVATE KEY-----\nMIIE...', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', 'https://bot:hunter2hunter2@git.example.com/repo.git'];
    for (const s of samples) {
      await rejectsWith(repo.writeInstance({ ...ref, manifests: [configMap(ref, 'x', { v: s })], action: 'update' }), 'UNPROCESSABLE');
    }
  });

  test("an ExternalSecret pointing at another tenant's Vault path", async () => {
    const { repo } = newRepo();
    const ref = newRef();
    const foreign = externalSecret(ref, 'bind_01J9ZK7H8J9K0M1N2P3Q4R5S6T', 'org_OTHER0000000000000000000');
    await rejectsWith(repo.writeInstance({ ...ref, manifests: [foreign], action: 'create' }), 'UNPROCESSABLE', (e) => {
      assert.match(JSON.stringify(e.details), /extract\.key/);
    });
    // Its own path is fine.
    await repo.writeInstance({ ...ref, manifests: [externalSecret(ref, 'bind_01J9ZK7H8J9K0M1N2P3Q4R5S6T')], action: 'create' });
  });

  test('path traversal and malformed ids', async () => {
    const { repo, tmp } = newRepo();
    const ref = newRef();
    const head = await repo.head();
    const bad = ['..', '../x', 'a/b', '', '.git', 'x\ny', 'a b', '-lead', 'trail_', 'é', 'a'.repeat(64)];
    for (const field of ['env', 'orgId', 'projectId', 'instanceId'] as const) {
      for (const value of bad) {
        await rejectsWith(repo.writeInstance({ ...ref, [field]: value, manifests: [gatewayRoute(ref)], action: 'create' }), 'UNPROCESSABLE');
        await rejectsWith(repo.removeInstance({ ...ref, [field]: value }), 'UNPROCESSABLE');
      }
    }
    assert.equal(await repo.head(), head);
    assert.deepEqual(readdirSync(tmp), ['gitops'], 'nothing written outside the repository');
  });

  test('manifests that are not Kubernetes objects, and unknown actions', async () => {
    const { repo } = newRepo();
    const ref = newRef();
    await rejectsWith(repo.writeInstance({ ...ref, manifests: [{ kind: 'X' } as never], action: 'create' }), 'UNPROCESSABLE');
    await rejectsWith(repo.writeInstance({ ...ref, manifests: [{ apiVersion: 'v1', kind: '../../x', metadata: { name: 'a' } }], action: 'create' }), 'UNPROCESSABLE');
    await rejectsWith(repo.writeInstance({ ...ref, manifests: [], action: 'explode' as never }), 'UNPROCESSABLE');
  });

  test('an actor cannot inject trailers', async () => {
    const { repo, dir } = newRepo();
    const ref = newRef();
    await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'create', actor: 'mallory\nInstance-Id: inst_VICTIM' });
    const ids = (await gitOut(dir, 'log', '-1', '--format=%(trailers:key=Instance-Id,valueonly)')).trim().split('\n');
    assert.deepEqual(ids, [ref.instanceId]);
  });
});

describe('desired-state repository with a remote', () => {
  const TOKEN = 'tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0';

  async function bareRemote() {
    const tmp = tempDir('gitops-remote-');
    cleanups.push(tmp.cleanup);
    const bare = join(tmp.path, 'remote.git');
    await git(['init', '-q', '--bare', '-b', 'main', bare], { cwd: tmp.path });
    return { bare, url: `file://${bare}`, tmp: tmp.path };
  }

  async function assertNoCredential(...dirs: string[]) {
    const b64 = Buffer.from(`bot:${TOKEN}`).toString('base64');
    for (const d of dirs) {
      const log = await gitOut(d, 'log', '--all', '--format=%H%n%an%n%ae%n%B');
      assert.ok(!log.includes(TOKEN) && !log.includes(b64), `credential in git log of ${d}`);
      const cfg = readFileSync(existsSync(join(d, '.git')) ? join(d, '.git', 'config') : join(d, 'config'), 'utf8');
      assert.ok(!cfg.includes(TOKEN) && !cfg.includes(b64), `credential in config of ${d}`);
    }
  }

  test('every commit is pushed to the remote; the credential is in no log, config or URL', async () => {
    const { bare, url } = await bareRemote();
    const { repo, dir } = newRepo({ remote: { url, credentials: { username: 'bot', password: TOKEN } } });
    const ref = newRef();
    const { revision } = await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'create' });
    assert.equal((await gitOut(bare, 'rev-parse', 'refs/heads/main')).trim(), revision);
    const { revision: r2 } = await repo.removeInstance(ref);
    assert.equal((await gitOut(bare, 'rev-parse', 'refs/heads/main')).trim(), r2);
    assert.equal(await count(bare, 'main'), 3);
    assert.equal(repo.remoteUrl, url);
    await assertNoCredential(dir, bare);
  });

  test('a non-fast-forward push is retried after fetch + rebase; nothing is lost', async () => {
    const { bare, url, tmp } = await bareRemote();
    const { repo } = newRepo({ remote: { url, credentials: { username: 'bot', password: TOKEN } } });
    const mine = newRef();
    await repo.writeInstance({ ...mine, manifests: [gatewayRoute(mine)], action: 'create' });

    // Another replica pushes first: one commit elsewhere, one touching my instance's directory.
    const other = join(tmp, 'other');
    await git(['clone', '-q', url, other], { cwd: tmp });
    const theirs = newRef();
    const replica = new GitDesiredStateRepo({ dir: other, remote: { url } });
    await replica.writeInstance({ ...theirs, manifests: [gatewayRoute(theirs)], action: 'create' });
    await replica.writeInstance({ ...mine, manifests: [gatewayRoute(mine, '/conflicting')], action: 'update' });

    const { revision } = await repo.writeInstance({ ...mine, manifests: [gatewayRoute(mine, '/v1/mine')], action: 'upgrade' });
    assert.equal((await gitOut(bare, 'rev-parse', 'refs/heads/main')).trim(), revision);
    const subjects = (await gitOut(bare, 'log', '--format=%s', 'main')).trim().split('\n');
    assert.deepEqual(subjects.slice(0, 4), [
      `instance ${mine.instanceId}: upgrade`,
      `instance ${mine.instanceId}: update`,
      `instance ${theirs.instanceId}: create`,
      `instance ${mine.instanceId}: create`,
    ]);
    const content = await gitOut(bare, 'show', `main:${instanceDir(mine)}/gatewayroute.yaml`);
    assert.match(content, /path: \/v1\/mine/);
    assert.ok(await repo.includes(revision, (await gitOut(bare, 'rev-parse', 'main~2')).trim()));
  });

  test('a rejected push is rebased onto the other replica\'s commit and pushed', async () => {
    const { bare, url, tmp } = await bareRemote();
    const { repo } = newRepo({ remote: { url } });
    await repo.head();
    const replica = new GitDesiredStateRepo({ dir: join(tmp, 'replica'), remote: { url } });
    const theirs = newRef();
    const { revision: theirRevision } = await replica.writeInstance({ ...theirs, manifests: [gatewayRoute(theirs)], action: 'create' });
    const mine = newRef();
    const { revision } = await repo.writeInstance({ ...mine, manifests: [gatewayRoute(mine)], action: 'create' });
    assert.equal((await gitOut(bare, 'rev-parse', 'main')).trim(), revision);
    assert.equal((await gitOut(bare, 'rev-parse', 'main~1')).trim(), theirRevision, 'linear history on top of the other replica');
    assert.ok(await repo.includes(revision, theirRevision));
    assert.ok(!(await repo.includes(theirRevision, revision)));
    const tree = await gitOut(bare, 'ls-tree', '-r', '--name-only', 'main', '--', 'clusters');
    assert.ok(tree.includes(instanceDir(theirs)) && tree.includes(instanceDir(mine)));
  });

  test('an existing remote is cloned on first use; an empty one is seeded', async () => {
    const { url, bare } = await bareRemote();
    const first = newRepo({ remote: { url } });
    const seeded = await first.repo.head();
    assert.equal((await gitOut(bare, 'rev-parse', 'main')).trim(), seeded);
    const second = newRepo({ remote: { url } });
    assert.equal(await second.repo.head(), seeded);
  });

  test('credentials go out as an HTTP header and never appear in errors', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`unavailable ${req.headers.authorization ?? ''}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      // Credentials given in the URL are moved out of it, too.
      const { repo, dir } = newRepo({ remote: { url: `http://bot:${TOKEN}@127.0.0.1:${port}/agentstore/gitops.git`, pushAttempts: 1 } });
      assert.equal(repo.remoteUrl, `http://127.0.0.1:${port}/agentstore/gitops.git`);
      const ref = newRef();
      let error: unknown;
      try {
        await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref)], action: 'create' });
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'DEPENDENCY_UNAVAILABLE');
      const text = `${error.message} ${JSON.stringify(error.details)} ${String(error.stack)}`;
      const b64 = Buffer.from(`bot:${TOKEN}`).toString('base64');
      assert.ok(!text.includes(TOKEN) && !text.includes(b64), text);
      assert.ok(seen.includes(`Basic ${b64}`), `the credential was sent as a header (${seen.length} requests)`);
      const cfg = readFileSync(join(dir, '.git', 'config'), 'utf8');
      assert.ok(!cfg.includes(TOKEN) && !cfg.includes(b64) && !cfg.includes('bot@'), cfg);
    } finally {
      server.close();
    }
  });
});
