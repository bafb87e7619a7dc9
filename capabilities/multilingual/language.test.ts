import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDefaults } from '../../src/capabilities/config-defaults';
import { detectLanguage, languageInstructions, replyLanguage } from './language';

const cfg = (c: Record<string, unknown>) => withDefaults('multilingual', c);

test('detects the input language (franc-min) and maps it to ISO 639-1', () => {
  assert.equal(detectLanguage('Wie lange habe ich Zeit, einen Artikel zurückzugeben?'), 'de');
  assert.equal(detectLanguage('How long do I have to return an item?'), 'en');
  assert.equal(detectLanguage('Hallo'), undefined, 'too short to tell');
});

test('supported → that language; detected but unsupported → fallback; undetermined or autoDetect off → default', () => {
  const c = cfg({ defaultLanguage: 'en', supportedLanguages: ['en', 'de-DE'], fallbackLanguage: 'en', autoDetect: true });
  assert.deepEqual(replyLanguage(c, 'Wie lange habe ich Zeit, einen Artikel zurückzugeben?'), { language: 'de-DE', reason: 'detected', detected: 'de' });
  assert.deepEqual(replyLanguage(c, '¿Cuánto tiempo tengo para devolver un artículo?'), { language: 'en', reason: 'fallback', detected: 'es' });
  assert.deepEqual(replyLanguage(c, 'Hi'), { language: 'en', reason: 'default' });
  assert.deepEqual(replyLanguage(cfg({ defaultLanguage: 'de', supportedLanguages: ['de', 'en'], autoDetect: false }), 'How long do I have to return an item?'), { language: 'de', reason: 'default' });
});

test('the instruction names the language; translateKnowledge adds one for retrieved passages', () => {
  assert.deepEqual(languageInstructions(cfg({}), { language: 'de', reason: 'detected' }), ['Reply in German (de), whatever language the context or earlier turns are in.']);
  assert.equal(languageInstructions(cfg({ translateKnowledge: true }), { language: 'fr', reason: 'fallback' })[1], 'Translate any passages you use from the knowledge base or tools into French.');
});
