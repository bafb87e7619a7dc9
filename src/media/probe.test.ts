/** Types from magic numbers (never the declared type), PDF pages through pdf-lib, WAV duration through music-metadata. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GIF_1X1, PNG_1X1, pdfWithPages, silentWav } from '../../test/support/media';
import { audioSeconds, pdfPages, sniffType } from './probe';

const bytes = (...b: (number | string)[]) => Buffer.concat(b.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : Buffer.from([x]))));

test('each accepted type is recognised from its first bytes', async () => {
  assert.equal(sniffType(PNG_1X1), 'image/png');
  assert.equal(sniffType(GIF_1X1), 'image/gif');
  assert.equal(sniffType(bytes(0xff, 0xd8, 0xff, 0xe0, 'JFIF')), 'image/jpeg');
  assert.equal(sniffType(bytes('RIFF', 0, 0, 0, 0, 'WEBPVP8 ')), 'image/webp');
  assert.equal(sniffType(await pdfWithPages(1)), 'application/pdf');
  assert.equal(sniffType(silentWav(0.1)), 'audio/wav');
  assert.equal(sniffType(bytes('ID3', 4, 0)), 'audio/mpeg');
  assert.equal(sniffType(bytes(0xff, 0xfb, 0x90, 0x64)), 'audio/mpeg', 'an MPEG-1 Layer III frame header');
  assert.equal(sniffType(bytes('OggS', 0)), 'audio/ogg');
  assert.equal(sniffType(bytes(0x1a, 0x45, 0xdf, 0xa3)), 'audio/webm');
});

test('text, HTML, a truncated header and a RIFF of another kind are none of them', () => {
  for (const b of [Buffer.from('hello'), Buffer.from('<html>'), bytes(0x89, 'PN'), bytes('RIFF', 0, 0, 0, 0, 'AVI '), bytes(0xff, 0xff, 0xff, 0xff), Buffer.alloc(0)]) {
    assert.equal(sniffType(b), undefined, b.toString('hex'));
  }
});

test('PDF pages are counted; a file that only starts like a PDF has none', async () => {
  assert.equal(await pdfPages(await pdfWithPages(3)), 3);
  assert.equal(await pdfPages(Buffer.from('%PDF-1.7\nnot really')), undefined);
});

test('a WAV lasts what its header and data say', async () => {
  assert.equal(await audioSeconds(silentWav(2.5), 'audio/wav'), 2.5);
  assert.equal(await audioSeconds(Buffer.from('RIFF....WAVEjunk'), 'audio/wav'), undefined);
});
