import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originAllowed } from './origins';

test('an origin is allowed when it is on the list exactly', () => {
  assert.equal(originAllowed('https://shop.example', ['https://shop.example']), true);
  assert.equal(originAllowed('http://localhost:5173', ['http://localhost:5173']), true);
});

test('scheme, port and host must all match: look-alikes are refused', () => {
  const list = ['https://shop.example'];
  for (const o of ['http://shop.example', 'https://shop.example:8443', 'https://shop.example.evil.example', 'https://evilshop.example', 'https://shop.exampl', 'null', '']) {
    assert.equal(originAllowed(o, list), false, o);
  }
  assert.equal(originAllowed(undefined, list), false);
});

test('a *. entry allows every subdomain, never the apex or a look-alike suffix', () => {
  const list = ['https://*.acme.example'];
  assert.equal(originAllowed('https://help.acme.example', list), true);
  assert.equal(originAllowed('https://a.b.acme.example', list), true);
  assert.equal(originAllowed('https://acme.example', list), false, 'the apex is not a subdomain');
  assert.equal(originAllowed('https://evilacme.example', list), false);
  assert.equal(originAllowed('http://help.acme.example', list), false, 'the scheme still counts');
  assert.equal(originAllowed('https://help.acme.example.evil.example', list), false);
});
