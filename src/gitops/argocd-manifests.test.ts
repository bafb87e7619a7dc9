/**
 * The Argo CD side (gitops/argocd) agrees with the code: the notification body renders to JSON the
 * control plane's spec accepts, the ApplicationSet computes the same Application and namespace
 * names as src/gitops/naming.ts, and (where kubectl is installed) kustomize builds the platform
 * base and a committed instance directory.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { LABEL } from '../capabilities/manifest';
import { GitDesiredStateRepo } from './desired-state-repo';
import { appNameFor, instanceDir, LABELS, MANAGED_BY, tenantNamespace } from './naming';
import { configMap, gatewayRoute, newRef, tempDir } from './testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const readYaml = (p: string) => parse(readFileSync(join(ROOT, p), 'utf8'));
const run = promisify(execFile);
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

// ── a small interpreter for the Go-template subset the files use ────────────────────────────
type Node = { text: string } | { pipe: string } | { with: string; then: Node[]; else: Node[] };

function parseTemplate(src: string): Node[] {
  const tokens = src.split(/(\{\{-?\s*[\s\S]*?\s*-?\}\})/).filter((t) => t !== '');
  let i = 0;
  const block = (): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++];
      const m = /^\{\{-?\s*([\s\S]*?)\s*-?\}\}$/.exec(t);
      if (!m) {
        nodes.push({ text: t });
        continue;
      }
      const action = m[1];
      if (action === 'end' || action === 'else') return { nodes, end: action };
      if (action.startsWith('with ')) {
        const then = block();
        const otherwise = then.end === 'else' ? block() : { nodes: [] };
        nodes.push({ with: action.slice(5), then: then.nodes, else: otherwise.nodes });
      } else nodes.push({ pipe: action });
    }
    return { nodes, end: '' };
  };
  return block().nodes;
}

const MISSING = Symbol('missing');
function args(s: string): string[] {
  return s.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}
function value(arg: string, dot: unknown): unknown {
  if (arg.startsWith('"')) return JSON.parse(arg);
  if (/^\d+$/.test(arg)) return Number(arg);
  if (arg === '.') return dot;
  if (arg.startsWith('.')) {
    let v: any = dot;
    for (const k of arg.slice(1).split('.')) v = v === MISSING || v == null || !(k in Object(v)) ? MISSING : v[k];
    return v;
  }
  throw new Error(`unsupported argument ${arg}`);
}
const FUNCS: Record<string, (...a: any[]) => unknown> = {
  default: (d, v) => (v === MISSING || v === '' || v == null ? d : v),
  trunc: (n, v) => String(v).slice(0, n),
  toJson: (v) => JSON.stringify(v === MISSING ? null : v),
  lower: (v) => String(v).toLowerCase(),
  trimPrefix: (p, v) => (String(v).startsWith(p) ? String(v).slice(p.length) : String(v)),
  replace: (a, b, v) => String(v).split(a).join(b),
  index: (v, n) => v[n],
};
function evalPipe(pipe: string, dot: unknown): unknown {
  let acc: unknown = MISSING;
  pipe.split('|').forEach((cmd, n) => {
    const [head, ...rest] = args(cmd.trim());
    if (head in FUNCS) {
      const a = rest.map((r) => value(r, dot));
      acc = FUNCS[head](...(n === 0 ? a : [...a, acc]));
    } else acc = value(head, dot);
  });
  return acc;
}
function render(nodes: Node[], dot: unknown): string {
  return nodes
    .map((n) => {
      if ('text' in n) return n.text;
      if ('pipe' in n) {
        const v = evalPipe(n.pipe, dot);
        return v === MISSING ? '<no value>' : String(v);
      }
      const v = evalPipe(n.with, dot);
      const truthy = v !== MISSING && v !== '' && v != null && !(typeof v === 'object' && Object.keys(v as object).length === 0);
      return truthy ? render(n.then, v) : render(n.else, dot);
    })
    .join('');
}

// ── notifications ────────────────────────────────────────────────────────────────────────────
const cm = readYaml('gitops/argocd/notifications-cm.yaml');
const spec = parse(readFileSync(join(ROOT, 'specs/control-plane.openapi.yaml'), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
const validBody = ajv.compile(spec.components.schemas.ArgocdNotification);
const body = parse(cm.data['template.agentstore-app-status']).webhook['agentstore-cp'].body as string;

const APP_ID = 'inst_01J9ZK5D6E7F8G9H0J1K2M3N4P';
const REV = '4e1f0c2b9a7d6e5f3c1b0a9e8d7c6b5a4f3e2d1c';
const app = (operationState?: Record<string, unknown>, health = 'Healthy', sync = 'Synced') => ({
  app: {
    metadata: { name: appNameFor(APP_ID) },
    status: { sync: { status: sync, revision: REV }, health: { status: health }, ...(operationState ? { operationState } : {}) },
  },
});

test('the notification body renders to a request the control plane spec accepts', () => {
  const cases = [
    app({ phase: 'Succeeded', message: 'successfully synced (all tasks run)' }),
    app(undefined, 'Progressing', 'OutOfSync'), // no operation has run yet
    app({ phase: 'Failed', message: 'one or more "objects" failed:\n\tGatewayRoute x is invalid \\ ' + 'é'.repeat(5000) }, 'Degraded'),
    app({ phase: 'Running' }, 'Progressing', 'OutOfSync'),
  ];
  for (const data of cases) {
    const text = render(parseTemplate(body.trim()), data);
    const json = JSON.parse(text);
    assert.ok(validBody(json) as boolean, `${text}\n${JSON.stringify(validBody.errors)}`);
    assert.equal(json.app, 'inst-01j9zk5d6e7f8g9h0j1k2m3n4p');
    assert.equal(json.rev, REV);
  }
  const noOp = JSON.parse(render(parseTemplate(body.trim()), app()));
  assert.equal(noOp.operationPhase, '');
  assert.equal(noOp.message, '');
});

test('the webhook service targets receiveArgocdNotification with the shared token header', () => {
  const service = parse(cm.data['service.webhook.agentstore-cp']);
  const path = Object.entries(spec.paths as Record<string, any>).find(([, ops]) => ops.post?.operationId === 'receiveArgocdNotification')![0];
  assert.equal(service.url, `$cp-url${path}`);
  assert.deepEqual(
    service.headers.find((h: { name: string }) => h.name === 'X-Argocd-Webhook-Token'),
    { name: 'X-Argocd-Webhook-Token', value: '$agentstore-webhook-token' },
  );
  assert.ok(spec.components.securitySchemes.argocdWebhookAuth.name.toLowerCase() === 'x-argocd-webhook-token');
  for (const trigger of ['on-deployed', 'on-health-degraded', 'on-sync-failed']) {
    const t = parse(cm.data[`trigger.${trigger}`]);
    assert.deepEqual(t[0].send, ['agentstore-app-status'], trigger);
  }
});

// ── ApplicationSet ───────────────────────────────────────────────────────────────────────────
test('the ApplicationSet names Applications and namespaces exactly as the code does', () => {
  const appset = readYaml('gitops/argocd/applicationset.yaml');
  assert.equal(appset.spec.goTemplate, true);
  const dir = appset.spec.generators[0].git.directories[0].path as string;
  assert.match(dir, /^clusters\/[a-z0-9-]+\/instances\/\*\/\*\/\*$/);
  const tpl = appset.spec.template;
  for (const ref of [newRef('prod'), { env: 'prod', orgId: 'org_01J9ZK4A7Q8R2M5N6P3T9V0W1X', projectId: 'prj_01J9ZK4B2C3D4E5F6G7H8J9K0M', instanceId: APP_ID }]) {
    const p = instanceDir(ref);
    const data = { path: { path: p, basename: ref.instanceId, segments: p.split('/') } };
    assert.equal(render(parseTemplate(tpl.metadata.name), data), appNameFor(ref.instanceId));
    assert.equal(render(parseTemplate(tpl.spec.destination.namespace), data), tenantNamespace(ref.orgId));
    assert.equal(render(parseTemplate(tpl.spec.source.path), data), p);
    assert.equal(render(parseTemplate(tpl.metadata.labels[LABELS.org]), data), ref.orgId);
  }
  for (const trigger of ['on-deployed', 'on-health-degraded', 'on-sync-failed']) {
    assert.equal(tpl.metadata.annotations[`notifications.argoproj.io/subscribe.${trigger}.agentstore-cp`], '', trigger);
  }
  assert.deepEqual(tpl.spec.syncPolicy.automated, { prune: true, selfHeal: true });
  const project = readYaml('gitops/argocd/project.yaml');
  assert.equal(tpl.spec.project, project.metadata.name);
  assert.ok(project.spec.destinations.some((d: { namespace: string }) => d.namespace === 'as-*'));
});

test('instance labels are the capability handlers\' labels', () => {
  assert.equal(LABELS.instance, LABEL.instance);
  assert.equal(LABELS.org, LABEL.org);
  assert.equal(LABELS.project, LABEL.project);
  assert.equal(LABELS.managedBy, LABEL.managedBy);
  assert.equal(MANAGED_BY, 'agent-store-control-plane');
});

// ── kustomize ────────────────────────────────────────────────────────────────────────────────
async function kubectl(): Promise<boolean> {
  try {
    await run('kubectl', ['version', '--client'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

test('kustomize builds the platform base and a committed instance directory', async (t) => {
  if (!(await kubectl())) return t.skip('kubectl is not installed');
  const base = await run('kubectl', ['kustomize', join(ROOT, 'gitops/base')], { maxBuffer: 64 * 1024 * 1024 });
  const kinds = parseAllDocuments(base.stdout).map((d) => (d.toJS() as { kind: string }).kind);
  assert.ok(kinds.includes('CustomResourceDefinition') && kinds.filter((k) => k === 'Deployment').length === 5, kinds.join(','));

  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const repo = new GitDesiredStateRepo({ dir: join(tmp.path, 'gitops') });
  const ref = newRef();
  await repo.writeInstance({ ...ref, manifests: [gatewayRoute(ref), configMap(ref, 'x', { a: '1' })], action: 'create' });
  const out = await run('kubectl', ['kustomize', join(tmp.path, 'gitops', instanceDir(ref))]);
  const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as { kind: string; metadata: { namespace: string; labels: Record<string, string> } });
  assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'GatewayRoute']);
  for (const d of docs) {
    assert.equal(d.metadata.namespace, tenantNamespace(ref.orgId));
    assert.equal(d.metadata.labels[LABELS.instance], ref.instanceId);
    assert.equal(d.metadata.labels[LABELS.org], ref.orgId);
  }
});
