/**
 * The deterministic token count used wherever a model's own count is unknown (the built-in
 * model always; Langflow when its response carries no usage).
 *
 * Rule: split the text into words (maximal runs of Unicode letters, digits and marks) and
 * single non-space symbols (punctuation, emoji, …). A word of n characters counts ceil(n / 4)
 * tokens (so "return" is 2, "a" is 1, "internationalization" is 5); every symbol counts 1;
 * whitespace counts 0. The same text always gives the same count, on every machine. It lands
 * near real BPE tokenizers for English prose (about 1.3 tokens per word), errs high on long
 * identifiers and low on CJK runs, which is acceptable for metering a local model.
 */
const PIECE = /[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu;

export function countTokens(text: string): number {
  if (!text) return 0;
  let n = 0;
  for (const m of text.matchAll(PIECE)) {
    const piece = m[0];
    n += /^[\p{L}\p{N}\p{M}]/u.test(piece) ? Math.ceil([...piece].length / 4) : 1;
  }
  return n;
}
