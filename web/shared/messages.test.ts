import assert from 'node:assert/strict';
import { test } from 'node:test';
import { friendlyMessage } from './messages';

test('visitors are told what happened in plain words, never about the owner\'s wallet', () => {
  assert.equal(friendlyMessage({ status: 403, code: 'ORIGIN_NOT_ALLOWED', message: '' }, 'visitor'), "This chat isn't available on this website.");
  const credits = friendlyMessage({ status: 403, code: 'INSUFFICIENT_CREDITS', message: '', details: { balance: 3, requiredBudget: 25 } }, 'visitor');
  assert.ok(!/credit|balance|25/.test(credits), credits);
  assert.match(friendlyMessage({ status: 403, code: 'NOT_ENTITLED', message: '', details: { state: 'paused' } }, 'visitor'), /paused/);
  assert.match(friendlyMessage({ status: 429, code: 'RATE_LIMITED', message: '', retryAfterSeconds: 7 }, 'visitor'), /wait 7 seconds/);
  assert.match(friendlyMessage({ status: 429, code: 'RATE_LIMITED', message: '', details: { retryAfterSeconds: 1 } }, 'visitor'), /wait 1 second /);
  assert.match(friendlyMessage({ status: 0, code: 'NETWORK', message: '' }, 'visitor'), /Can't reach/);
  assert.match(friendlyMessage({ status: 503, code: 'CONTROL_PLANE_UNAVAILABLE', message: '' }, 'visitor'), /trouble/);
});

test('buyers are told how many credits are missing and to top up', () => {
  assert.equal(
    friendlyMessage({ status: 403, code: 'INSUFFICIENT_CREDITS', message: '', details: { balance: 3, requiredBudget: 25 } }, 'buyer'),
    'Not enough credits for this message (available 3, needed 25). Top up to continue.',
  );
  assert.match(friendlyMessage({ status: 422, code: 'UNPROCESSABLE', message: '', details: { maxInputChars: 2000 } }, 'buyer'), /at most 2000 characters/);
});
