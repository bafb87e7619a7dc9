/**
 * One test per breaking-change rule (rules.ts), each a realistic edit of the real bundled specs,
 * plus the other side of the bargain: additive changes and renamed path variables pass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bundleSpec } from '../gen/bundle';
import { services } from '../gen/services';
import { breakingChanges } from './diff';
import { RULES, type RuleId } from './rules';

type Json = any;
const gateway = bundleSpec('specs/gateway.openapi.yaml');
const provisioner = bundleSpec('specs/provisioner.openapi.yaml');

/**
 * For edits of a schema many operations share: every finding is of `rule`, and the operations
 * named are found (more operations using the schema may be found as the specs grow).
 */
function assertFinds(found: [RuleId, string, string][], rule: RuleId, expected: [string, string][]): void {
  assert.ok(found.length > 0, 'something is found');
  for (const f of found) assert.equal(f[0], rule, JSON.stringify(f));
  for (const [op, where] of expected) assert.ok(found.some((f) => f[1] === op && f[2] === where), `${op} ${where} in ${JSON.stringify(found)}`);
}

/** The findings of editing a copy of `spec` with `edit` (and optionally its "before" with `prepare`). */
function diff(spec: Json, edit: (after: Json) => void, prepare?: (before: Json) => void): [RuleId, string, string][] {
  const before = structuredClone(spec);
  prepare?.(before);
  const after = structuredClone(before);
  edit(after);
  return breakingChanges(before, after).map((f) => [f.rule, f.operation, f.where]);
}

const schemas = (s: Json) => s.components.schemas;
const tested = new Set<RuleId>();
function rule(id: RuleId, name: string, fn: () => void): void {
  tested.add(id);
  test(`${id}: ${name}`, fn);
}

describe('breaking changes are found, named by rule', () => {
  rule('path-removed', 'a path renamed is a path removed', () => {
    assert.deepEqual(
      diff(gateway, (a) => {
        a.paths['/v1/widget/session:start'] = a.paths['/v1/widget/session:init'];
        delete a.paths['/v1/widget/session:init'];
      }),
      [['path-removed', '/v1/widget/session:init', '']],
    );
  });

  rule('operation-removed', 'a method removed from a path that stays', () => {
    const getRun = gateway.paths['/v1/runs/{runId}'].get;
    assert.deepEqual(
      diff(gateway, (a) => delete a.paths['/v1/runs/{runId}'].delete, (b) => {
        b.paths['/v1/runs/{runId}'].delete = { ...structuredClone(getRun), operationId: 'cancelRun' };
      }),
      [['operation-removed', 'DELETE /v1/runs/{runId}', '']],
    );
  });

  rule('operation-id-changed', 'renaming createRun renames the generated client method', () => {
    assert.deepEqual(diff(gateway, (a) => (a.paths['/v1/runs'].post.operationId = 'startRun')), [['operation-id-changed', 'POST /v1/runs', '']]);
  });

  rule('parameter-removed', 'the Origin header of initWidgetSession dropped', () => {
    assert.deepEqual(
      diff(gateway, (a) => {
        const op = a.paths['/v1/widget/session:init'].post;
        op.parameters = op.parameters.filter((p: Json) => p.name !== 'Origin');
      }),
      [['parameter-removed', 'POST /v1/widget/session:init', 'header parameter Origin']],
    );
  });

  rule('parameter-added-required', 'a new required query parameter', () => {
    assert.deepEqual(
      diff(gateway, (a) => a.paths['/v1/runs/{runId}'].get.parameters.push({ name: 'view', in: 'query', required: true, schema: { type: 'string' } })),
      [['parameter-added-required', 'GET /v1/runs/{runId}', 'query parameter view']],
    );
  });

  rule('parameter-became-required', 'Idempotency-Key made required on every operation that shares it', () => {
    const found = diff(gateway, (a) => (a.components.parameters.IdempotencyKeyOptional.required = true));
    assert.deepEqual(found, [
      ['parameter-became-required', 'POST /v1/runs', 'header parameter Idempotency-Key'],
      ['parameter-became-required', 'POST /v1/workspaces/auto', 'header parameter Idempotency-Key'],
      ['parameter-became-required', 'POST /v1/instances/autoActivate', 'header parameter Idempotency-Key'],
    ]);
  });

  rule('request-body-became-required', 'the optional body of createWorkspaceAuto made required', () => {
    assert.deepEqual(diff(gateway, (a) => (a.paths['/v1/workspaces/auto'].post.requestBody.required = true)), [
      ['request-body-became-required', 'POST /v1/workspaces/auto', 'request body'],
    ]);
  });

  rule('request-property-removed', 'RunRequest.variables removed (a strict schema now refuses it)', () => {
    assert.deepEqual(diff(gateway, (a) => delete schemas(a).RunRequest.properties.variables), [
      ['request-property-removed', 'POST /v1/runs', 'request application/json variables'],
    ]);
  });

  rule('request-property-added-required', 'a new required field in RunRequest', () => {
    assert.deepEqual(
      diff(gateway, (a) => {
        schemas(a).RunRequest.properties.channel = { type: 'string' };
        schemas(a).RunRequest.required.push('channel');
      }),
      [['request-property-added-required', 'POST /v1/runs', 'request application/json channel']],
    );
  });

  rule('request-property-became-required', 'RunRequest.sessionId optional → required', () => {
    assert.deepEqual(diff(gateway, (a) => schemas(a).RunRequest.required.push('sessionId')), [
      ['request-property-became-required', 'POST /v1/runs', 'request application/json sessionId'],
    ]);
  });

  rule('request-type-narrowed', 'type, nullable, bounds, pattern, enum, closed object and anyOf variant, each on its own', () => {
    const where = 'request application/json';
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunRequest.properties.variables.additionalProperties.type = 'integer')), [
      ['request-type-narrowed', 'POST /v1/runs', `${where} variables{*}`],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunRequest.properties.sessionId.nullable = false), (b) => (schemas(b).RunRequest.properties.sessionId.nullable = true)), [
      ['request-type-narrowed', 'POST /v1/runs', `${where} sessionId`],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).WidgetSessionInitRequest.properties.locale.maxLength = 20)), [
      ['request-type-narrowed', 'POST /v1/widget/session:init', `${where} locale`],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).WidgetSessionInitRequest.properties.visitorId.pattern = '^v_[a-z0-9]{8}$')), [
      ['request-type-narrowed', 'POST /v1/widget/session:init', `${where} visitorId`],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).WidgetSessionInitRequest.properties.locale.enum = ['en', 'de'])), [
      ['request-type-narrowed', 'POST /v1/widget/session:init', `${where} locale`],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunRequest.properties.variables.additionalProperties = false)), [
      ['request-type-narrowed', 'POST /v1/runs', `${where} variables`],
    ]);
    assert.deepEqual(
      diff(provisioner, (a) => (schemas(a).SaleorOrderFullyPaidPayload.anyOf = schemas(a).SaleorOrderFullyPaidPayload.anyOf.slice(0, 1))),
      [['request-type-narrowed', 'POST /webhooks/saleor/order-fully-paid', 'request application/json']],
    );
  });

  rule('response-property-removed', 'RunOutput.citations removed from the run answer and the run record', () => {
    const found = diff(gateway, (a) => delete schemas(a).RunOutput.properties.citations);
    assertFinds(found, 'response-property-removed', [
      ['POST /v1/runs', 'response 200 application/json output.citations'],
      ['GET /v1/runs/{runId}', 'response 200 application/json output.citations'],
    ]);
  });

  rule('response-property-became-optional', 'RunResult.billing made optional (the issue\'s example)', () => {
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunResult.required = schemas(a).RunResult.required.filter((r: string) => r !== 'billing'))), [
      ['response-property-became-optional', 'POST /v1/runs', 'response 200 application/json billing'],
    ]);
  });

  rule('response-type-widened', 'creditsCharged integer → number (the issue\'s example), nullable added, minimum and pattern dropped, a variant added', () => {
    const where = 'response 200 application/json';
    assertFinds(diff(gateway, (a) => (schemas(a).RunBilling.properties.creditsCharged.type = 'number')), 'response-type-widened', [
      ['POST /v1/runs', `${where} billing.creditsCharged`],
      ['GET /v1/runs/{runId}', `${where} billing.creditsCharged`],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunResult.properties.instanceId.nullable = true)), [
      ['response-type-widened', 'POST /v1/runs', `${where} instanceId`],
    ]);
    assert.deepEqual(diff(gateway, (a) => delete schemas(a).RunResult.properties.durationMs.minimum), [
      ['response-type-widened', 'POST /v1/runs', `${where} durationMs`],
    ]);
    assert.deepEqual(diff(gateway, (a) => delete schemas(a).RunResult.properties.runId.pattern), [
      ['response-type-widened', 'POST /v1/runs', `${where} runId`],
    ]);
    assert.deepEqual(
      diff(gateway, (a) => (schemas(a).RunResult.properties.output = { anyOf: [{ $ref: '#/components/schemas/RunOutput' }, { type: 'string' }] }), (b) => {
        schemas(b).RunResult.properties.output = { anyOf: [{ $ref: '#/components/schemas/RunOutput' }] };
      }),
      [['response-type-widened', 'POST /v1/runs', `${where} output`]],
    );
  });

  rule('enum-value-removed', 'in a request and in a response', () => {
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunRequest.properties.stream.enum = [false]), (b) => (schemas(b).RunRequest.properties.stream.enum = [false, true])), [
      ['enum-value-removed', 'POST /v1/runs', 'request application/json stream'],
    ]);
    assert.deepEqual(diff(gateway, (a) => (schemas(a).RunResult.properties.status.enum = ['succeeded']), (b) => (schemas(b).RunResult.properties.status.enum = ['succeeded', 'failed'])), [
      ['enum-value-removed', 'POST /v1/runs', 'response 200 application/json status'],
    ]);
  });

  rule('status-code-removed', 'createRun no longer documents 429', () => {
    assert.deepEqual(diff(gateway, (a) => delete a.paths['/v1/runs'].post.responses['429']), [['status-code-removed', 'POST /v1/runs', 'response 429']]);
  });

  rule('media-type-removed', 'a request media type and a response media type', () => {
    assert.deepEqual(
      diff(gateway, (a) => delete a.paths['/v1/runs'].post.requestBody.content['application/x-www-form-urlencoded'], (b) => {
        b.paths['/v1/runs'].post.requestBody.content['application/x-www-form-urlencoded'] = { schema: { type: 'object' } };
      }),
      [['media-type-removed', 'POST /v1/runs', 'request application/x-www-form-urlencoded']],
    );
    assert.deepEqual(
      diff(gateway, (a) => delete a.paths['/v1/runs'].post.responses['200'].content['text/event-stream'], (b) => {
        b.paths['/v1/runs'].post.responses['200'].content['text/event-stream'] = { schema: { type: 'string' } };
      }),
      [['media-type-removed', 'POST /v1/runs', 'response 200 text/event-stream']],
    );
  });

  rule('response-header-removed', 'Retry-After dropped from the shared 429 response', () => {
    const found = diff(gateway, (a) => delete a.components.responses.TooManyRequests.headers['Retry-After']);
    assertFinds(found, 'response-header-removed', [['POST /v1/widget/session:init', 'response 429 header Retry-After']]);
    assert.deepEqual(diff(gateway, (a) => delete a.components.responses.RunLimited.headers['Retry-After']), [
      ['response-header-removed', 'POST /v1/runs', 'response 429 header Retry-After'],
    ]);
  });

  // spec-removed is a whole-file rule: gate.test.ts ('a removed spec …')
  tested.add('spec-removed');

  test('every rule has a test here', () => {
    assert.deepEqual([...tested].sort(), Object.keys(RULES).sort());
  });
});

describe('what is not breaking passes', () => {
  test('every spec against itself', () => {
    for (const s of services) assert.deepEqual(breakingChanges(bundleSpec(s.spec), bundleSpec(s.spec)), [], s.name);
  });

  test('adding operations, optional parameters and properties, response codes, headers, response properties and enum values; loosening a request; tightening a response', () => {
    assert.deepEqual(
      diff(gateway, (a) => {
        a.paths['/v1/sessions/{sessionId}:export'] = { get: { operationId: 'exportSession', responses: { 200: { description: 'ok' } } } };
        a.paths['/v1/runs/{runId}'].post = { operationId: 'rerun', responses: { 200: { description: 'ok' } } };
        a.paths['/v1/runs/{runId}'].get.parameters.push({ name: 'view', in: 'query', schema: { type: 'string' } });
        schemas(a).RunRequest.properties.channel = { type: 'string' };
        schemas(a).RunResult.properties.traceUrl = { type: 'string' };
        schemas(a).RunResult.required.push('traceUrl');
        schemas(a).RunResult.properties.status.enum.push('failed');
        a.paths['/v1/runs'].post.responses['502'] = { $ref: '#/components/responses/TooManyRequests' };
        a.paths['/v1/runs'].post.responses['200'].headers = { ...(a.paths['/v1/runs'].post.responses['200'].headers ?? {}), 'X-Run-Cost': { schema: { type: 'integer' } } };
        schemas(a).WidgetSessionInitRequest.properties.locale.maxLength = 64;
        delete schemas(a).WidgetSessionInitRequest.properties.visitorId.pattern;
        schemas(a).RunRequest.properties.sessionId.nullable = true;
        schemas(a).RunBilling.properties.creditsCharged.maximum = 1_000_000_000;
        schemas(a).RunResult.properties.sessionId.nullable = false;
        a.info.description = 'reworded';
      }),
      [],
    );
  });

  test('renaming a path variable is not renaming the path', () => {
    assert.deepEqual(
      diff(gateway, (a) => {
        const item = a.paths['/v1/runs/{runId}'];
        delete a.paths['/v1/runs/{runId}'];
        item.get.parameters.find((p: Json) => p.name === 'runId').name = 'id';
        a.paths['/v1/runs/{id}'] = item;
      }),
      [],
    );
  });
});
