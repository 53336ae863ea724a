/**
 * Turning spreadsheet text into numbers: locale-safe, as exact decimal strings (never floats). Dates are
 * read in dates.ts.
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
    if (!isGroupedInThousands(int, group)) return null;
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
      if (!isGroupedInThousands(text, mark)) return null;
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

/** The currency an amount's text names beside its number ("$", "£", "EUR"), as written; null when it names none. */
export function currencyMarkOf(raw: string): string | null {
  const text = raw.replace(/[\s\u00a0\u202f()+-]/g, '');
  const found = /^([$€£¥₹]|USD|EUR|GBP)|([$€£¥₹]|USD|EUR|GBP)$/i.exec(text);
  return found ? (found[1] ?? found[2])!.toUpperCase() : null;
}

/** The currencies (ISO 4217) each mark a file may write can stand for: "$" is several. */
const currenciesOfMark: Record<string, string[]> = {
  $: ['USD', 'CAD', 'AUD', 'NZD', 'SGD', 'HKD', 'MXN'],
  '£': ['GBP'],
  '€': ['EUR'],
  '¥': ['JPY', 'CNY'],
  '₹': ['INR'],
  USD: ['USD'],
  EUR: ['EUR'],
  GBP: ['GBP'],
};

/**
 * A warning when a file's amounts are written in a currency that cannot be the business's (amounts in
 * "$" loaded into a business kept in GBP): nothing is converted, so its figures would be shown as GBP.
 * Null when every mark seen can be the business's currency, or none was seen.
 */
export function currencyMismatch(marks: readonly string[], businessCurrency: string): string | null {
  const foreign = marks.filter((mark) => !(currenciesOfMark[mark] ?? [mark]).includes(businessCurrency));
  if (foreign.length === 0) return null;
  return `The file's amounts are written in ${foreign.map((mark) => `"${mark}"`).join(', ')}, but the business keeps its figures in ${businessCurrency}: nothing is converted, so they would be shown as ${businessCurrency}. Check that this file belongs to this business, or convert its amounts first.`;
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

/** How numbers are written: any way `parseDecimal` knows (`auto`), or one locale's marks. */
export type NumberLocale = 'auto' | 'en' | 'de' | 'ch';

export const numberLocaleMarks = {
  en: { decimal: '.', group: ',', example: '1,234.50' },
  de: { decimal: ',', group: '.', example: '1.234,50' },
  ch: { decimal: '.', group: "'", example: "1'234.50" },
} as const;

/** The decimal string of a number written the locale's way ("1.234,50" in `de`); null when it is not written so. */
export function parseDecimalIn(raw: string, locale: NumberLocale): string | null {
  if (locale === 'auto') return parseDecimal(raw);
  // Swiss thousands are grouped with the typographic apostrophe as often as with the plain one.
  const number = splitNumberText(raw.replace(/[’‘]/g, "'"));
  if (!number) return null;
  const { decimal, group } = numberLocaleMarks[locale];
  const [integer = '', fraction = '', ...extra] = number.body.split(decimal);
  if (extra.length > 0) return null;
  if (integer.includes(group) && !isGroupedInThousands(integer, group)) return null;
  return composeDecimal(number.negative, integer.split(group).join(''), fraction);
}

/** Digits grouped by threes with `group` after a first group of one to three: "1,234,567". */
function isGroupedInThousands(digits: string, group: string): boolean {
  return new RegExp(`^\\d{1,3}(\\${group}\\d{3})+$`).test(digits);
}
