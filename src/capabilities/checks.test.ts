import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalLanguage, hostProblem, httpsUrlProblem, isPrivateHost, originProblem, timeZoneProblem } from './checks';

test('origins: exact scheme://host[:port] over https pass', () => {
  for (const o of ['https://acme.example', 'https://shop.acme.example:8443', 'https://*.acme.example', 'http://localhost:3000', 'http://127.0.0.1:5173', 'https://[2001:db8::1]']) {
    assert.equal(originProblem(o), undefined, o);
  }
});

test('origins: paths, user info, plain http, default ports, upper case and loose wildcards are refused', () => {
  const bad = [
    'https://acme.example/',
    'https://acme.example/app',
    'https://acme.example?x=1',
    'https://user@acme.example',
    'http://acme.example',
    'https://acme.example:443',
    'https://Acme.example',
    'https://*.example',
    'https://*',
    'https://app*.acme.example',
    'https://a.*.acme.example',
    'http://*.localhost',
    'ftp://acme.example',
    'null',
  ];
  for (const o of bad) assert.ok(originProblem(o), o);
});

test('host names: DNS names, IPv4 and *.domain wildcards pass; the rest is refused', () => {
  for (const h of ['api.acme.example', 'localhost', '*.acme.example', '10.0.0.1']) assert.equal(hostProblem(h), undefined, h);
  for (const h of ['*.com', 'bad_host.example', '-a.example', 'a-.example', 'x.123', `${'a'.repeat(64)}.example`, '*.10.0.0.1', '']) assert.ok(hostProblem(h), h);
});

test('private targets: loopback, RFC 1918, link-local, CGNAT, ULA and local names', () => {
  for (const h of ['localhost', 'db.internal', 'printer.local', '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '::1', '[::1]', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) {
    assert.ok(isPrivateHost(h), h);
  }
  for (const h of ['api.acme.example', '8.8.8.8', '172.32.0.1', '2001:db8::1']) assert.ok(!isPrivateHost(h), h);
});

test('outbound URLs: https to a public host without credentials', () => {
  assert.equal(httpsUrlProblem('https://hooks.acme.example/handover?team=support'), undefined);
  assert.match(httpsUrlProblem('http://hooks.acme.example')!, /https/);
  assert.match(httpsUrlProblem('https://u:p@hooks.acme.example')!, /credentials/);
  assert.match(httpsUrlProblem('https://hooks.acme.example/?access_token=abc')!, /credentials/);
  assert.match(httpsUrlProblem('https://169.254.169.254/latest/meta-data')!, /public host/);
  assert.match(httpsUrlProblem('https://hooks.acme.example/#x')!, /fragment/);
  assert.match(httpsUrlProblem('https://hooks.acme.example/?team=a', { allowQuery: false })!, /query/);
  assert.match(httpsUrlProblem('not a url')!, /absolute URL/);
});

test('time zones and language tags are checked through Intl', () => {
  assert.equal(timeZoneProblem('Europe/Berlin'), undefined);
  assert.equal(timeZoneProblem('UTC'), undefined);
  assert.ok(timeZoneProblem('Mars/Olympus_Mons'));
  assert.equal(canonicalLanguage('en-us'), 'en-US');
  assert.equal(canonicalLanguage('not a tag'), undefined);
});
