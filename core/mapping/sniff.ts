import { detectDateFormat } from '../files/dates.js';
import { parseBooleanWord } from '../files/booleans.js';
import { currencyMarkOf, parseDecimal } from '../files/numbers.js';

export type ValueKind = 'email' | 'phone' | 'date' | 'money' | 'integer' | 'decimal' | 'boolean' | 'identifier' | 'category' | 'text' | 'empty';

export const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const PHONE = /^\+?[\d\s().-]{7,20}$/;
const IDENTIFIER = /^[A-Z]{0,5}[-_/]?\d{3,}[-_/]?[A-Z0-9]*$/i;

/**
 * What a column's sample values look like. The kind that fits at least 80 % of the non-empty values
 * wins, most specific first; few distinct values among many make a category.
 */
export function sniffValues(samples: string[]): { kind: ValueKind; share: number } {
  const values = samples.map((s) => s.trim()).filter((s) => s !== '');
  if (values.length === 0) return { kind: 'empty', share: 1 };
  const share = (test: (value: string) => boolean) => values.filter(test).length / values.length;
  const checks: [ValueKind, number][] = [
    ['email', share((v) => EMAIL.test(v))],
    ['boolean', share((v) => parseBooleanWord(v) !== null) * (new Set(values.map((v) => v.toLowerCase())).size <= 2 ? 1 : 0)],
    ['date', detectDateFormat(values) ? share((v) => detectDateFormat([v]) !== null && !/^\d{1,4}$/.test(v)) : 0],
    ['money', share((v) => currencyMarkOf(v) !== null && parseDecimal(v) !== null)],
    ['integer', share((v) => /^-?\d{1,6}$/.test(v))],
    ['decimal', share((v) => parseDecimal(v) !== null && /[.,]\d{1,4}$/.test(v))],
    ['phone', share((v) => PHONE.test(v) && v.replace(/\D/g, '').length >= 7)],
    ['identifier', share((v) => IDENTIFIER.test(v))],
  ];
  for (const [kind, fit] of checks) if (fit >= 0.8) return { kind, share: fit };
  const distinct = new Set(values.map((v) => v.toLowerCase())).size;
  if (values.length >= 5 && distinct <= Math.max(2, values.length / 3)) return { kind: 'category', share: 1 - distinct / values.length };
  return { kind: 'text', share: 1 };
}
