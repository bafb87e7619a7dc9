/**
 * Personal data the guardrails recognise, each with a check beyond its shape where one exists:
 * - e-mail addresses;
 * - card numbers: 13–19 digits (spaces or dashes between groups) passing the Luhn check;
 * - US social security numbers: AAA-GG-SSSS with the SSA's rules (area not 000, 666 or 9xx;
 *   group not 00; serial not 0000);
 * - IBANs: country code, check digits and 11–30 characters passing ISO 13616's mod-97 check;
 * - phone numbers: an optional +country code and 7–15 digits in separated groups, or + and 7–15
 *   digits (checked last, so a card number or an SSN is never reported as a phone number; a bare
 *   run of digits such as an order number is not one).
 */
export type PiiKind = 'email' | 'card' | 'ssn' | 'iban' | 'phone';

export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

/** The mask that replaces each kind in output and stored history. */
export const PII_MASK: Record<PiiKind, string> = { email: '[EMAIL]', card: '[CARD]', ssn: '[SSN]', iban: '[IBAN]', phone: '[PHONE]' };

/** The longest text one match can span (the stream filter holds back at least this much). */
export const PII_MAX_SPAN = 48;

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616: move the first four characters to the end, letters → 10..35, the number mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const v = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of v) rem = (rem * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

export function ssnValid(ssn: string): boolean {
  const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(ssn);
  if (!m) return false;
  const [area, group, serial] = [m[1]!, m[2]!, m[3]!];
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

const DETECTORS: { kind: PiiKind; re: RegExp; valid?: (m: string) => boolean }[] = [
  { kind: 'email', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
  { kind: 'iban', re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g, valid: ibanValid },
  { kind: 'ssn', re: /\b\d{3}-\d{2}-\d{4}\b/g, valid: ssnValid },
  { kind: 'card', re: /\b\d(?:[ -]?\d){12,18}\b/g, valid: (m) => luhn(m.replace(/\D/g, '')) },
  // Groups with separators, or +country and digits: a bare run of digits (an order number) is not a phone number.
  { kind: 'phone', re: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)|(?<![\w+])\+\d{7,15}(?!\w)/g, valid: (m) => { const n = m.replace(/\D/g, '').length; return n >= 7 && n <= 15; } },
];

/** Every PII match in `text`, left to right, without overlaps (earlier detectors win). */
export function findPii(text: string): PiiMatch[] {
  const found: PiiMatch[] = [];
  const overlaps = (s: number, e: number) => found.some((f) => s < f.end && e > f.start);
  for (const d of DETECTORS) {
    for (const m of text.matchAll(d.re)) {
      const start = m.index!;
      const end = start + m[0].length;
      if ((!d.valid || d.valid(m[0])) && !overlaps(start, end)) found.push({ kind: d.kind, start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/** `text` with every match replaced by its kind's mask. */
export function maskPii(text: string, matches = findPii(text)): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + PII_MASK[m.kind];
    at = m.end;
  }
  return out + text.slice(at);
}
