import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../platform/errors';
import { FetchNetworkError } from './guarded-fetch';
import { classify, McpFailure, mcpToolKind } from './mcp-client';

test('a tool is a read only when it says readOnlyHint: true and not destructiveHint: true', () => {
  assert.equal(mcpToolKind({ annotations: { readOnlyHint: true } }), 'read');
  assert.equal(mcpToolKind({ annotations: { readOnlyHint: true, destructiveHint: false } }), 'read');
  assert.equal(mcpToolKind({ annotations: { readOnlyHint: true, destructiveHint: true } }), 'write');
  assert.equal(mcpToolKind({ annotations: { readOnlyHint: false, destructiveHint: false } }), 'write');
  assert.equal(mcpToolKind({ annotations: { idempotentHint: true } }), 'write');
  assert.equal(mcpToolKind({}), 'write');
});

test('failures are classified for the retry rule; guard refusals pass through', () => {
  const kind = (e: unknown) => {
    const c = classify(e);
    return c instanceof McpFailure ? [c.kind, c.reason] : ['app', (c as AppError).code];
  };
  assert.deepEqual(kind(new StreamableHTTPError(503, 'busy')), ['transient', 'upstream_503']);
  assert.deepEqual(kind(new StreamableHTTPError(504, 'x')), ['transient', 'upstream_504']);
  assert.deepEqual(kind(new StreamableHTTPError(401, 'who are you')), ['failed', 'upstream_401']);
  assert.deepEqual(kind(new FetchNetworkError('ECONNREFUSED')), ['transient', 'ECONNREFUSED']);
  assert.deepEqual(kind(new FetchNetworkError('CERT_HAS_EXPIRED')), ['failed', 'CERT_HAS_EXPIRED']);
  assert.deepEqual(kind(new McpError(ErrorCode.RequestTimeout, 'slow')), ['timeout', 'request_timeout']);
  assert.deepEqual(kind(new McpError(ErrorCode.InvalidParams, 'bad')), ['rpc', 'rpc_-32602']);
  assert.deepEqual(kind(new TypeError('Unexpected content type')), ['failed', 'protocol_error']);
  assert.deepEqual(kind(new Error('wrapped', { cause: new FetchNetworkError('ECONNRESET') })), ['transient', 'ECONNRESET']);
  assert.deepEqual(kind(new AppError('POLICY_DENIED', 'private', { reason: 'private_network' })), ['app', 'POLICY_DENIED']);
  const aborted = new AbortController();
  aborted.abort();
  assert.equal((classify(new Error('aborted'), aborted.signal) as McpFailure).kind, 'timeout');
});

test('no failure message carries the server\'s answer text', () => {
  const c = classify(new StreamableHTTPError(500, 'Error POSTing to endpoint: token=sk_live_echoed')) as McpFailure;
  assert.ok(!c.message.includes('sk_live_echoed'));
});
