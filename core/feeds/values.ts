/**
 * Turning spreadsheet text into values: locale-safe numbers as exact decimal strings (never floats),
 * and dates in the formats people's exports use, with the format reported.
 */

/** The mark between a number's whole part and its fraction. */
export type DecimalMark = '.' | ',';

/**
 * A decimal string ("-1234.50") from text like "1,234.50", "1.234,50", "$1,234.50", "(12.00)", "12%"; null if
 * not a number. One mark before exactly three digits ("2.950", "1,000") can be either: `decimalMark` (the
 * column's, see `detectDecimalMark`) settles it; without one it reads as thousands.
 */
export function parseDecimal(raw: string, decimalMark?: DecimalMark): string | null {
  const number = splitNumberText(raw);
  if (!number) return null;
  const text = number.body.replace(/'/g, '');
  const lastComma = text.lastIndexOf(',');
  const lastDot = text.lastIndexOf('.');
  let integer: string;
  let fraction = '';
  if (lastComma >= 0 && lastDot >= 0) {
    // Both present: the later one is the decimal mark.
    const mark = lastComma > lastDot ? ',' : '.';
    const group = mark === ',' ? '.' : ',';
    const [int, frac] = splitAt(text, mark === ',' ? lastComma : lastDot);
    // The other mark may only group thousands: 1.234,50 or 1,234.50.
    if (!new RegExp(`^\\d{1,3}(\\${group}\\d{3})*$`).test(int)) return null;
    integer = int.split(group).join('');
    fraction = frac;
    if (/[.,]/.test(fraction)) return null;
  } else if (lastComma >= 0 || lastDot >= 0) {
    const mark = lastComma >= 0 ? ',' : '.';
    const occurrences = text.split(mark).length - 1;
    const [int, frac] = splitAt(text, text.lastIndexOf(mark));
    // One mark followed by exactly three digits, after a group of 1–3 digits, reads as thousands ("1,234")
    // unless it is the column's decimal mark; otherwise a single mark is the decimal mark ("12,50", "3.5").
    if (occurrences > 1 || (isAmbiguousMark(int, frac) && decimalMark !== mark)) {
      if (!new RegExp(`^\\d{1,3}(\\${mark}\\d{3})+$`).test(text)) return null;
      integer = text.split(mark).join('');
    } else {
      integer = int;
      fraction = frac;
    }
  } else {
    integer = text;
  }
  return composeDecimal(number.negative, integer, fraction);
}

/** A single mark that may group thousands or start a fraction: "1,234", "2.950" (not "0.125", "12.50"). */
function isAmbiguousMark(integer: string, fraction: string): boolean {
  return fraction.length === 3 && /^\d{1,3}$/.test(integer) && integer !== '0';
}

/** The decimal mark a number's text shows by its own shape ("1,234.50", "12,5", "1.000.000"); null when it shows none. */
function decimalMarkShown(raw: string): DecimalMark | null {
  const number = splitNumberText(raw);
  if (!number) return null;
  const text = number.body.replace(/'/g, '');
  const lastComma = text.lastIndexOf(',');
  const lastDot = text.lastIndexOf('.');
  if (lastComma >= 0 && lastDot >= 0) return lastComma > lastDot ? ',' : '.';
  if (lastComma < 0 && lastDot < 0) return null;
  const mark: DecimalMark = lastComma >= 0 ? ',' : '.';
  const other: DecimalMark = mark === ',' ? '.' : ',';
  if (text.split(mark).length > 2) return other;
  const [integer, fraction] = splitAt(text, text.lastIndexOf(mark));
  return isAmbiguousMark(integer, fraction) ? null : mark;
}

/**
 * The decimal mark of a column from sample values: the one most of them show by their shape; null when
 * none shows one (every value whole, or like "1.000"), for the caller to decide from the rest of the file.
 */
export function detectDecimalMark(samples: string[]): DecimalMark | null {
  let dots = 0;
  let commas = 0;
  for (const sample of samples) {
    const shown = decimalMarkShown(sample);
    if (shown === '.') dots++;
    else if (shown === ',') commas++;
  }
  if (dots === 0 && commas === 0) return null;
  return commas > dots ? ',' : '.';
}

/**
 * The sign of a number's text and its body of digits and marks (`.`, `,`, `'`), without spaces, currency,
 * percent sign, sign or accounting parentheses; null when anything else is left.
 */
export function splitNumberText(raw: string): { negative: boolean; body: string } | null {
  let text = raw.trim().replace(/[\s\u00a0\u202f]/g, '');
  if (!text) return null;
  let negative = false;
  if (/^\(.*\)$/.test(text)) {
    negative = true;
    text = text.slice(1, -1);
  }
  if (text.endsWith('-')) {
    negative = true;
    text = text.slice(0, -1);
  }
  if (text.startsWith('-')) {
    negative = !negative;
    text = text.slice(1);
  } else if (text.startsWith('+')) text = text.slice(1);
  text = text.replace(/^[$€£¥₹]|^(USD|EUR|GBP)|[$€£¥₹%]$|(USD|EUR|GBP)$/gi, '');
  if (text.startsWith('-')) {
    negative = !negative;
    text = text.slice(1);
  }
  if (!/^[\d.,']+$/.test(text) || !/\d/.test(text)) return null;
  return { negative, body: text };
}

/** A decimal string from its sign, integer digits and fraction digits; null when they are not digits. */
export function composeDecimal(negative: boolean, integerDigits: string, fractionDigits: string): string | null {
  if (!/^\d*$/.test(integerDigits) || !/^\d*$/.test(fractionDigits) || (integerDigits === '' && fractionDigits === '')) return null;
  const integer = integerDigits.replace(/^0+(?=\d)/, '') || '0';
  const value = fractionDigits ? `${integer}.${fractionDigits}` : integer;
  return negative && /[1-9]/.test(value) ? `-${value}` : value;
}

function splitAt(text: string, index: number): [string, string] {
  return [text.slice(0, index), text.slice(index + 1)];
}

export type DateFormat = 'YYYY-MM-DD' | 'YYYY/MM/DD' | 'DD/MM/YYYY' | 'MM/DD/YYYY' | 'DD.MM.YYYY' | 'DD-MM-YYYY' | 'MM-DD-YYYY' | 'YYYYMMDD' | 'excel-serial' | 'ISO-8601 timestamp';

interface DateCandidate {
  format: DateFormat;
  pattern: RegExp;
  order: ('y' | 'm' | 'd')[];
}

const candidates: DateCandidate[] = [
  { format: 'YYYY-MM-DD', pattern: /^(\d{4})-(\d{1,2})-(\d{1,2})$/, order: ['y', 'm', 'd'] },
  { format: 'YYYY/MM/DD', pattern: /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/, order: ['y', 'm', 'd'] },
  { format: 'DD/MM/YYYY', pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})$/, order: ['d', 'm', 'y'] },
  { format: 'MM/DD/YYYY', pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{2}|\d{4})$/, order: ['m', 'd', 'y'] },
  { format: 'DD.MM.YYYY', pattern: /^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})$/, order: ['d', 'm', 'y'] },
  { format: 'DD-MM-YYYY', pattern: /^(\d{1,2})-(\d{1,2})-(\d{4})$/, order: ['d', 'm', 'y'] },
  { format: 'MM-DD-YYYY', pattern: /^(\d{1,2})-(\d{1,2})-(\d{4})$/, order: ['m', 'd', 'y'] },
  { format: 'YYYYMMDD', pattern: /^(\d{4})(\d{2})(\d{2})$/, order: ['y', 'm', 'd'] },
];

/** An ISO date ("2025-09-29") when the text is a real calendar date in `format`; null otherwise. */
export function parseDateAs(raw: string, format: DateFormat): string | null {
  const text = raw.trim();
  if (format === 'ISO-8601 timestamp') {
    const match = /^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
    return match && isCalendarDate(match[1]!) ? match[1]! : null;
  }
  if (format === 'excel-serial') {
    if (!/^\d{5}(\.\d+)?$/.test(text)) return null;
    // Excel's day 25569 is 1970-01-01 (its calendar counts a 1900-02-29 that never was).
    const date = new Date((Math.floor(Number(text)) - 25569) * 86_400_000);
    return date.toISOString().slice(0, 10);
  }
  const candidate = candidates.find((c) => c.format === format)!;
  const match = candidate.pattern.exec(text);
  if (!match) return null;
  const parts: Record<'y' | 'm' | 'd', string> = { y: '', m: '', d: '' };
  candidate.order.forEach((key, i) => (parts[key] = match[i + 1]!));
  let year = Number(parts.y);
  if (parts.y.length === 2) year += year >= 70 ? 1900 : 2000;
  const iso = `${String(year).padStart(4, '0')}-${parts.m.padStart(2, '0')}-${parts.d.padStart(2, '0')}`;
  return isCalendarDate(iso) ? iso : null;
}

/** True for a real day written as YYYY-MM-DD. */
export function isCalendarDate(iso: string): boolean {
  const date = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === iso;
}

/** Every date format this module reads, in the order detection tries them. */
export const dateFormats: readonly DateFormat[] = ['YYYY-MM-DD', 'ISO-8601 timestamp', 'YYYY/MM/DD', 'DD/MM/YYYY', 'MM/DD/YYYY', 'DD.MM.YYYY', 'DD-MM-YYYY', 'MM-DD-YYYY', 'YYYYMMDD', 'excel-serial'];

/** The same format with day and month swapped, for the formats that write both as numbers; null for the others. */
const swappedOrder: Partial<Record<DateFormat, DateFormat>> = { 'DD/MM/YYYY': 'MM/DD/YYYY', 'MM/DD/YYYY': 'DD/MM/YYYY', 'DD-MM-YYYY': 'MM-DD-YYYY', 'MM-DD-YYYY': 'DD-MM-YYYY' };

/**
 * True when the samples read as well with day and month swapped (no day above 12 among them): the
 * detected format's order is then an assumption, which the preview says.
 */
export function isDayMonthOrderAssumed(samples: string[], format: DateFormat | null): boolean {
  const swapped = format ? swappedOrder[format] : undefined;
  if (!format || !swapped) return false;
  const values = samples.map((s) => s.trim()).filter(Boolean);
  return values.filter((value) => parseDateAs(value, swapped) !== null).length === values.filter((value) => parseDateAs(value, format) !== null).length;
}

/**
 * The date format of a column from sample values: the format that reads the most samples, the earlier
 * in the list on a tie (day-first before month-first, as most of our customers write). So one bad value
 * does not hide the column's format, "03/04/2025" alone is read day-first, and a "13/04/2025" or
 * "04/13/2025" in the sample settles the order.
 */
export function detectDateFormat(samples: string[], preferMonthFirst = false): DateFormat | null {
  const values = samples.map((s) => s.trim()).filter(Boolean);
  if (values.length === 0) return null;
  const order = preferMonthFirst
    ? dateFormats.map((f) => (f === 'DD/MM/YYYY' ? 'MM/DD/YYYY' : f === 'MM/DD/YYYY' ? 'DD/MM/YYYY' : f === 'DD-MM-YYYY' ? 'MM-DD-YYYY' : f === 'MM-DD-YYYY' ? 'DD-MM-YYYY' : f))
    : dateFormats;
  let best: DateFormat | null = null;
  let bestCount = 0;
  for (const format of order) {
    const count = values.filter((value) => parseDateAs(value, format) !== null).length;
    if (count > bestCount) {
      best = format;
      bestCount = count;
    }
  }
  return best;
}
