import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { normaliseHeader } from '../pipeline.js';
import { columnName, openWorkbookRows, type CellValue, type SheetRows } from './workbook.js';

/** A column of a pipeline's input format: the header people write, and the zod schema of its cell. */
export interface FormatColumn {
  header: string;
  cell: z.ZodType;
  /**
   * The cell's value without its schema, for the common well-formed cells (a whole number in range, a plain
   * text), or {@link NOT_PLAIN} to let the schema decide (and word the problem). Must agree with `cell` on
   * every value it answers: it only spares the schema's cost, paid on every cell of every row.
   */
  plain?: (value: CellValue) => unknown;
  /** Optional columns are read when present (extra columns are otherwise ignored). */
  optional?: boolean;
}

export interface FileFormat<Row> {
  /** What the file is, for messages: "store inventory workbook". */
  title: string;
  columns: Record<keyof Row & string, FormatColumn>;
  /** The whole row, once each cell has passed its column's schema. */
  row: z.ZodType<Row>;
}

/** Where each column of the format is in the header row; a missing column fails with what is there. */
export function matchColumns<Row>(format: FileFormat<Row>, header: CellValue[], filename: string): Map<string, number> {
  const positions = new Map<string, number>();
  header.forEach((cell, index) => {
    if (cell === null) return;
    const key = normaliseHeader(String(cell));
    if (key && !positions.has(key)) positions.set(key, index);
  });
  const found = new Map<string, number>();
  const missing: string[] = [];
  for (const [key, column] of Object.entries(format.columns) as [string, FormatColumn][]) {
    const at = positions.get(normaliseHeader(column.header));
    if (at !== undefined) found.set(key, at);
    else if (!column.optional) missing.push(column.header);
  }
  if (missing.length > 0) {
    const present = header.filter((cell) => cell !== null && String(cell).trim() !== '').map((cell) => `“${String(cell).trim()}”`);
    throw new AppError(
      'validation_failed',
      `${filename} is not a ${format.title}: its first row lacks the column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `“${m}”`).join(', ')} (it has ${present.length ? present.join(', ') : 'no column names'}). The first row must name the columns ${(Object.values(format.columns) as FormatColumn[]).filter((c) => !c.optional).map((c) => c.header).join(', ')}.`,
      { missing },
    );
  }
  return found;
}

export interface RowProblem {
  row: number;
  column: string;
  message: string;
}

/** Problems kept with a failed file, with their count: enough to correct the file, never the whole file. */
const PROBLEMS_KEPT = 20;

/**
 * The format's rows from a sheet: the first non-empty row is the header, empty rows are skipped, every cell
 * is checked. Rows that pass are yielded as they are read; a file with any bad cell fails once the sheet has
 * been read, naming the first problems (row, column, what is wrong), so the whole file is corrected at once.
 */
export async function* readFormatRows<Row>(format: FileFormat<Row>, sheet: SheetRows, filename: string): AsyncGenerator<{ rowNumber: number; row: Row }> {
  let positions: Map<string, number> | null = null;
  const problems: RowProblem[] = [];
  let problemCount = 0;
  let dataRows = 0;
  const entries = Object.entries(format.columns) as [string, FormatColumn][];
  try {
    for await (const { rowNumber, values } of sheet.rows) {
      if (values.every((value) => value === null || (typeof value === 'string' && value.trim() === ''))) continue;
      if (!positions) {
        positions = matchColumns(format, values, filename);
        continue;
      }
      dataRows++;
      const record: Record<string, unknown> = {};
      let rowOk = true;
      for (const [key, column] of entries) {
        const at = positions.get(key);
        const raw = at === undefined ? null : (values[at] ?? null);
        const plain = column.plain ? column.plain(raw) : NOT_PLAIN;
        if (plain !== NOT_PLAIN) {
          record[key] = plain;
          continue;
        }
        const parsed = column.cell.safeParse(raw);
        if (parsed.success) record[key] = parsed.data;
        else {
          rowOk = false;
          problemCount++;
          if (problems.length < PROBLEMS_KEPT) problems.push({ row: rowNumber, column: `${column.header} (${columnName(at ?? 0)})`, message: parsed.error.issues[0]?.message ?? 'is not valid' });
        }
      }
      if (!rowOk) continue;
      const whole = format.row.safeParse(record);
      if (!whole.success) {
        problemCount++;
        if (problems.length < PROBLEMS_KEPT) problems.push({ row: rowNumber, column: '', message: whole.error.issues[0]?.message ?? 'is not valid' });
        continue;
      }
      yield { rowNumber, row: whole.data };
    }
  } finally {
    sheet.close();
  }
  if (!positions) throw new AppError('validation_failed', `${filename}'s sheet “${sheet.sheetName}” is empty. A ${format.title} has the column names in its first row and one row per line below.`);
  if (dataRows === 0) throw new AppError('validation_failed', `${filename} has column names but no rows below them.`);
  if (problemCount > 0) {
    const first = problems.slice(0, 3).map((p) => `row ${p.row}${p.column ? `, ${p.column}` : ''}: ${p.message}`).join('; ');
    throw new AppError('validation_failed', `${filename} has ${problemCount} bad cell${problemCount > 1 ? 's' : ''} (${first}${problemCount > 3 ? '; …' : ''}). Correct them and put the file in the folder again; its other rows were not loaded either, so the file loads whole.`, { problems });
  }
}

/** A {@link FormatColumn.plain} answer: this cell goes through the column's schema. */
export const NOT_PLAIN = Symbol('not plain');

const blank = (value: CellValue) => value === null || (typeof value === 'string' && value.trim() === '');

/** Text from a text or number cell (a SKU typed as 1001 is "1001"). */
export const textCell = (what: string) =>
  z.preprocess((value: CellValue) => (blank(value) ? undefined : value instanceof Date ? value.toISOString().slice(0, 10) : String(value).trim()), z.string({ error: `is empty: every row needs ${what}` }).min(1).max(200, `is longer than 200 characters: is it really ${what}?`));

/** Text that may be left empty. */
export const optionalTextCell = z.preprocess((value: CellValue) => (blank(value) ? null : String(value).trim()), z.string().max(200, 'is longer than 200 characters').nullable());

/** A number from a number cell or text such as "1,234" (thousands marks and spaces dropped). */
function numberOf(value: CellValue): unknown {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const text = value.trim().replace(/[\s,']/g, '');
    return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : value;
  }
  return value === null ? undefined : value;
}

/** Text cells as {@link textCell} reads them when they are not blank and at most 200 characters. */
export function plainText(value: CellValue): unknown {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : null;
  return text !== null && text.length > 0 && text.length <= 200 ? text : NOT_PLAIN;
}

/** Whole-number cells as {@link unitsCell}(`min`) reads them. */
export const plainUnits = (min: number) => (value: CellValue): unknown => (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= 1e9 ? value : NOT_PLAIN);

/** Number cells with at most two decimals, as {@link centsCell} reads them: cents from the digits, exactly. */
export function plainCents(value: CellValue): unknown {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1e10)) return NOT_PLAIN;
  const digits = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(value));
  return digits ? Number(digits[1]) * 100 + Number((digits[2] ?? '').padEnd(2, '0')) : NOT_PLAIN;
}

/** Whole units, at least `min`. */
export const unitsCell = (min: number) =>
  z.preprocess(numberOf, z.number({ error: 'is not a number of units' }).int('is not a whole number of units').min(min, `must be ${min} or more`).max(1e9, 'is more than 1,000,000,000 units'));

/** Money as integer cents from a number cell or text such as "$1,234.50" (never through float arithmetic). */
export const centsCell = z.preprocess(
  (value: CellValue) => {
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().replace(/[\s,$€£]/g, '') : null;
    if (text === null || !/^\d+(\.\d+)?(e-?\d+)?$/i.test(text)) return value === null ? undefined : value;
    return new Decimal(text).times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
  },
  z.number({ error: 'is not an amount (write it as 12.50)' }).int().min(0, 'must not be negative').max(1e12, 'is too large for a unit cost'),
);

/** Excel counts days from 1899-12-30; serials in this range are 1990-01-01 … 2099-12-31. */
const SERIAL_FIRST = 32874;
const SERIAL_LAST = 73415;

/**
 * A business day as YYYY-MM-DD: a date cell, a date serial number (a date cell saved without its date
 * format), or text written YYYY-MM-DD. Anything else is refused rather than guessed (03/04 is March or April).
 */
export const dateCell = (what: string) =>
  z.preprocess(
    (value: CellValue) => {
      if (value instanceof Date) return value.toISOString().slice(0, 10);
      if (typeof value === 'number' && Number.isInteger(value) && value >= SERIAL_FIRST && value <= SERIAL_LAST) return new Date(Date.UTC(1899, 11, 30) + value * 86_400_000).toISOString().slice(0, 10);
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return value.trim();
      return value === null ? undefined : value;
    },
    z.iso.date({ error: `is not a date: write ${what} as a date cell or as YYYY-MM-DD` }),
  );

export const optionalDateCell = (what: string) => z.preprocess((value: CellValue) => (blank(value) ? null : value), dateCell(what).nullable());

/** The format's rows of a workbook file on local disk (a pipeline's `read`). */
export async function* readFormatFile<Row>(format: FileFormat<Row>, file: { path: string; name: string }): AsyncGenerator<{ rowNumber: number; row: Row }> {
  yield* readFormatRows(format, await openWorkbookRows(file.path, file.name), file.name);
}

/** The business day a file name carries (`…_2026-11-20.xlsx` or `…_20261120.xlsx`), or null. */
export function dateInFileName(fileName: string): string | null {
  const found = /(?:^|[^\d])(\d{4})-?(\d{2})-?(\d{2})(?:[^\d]|$)/.exec(fileName);
  if (!found) return null;
  const iso = `${found[1]}-${found[2]}-${found[3]}`;
  const date = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(iso) ? iso : null;
}
