import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkText, extractText, htmlToText } from './chunk';

test('chunks are ~800 characters, overlap their neighbours and cover the whole text', () => {
  const text = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} talks about topic ${i % 7}.`).join(' ');
  const chunks = chunkText(text);
  assert.ok(chunks.length >= 3);
  for (const c of chunks) assert.ok(c.length <= 800 && c.length > 300, String(c.length));
  for (let i = 1; i < chunks.length; i++) {
    const tail = chunks[i - 1]!.slice(-40);
    assert.ok(chunks[i]!.includes(tail.slice(tail.indexOf(' ') + 1, tail.indexOf(' ') + 15)), 'neighbours overlap');
  }
  assert.ok(chunks.at(-1)!.endsWith('topic 3.'));
  assert.deepEqual(chunkText('   '), []);
  assert.deepEqual(chunkText('short'), ['short']);
});

test('simple HTML becomes text: scripts and tags dropped, entities decoded', () => {
  const t = htmlToText('<html><head><style>p{}</style><script>alert(1)</script></head><body><h1>Returns &amp; refunds</h1><p>Within 30&nbsp;days&#33;</p></body></html>');
  assert.doesNotMatch(t, /alert|<|p\{\}/);
  assert.match(t, /Returns & refunds/);
  assert.match(t, /Within 30 days!/);
  assert.equal(extractText(Buffer.from('\uFEFF# Title'), 'text/markdown'), '# Title');
});
