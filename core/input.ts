import { z } from 'zod';

/** A UTF-16 surrogate without its pair: no Unicode character, so no UTF-8 text can hold it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What makes a string unfit to store as text (PostgreSQL's text holds no NUL and only valid UTF-8), or null. */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'holds a NUL character (\\u0000, %00), which text cannot hold: remove it';
  if (loneSurrogate.test(value)) return 'holds a lone UTF-16 surrogate (such as \\ud800), which is no character: send valid Unicode text';
  return null;
}

/** Every string inside a parsed value (a JSON body, a form) that cannot be stored as text, by its path. */
export function malformedText(value: unknown, path = ''): { field: string; reason: string }[] {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? [{ field: path, reason: problem }] : [];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    ...malformedText(key, path).map((found) => ({ ...found, reason: `has a field name that ${found.reason}` })),
    ...malformedText(inner, path ? `${path}.${key}` : key),
  ]);
}

/** Text of decimal digits (what a query string carries) as a number; anything else is left for the check to refuse. */
export const digitsToNumber = (value: unknown) => (typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value);

/**
 * A whole number from `min` to `max`, given as a number or as decimal digits: "16" is 16; "0x10", "1e3",
 * " 16", "", true and Infinity are refused with `message`, where coercing (Number()) took them for 16, 1000,
 * 16, 0, 1 and Infinity.
 */
export const wholeNumber = (message: string, range: { min?: number; max?: number } = {}) =>
  z.preprocess(digitsToNumber, z.number({ error: message }).int(message).min(range.min ?? Number.MIN_SAFE_INTEGER, message).max(range.max ?? Number.MAX_SAFE_INTEGER, message));
