import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../platform/errors';
import { retryAfterSeconds, zendeskAuthorization, zendeskBaseUrl, zendeskTicketBody, zendeskTicketId } from './zendesk';

test('API-token Basic credential: {email}/token:{api_token}, the suffix added when the binding left it out', () => {
  const expected = `Basic ${Buffer.from('agent@acme.example/token:tok123').toString('base64')}`;
  assert.equal(zendeskAuthorization({ email: 'agent@acme.example', apiToken: 'tok123' }), expected);
  assert.equal(zendeskAuthorization({ email: 'agent@acme.example/token', apiToken: 'tok123' }), expected);
  assert.throws(() => zendeskAuthorization({ email: 'agent@acme.example' }), (e: AppError) => e.code === 'POLICY_DENIED' && !JSON.stringify(e.details).includes('agent@'));
});

test('the API root: https://<subdomain>.zendesk.com, or the binding\'s apiBaseUrl; a subdomain that is not a host label is refused', () => {
  assert.equal(zendeskBaseUrl({ subdomain: 'acme' }), 'https://acme.zendesk.com');
  assert.equal(zendeskBaseUrl({ subdomain: 'acme', apiBaseUrl: 'http://127.0.0.1:8090/' }), 'http://127.0.0.1:8090');
  assert.throws(() => zendeskBaseUrl({ subdomain: 'evil.com/x?' }), (e: AppError) => e.code === 'POLICY_DENIED');
  assert.throws(() => zendeskBaseUrl({}), (e: AppError) => e.code === 'POLICY_DENIED');
});

test('Create Ticket body and answer', () => {
  assert.deepEqual(zendeskTicketBody({ subject: 'S', body: 'B', tags: ['handover'] }), { ticket: { subject: 'S', comment: { body: 'B' }, tags: ['handover'] } });
  assert.deepEqual(zendeskTicketBody({ subject: 'S', body: 'B', requester: { email: 'jo@example.com' } }).ticket.requester, { email: 'jo@example.com' });
  assert.equal(zendeskTicketId({ ticket: { id: 35436 } }), '35436');
  assert.equal(zendeskTicketId({ error: 'RecordInvalid' }), undefined);
});

test('Retry-After: delta-seconds or an HTTP date', () => {
  assert.equal(retryAfterSeconds('93'), 93);
  assert.equal(retryAfterSeconds(new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2026, 0, 1, 0, 0, 0)), 30);
  assert.equal(retryAfterSeconds(undefined), undefined);
  assert.equal(retryAfterSeconds('soon'), undefined);
});
