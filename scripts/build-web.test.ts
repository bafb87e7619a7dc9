/**
 * web/dist is what `npm run build:widget` makes from web/ (like the generated/ drift gate), and the
 * README publishes the widget's current pinned URL and integrity hash.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildWeb, staleWebFiles } from './build-web';

test('web/dist matches a fresh build of web/ (run `npm run build:widget` and commit web/dist)', async () => {
  assert.deepEqual(await staleWebFiles(), []);
});

test('the README publishes the widget\'s pinned path and integrity hash', async () => {
  const { manifest } = await buildWeb();
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const w = manifest.bundles.widget;
  assert.ok(readme.includes(w.immutablePath), `README must show ${w.immutablePath}`);
  assert.ok(readme.includes(`integrity="${w.integrity}"`), `README must show integrity="${w.integrity}"`);
});
