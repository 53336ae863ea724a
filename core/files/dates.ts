import { AppError } from '../errors.js';

/**
 * Dates as people's exports write them ("2025-09-29", "29/11/2026 15:00", "Nov 18, 2026", "3. März 2026",
 * "5 de enero de 2026"), read as the calendar day written, whatever time or offset follows it.
 *
 * A format is a pattern in the tokens of dayjs and moment, which people know from spreadsheets and other
 * tools: YYYY or YY (year), M or MM (month), MMM or MMMM (month name, full or abbreviated, in English,
 * German, French, Spanish or Dutch), D or DD (day), Do (day with "st", "nd", "rd", "th" or "."), ddd or
 * dddd (weekday name, skipped), H/HH or h/hh (hour), m/mm, s/ss, S… (fraction), A or a (AM/PM), Z, ZZ or z
 * (offset or zone), text in [brackets] as written. date-fns's lower-case yyyy and dd are read as YYYY and DD.
 * Two named formats stand beside the patterns: "ISO-8601 timestamp" and "excel-serial" (Excel's day numbers).
 *
 * No date library does this: date-fns and dayjs turn a date with an offset into an instant in the server's
 * zone (a sale at 23:30 -05:00 would move to the next day), and their strict modes refuse the case and
 * abbreviation variants real exports write ("MÄRZ", "Sept.").
 */

/** A date format: a pattern (above) or one of the two named formats. */
export type DateFormat = string;

const ISO_TIMESTAMP = 'ISO-8601 timestamp';
const EXCEL_SERIAL = 'excel-serial';

type Field = 'year' | 'month' | 'monthName' | 'day' | 'hour' | 'hour12' | 'minute' | 'second' | 'meridiem' | 'skip';

interface CompiledFormat {
  regex: RegExp;
  fields: Field[];
}

/** The long month names of the languages read, without accents, in lower case: a name or its first three letters or more is that month. */
const monthNames: readonly (readonly string[])[] = [
  ['january', 'januar', 'janvier', 'enero', 'januari'],
  ['february', 'februar', 'fevrier', 'febrero', 'februari'],
  ['march', 'marz', 'mars', 'marzo', 'maart'],
  ['april', 'april', 'avril', 'abril', 'april'],
  ['may', 'mai', 'mai', 'mayo', 'mei'],
  ['june', 'juni', 'juin', 'junio', 'juni'],
  ['july', 'juli', 'juillet', 'julio', 'juli'],
  ['august', 'august', 'aout', 'agosto', 'augustus'],
  ['september', 'september', 'septembre', 'septiembre', 'september'],
  ['october', 'oktober', 'octobre', 'octubre', 'oktober'],
  ['november', 'november', 'novembre', 'noviembre', 'november'],
  ['december', 'dezember', 'decembre', 'diciembre', 'december'],
];
/** Abbreviations that are not the start of their month's name: German "Mrz", Dutch "mrt", Spanish "set". */
const otherMonthAbbreviations = new Map([
  ['mrz', 3],
  ['mrt', 3],
  ['set', 9],
]);

/** The month (1–12) a word names, in any of the languages read; null for any other word. */
function monthOfName(word: string): number | null {
  const known = otherMonthAbbreviations.get(word);
  if (known) return known;
  if (word.length < 3) return null;
  const index = monthNames.findIndex((names) => names.some((name) => name.startsWith(word)));
  return index < 0 ? null : index + 1;
}

/** Text compared without case or accents ("MÄRZ" and "marz", "févr." and "fevr."). */
function foldText(text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

const tokenPattern = /\[[^\]]*\]|'[^']*'|YYYY|yyyy|YY|yy|MMMM|MMM|MM|M|Do|DD|dddd|ddd|dd|D|d|E+|HH|H|hh|h|mm|m|ss|s|S+|A|a|ZZ|Z|z|X+|x+|[A-Za-z]|\s+|./g;

const compiledFormats = new Map<string, CompiledFormat>();

/**
 * A pattern as a regular expression over folded text and the fields its groups hold; throws a
 * validation_failed AppError naming what is wrong with the pattern.
 */
function compileFormat(pattern: string): CompiledFormat {
  const cached = compiledFormats.get(pattern);
  if (cached) return cached;
  const tokens = [...pattern.matchAll(tokenPattern)].map((match) => match[0]);
  const numeric = (token: string | undefined) => token !== undefined && /^(YYYY|yyyy|YY|yy|MM|M|DD|D|dd|d|HH|H|hh|h|mm|m|ss|s)$/.test(token);
  const fields: Field[] = [];
  let source = '';
  tokens.forEach((token, i) => {
    // Digits written next to digits ("YYYYMMDD") have their token's exact width; otherwise one or two digits.
    const compact = numeric(tokens[i - 1]) || numeric(tokens[i + 1]);
    const digits = (exact: number, loose: string) => (compact ? `(\\d{${exact}})` : loose);
    const field = (name: Field, group: string) => {
      fields.push(name);
      source += group;
    };
    if (token.startsWith('[') || token.startsWith("'")) source += escapeRegex(foldText(token.slice(1, -1)));
    else if (token === 'T') source += 't';
    else if (token === 'YYYY' || token === 'yyyy') field('year', compact ? '(\\d{4})' : '(\\d{4}|\\d{2})');
    else if (token === 'YY' || token === 'yy') field('year', '(\\d{2})');
    else if (token === 'MMMM' || token === 'MMM') field('monthName', '([a-z]+)\\.?');
    else if (token === 'MM' || token === 'M') field('month', digits(2, '(\\d{1,2})'));
    else if (token === 'Do') field('day', '(\\d{1,2})(?:st|nd|rd|th|er|e|\\.)?');
    else if (token === 'DD' || token === 'D' || token === 'dd' || token === 'd') field('day', digits(2, '(\\d{1,2})'));
    else if (token === 'dddd' || token === 'ddd' || /^E+$/.test(token)) field('skip', '([a-z]+\\.?)');
    else if (token === 'HH' || token === 'H') field('hour', digits(2, '(\\d{1,2})'));
    else if (token === 'hh' || token === 'h') field('hour12', digits(2, '(\\d{1,2})'));
    else if (token === 'mm' || token === 'm') field('minute', digits(2, '(\\d{1,2})'));
    else if (token === 'ss' || token === 's') field('second', digits(2, '(\\d{1,2})'));
    else if (/^S+$/.test(token)) field('skip', '(\\d+)');
    else if (token === 'A' || token === 'a') field('meridiem', '(am|pm|a\\.m\\.|p\\.m\\.)');
    else if (token === 'ZZ' || token === 'Z' || /^[Xx]+$/.test(token)) field('skip', '(z|[+-]\\d{2}(?::?\\d{2})?)');
    else if (token === 'z') field('skip', '([a-z]{1,5})');
    else if (/^[A-Za-z]$/.test(token)) {
      throw new AppError('validation_failed', `The date format “${pattern}” has “${token}”, which is not a part of a date. ${FORMAT_HELP}`);
    } else if (/^\s+$/.test(token)) source += '\\s+';
    else if (token === ',') source += ',?';
    else source += escapeRegex(token);
  });
  if (!fields.includes('day') || !(fields.includes('month') || fields.includes('monthName')) || !fields.includes('year')) {
    throw new AppError('validation_failed', `The date format “${pattern}” must name a day, a month and a year. ${FORMAT_HELP}`);
  }
  if (fields.includes('hour12') !== fields.includes('meridiem')) {
    throw new AppError('validation_failed', `The date format “${pattern}” has a 12-hour clock (h or hh) without AM/PM (A), or AM/PM with a 24-hour clock (H or HH).`);
  }
  const compiled = { regex: new RegExp(`^${source}$`), fields };
  compiledFormats.set(pattern, compiled);
  return compiled;
}

const FORMAT_HELP = 'Write it with YYYY (year), MM or MMM (month as a number or a name), DD (day) and, for a time, HH:mm or h:mm A; for example DD/MM/YYYY, MMM D, YYYY or D. MMMM YYYY.';

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The format as given, trimmed and checked: a validation_failed AppError says what is wrong with it. */
export function checkDateFormat(pattern: string): DateFormat {
  const trimmed = pattern.trim();
  if (trimmed === ISO_TIMESTAMP || trimmed === EXCEL_SERIAL) return trimmed;
  compileFormat(trimmed);
  return trimmed;
}

/** An ISO date ("2025-09-29") when the text is a real calendar date in `format`; null otherwise. */
export function parseDateAs(raw: string, format: DateFormat): string | null {
  return parseFolded(foldText(raw.trim()), format);
}

/** `parseDateAs` of text already trimmed and folded (`foldText`): detection folds each sample once for every format. */
function parseFolded(text: string, format: DateFormat): string | null {
  if (format === ISO_TIMESTAMP) {
    const match = /^(\d{4}-\d{2}-\d{2})[t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s?(z|[+-]\d{2}(:?\d{2})?|utc)?$/.exec(text);
    return match && isCalendarDate(match[1]!) ? match[1]! : null;
  }
  if (format === EXCEL_SERIAL) {
    if (!/^\d{5}(\.\d+)?$/.test(text)) return null;
    // Excel's day 25569 is 1970-01-01 (its calendar counts a 1900-02-29 that never was).
    const date = new Date((Math.floor(Number(text)) - 25569) * 86_400_000);
    return date.toISOString().slice(0, 10);
  }
  const { regex, fields } = compileFormat(format);
  const match = regex.exec(text);
  if (!match) return null;
  let year = 0;
  let month = 0;
  let day = 0;
  for (let i = 0; i < fields.length; i++) {
    const value = match[i + 1]!;
    switch (fields[i]) {
      case 'year':
        year = value.length === 2 ? Number(value) + (Number(value) >= 70 ? 1900 : 2000) : Number(value);
        break;
      case 'month':
        month = Number(value);
        break;
      case 'monthName':
        month = monthOfName(value) ?? 0;
        break;
      case 'day':
        day = Number(value);
        break;
      case 'hour':
        if (Number(value) > 23) return null;
        break;
      case 'hour12':
        if (Number(value) < 1 || Number(value) > 12) return null;
        break;
      case 'minute':
      case 'second':
        if (Number(value) > 59) return null;
        break;
    }
  }
  const iso = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return isCalendarDate(iso) ? iso : null;
}

/** True for a real day written as YYYY-MM-DD. */
export function isCalendarDate(iso: string): boolean {
  const date = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === iso;
}

/** Ways exports write the time after a date. */
const timesOfDay = ['', ' HH:mm', ' HH:mm:ss', ' h:mm A', ' h:mm:ss A'];
/** Dates written with numbers only (day first before month first), then with a month's name. */
const numericDates = ['DD/MM/YYYY', 'MM/DD/YYYY', 'DD.MM.YYYY', 'DD-MM-YYYY', 'MM-DD-YYYY', 'YYYY/MM/DD'];
const namedDates = ['MMM D, YYYY', 'D MMMM YYYY', 'D. MMMM YYYY', 'D [de] MMMM [de] YYYY', 'DD-MMM-YY', 'DD-MMM-YYYY', 'DD/MMM/YYYY', 'dddd, MMMM D, YYYY', 'dddd D MMMM YYYY', 'dddd, D. MMMM YYYY'];

/** Every date format detection tries, in the order it prefers them on a tie. */
export const dateFormats: readonly DateFormat[] = [
  'YYYY-MM-DD',
  ISO_TIMESTAMP,
  'YYYY/MM/DD',
  ...numericDates.slice(0, 5),
  'YYYYMMDD',
  EXCEL_SERIAL,
  ...numericDates.flatMap((date) => timesOfDay.slice(1).map((time) => date + time)),
  ...namedDates.flatMap((date) => timesOfDay.map((time) => date + time)),
];

/** The same pattern with its numeric day and month swapped, for patterns that start with either; null for the others. */
function swappedDayMonth(format: DateFormat): DateFormat | null {
  const match = /^(DD|MM)([/.-])(DD|MM)\2/.exec(format);
  if (!match || match[1] === match[3]) return null;
  return `${match[3]}${match[2]}${match[1]}${format.slice(5)}`;
}

/**
 * True when the samples read as well with day and month swapped (no day above 12 among them): the
 * detected format's order is then an assumption, which the preview says.
 */
export function isDayMonthOrderAssumed(samples: string[], format: DateFormat | null): boolean {
  const swapped = format ? swappedDayMonth(format) : null;
  if (!format || !swapped || !dateFormats.includes(swapped)) return false;
  const values = samples.map((s) => foldText(s.trim())).filter(Boolean);
  return values.filter((value) => parseFolded(value, swapped) !== null).length === values.filter((value) => parseFolded(value, format) !== null).length;
}

/**
 * The date format of a column from sample values: the format that reads the most samples, the earlier
 * in the list on a tie (day-first before month-first, as most of our customers write). So one bad value
 * does not hide the column's format, "03/04/2025" alone is read day-first, and a "13/04/2025" or
 * "04/13/2025" in the sample settles the order.
 */
export function detectDateFormat(samples: string[], preferMonthFirst = false): DateFormat | null {
  const values = samples.map((s) => foldText(s.trim())).filter((value) => /\d/.test(value));
  if (values.length === 0) return null;
  const order = preferMonthFirst ? monthFirstOrder() : dateFormats;
  let best: DateFormat | null = null;
  let bestCount = 0;
  for (const format of order) {
    const count = values.filter((value) => parseFolded(value, format) !== null).length;
    if (count > bestCount) {
      best = format;
      bestCount = count;
    }
  }
  return best;
}

/** The detection order with each day-first format and its month-first twin trading places. */
function monthFirstOrder(): DateFormat[] {
  const order = [...dateFormats];
  order.forEach((format, i) => {
    const swapped = swappedDayMonth(format);
    const j = swapped ? order.indexOf(swapped) : -1;
    if (format.startsWith('DD') && j > i) [order[i], order[j]] = [order[j]!, order[i]!];
  });
  return order;
}
