import type { HeaderMapping, DataType } from './templates.js';
import { templates } from './templates.js';
import { parseDateAs, type DateFormat } from '../files/dates.js';
import { parseDecimal, type DecimalMark } from '../files/numbers.js';

export interface RowIssue {
  row: number;
  column: string;
  value: string;
  reason: string;
}

export type NormalizedValue = string | null;

export interface NormalizedRow {
  rowNumber: number;
  original: Record<string, string>;
  normalized: Record<string, NormalizedValue>;
  issues: RowIssue[];
}

export type RowNormalizer = (rowNumber: number, cells: string[], keepOriginal: boolean) => NormalizedRow;

/** A column's problem with one cell: the row it is on is added by whoever reads the row. */
export type CellIssue = Omit<RowIssue, 'row'>;

/** One cell checked against its template column: the value it loads as, and what is wrong with it. */
export type CellNormalizer = (cell: string) => { value: NormalizedValue; issues: CellIssue[] };

/** How a file writes its columns, found from its first rows: each date column's format, each number column's decimal mark. */
export interface ColumnFormats {
  dates: Map<string, DateFormat | null>;
  /** Date columns whose day/month order is assumed: their first rows read either way. */
  assumedDayMonthOrder: Set<string>;
  decimalMarks: Map<string, DecimalMark>;
}

/**
 * The check of each column the file has, as a function of the cell alone: text trimmed, numbers as exact
 * decimal strings read with the column's decimal mark and within its bounds, dates as ISO dates in the
 * column's detected format, and the sign rules. Every problem names the column, the value and why. A row's
 * check is its cells' checks; the commit checks each distinct value of a column once.
 */
export function createCellNormalizers(dataType: DataType, mapping: HeaderMapping, formats: ColumnFormats): Map<string, CellNormalizer> {
  const normalizers = new Map<string, CellNormalizer>();
  for (const column of templates[dataType]) {
    if (!mapping.columns.has(column.name)) continue;
    const format = column.kind === 'date' ? (formats.dates.get(column.name) ?? null) : null;
    const decimalMark = formats.decimalMarks.get(column.name);
    const parse = column.kind === 'decimal' ? (raw: string) => parseDecimal(raw, decimalMark) : column.kind === 'date' && format ? (raw: string) => parseDateAs(raw, format) : null;
    const reason =
      column.kind === 'decimal'
        ? 'is not a number'
        : format
          ? `is not a date in the format ${format} used by this column (type the format the file uses in the preview if another one reads it)`
          : 'is not a date we can read: type the format the file uses in the preview (for example DD/MM/YYYY or MMM D, YYYY)';
    const mustNotBeNegative = (dataType === 'sales' && (column.name === 'price' || column.name === 'discount')) || (dataType === 'costs' && column.name === 'cost');
    normalizers.set(column.name, (cell) => {
      const raw = cell.trim();
      if (raw === '') return { value: null, issues: column.required ? [{ column: column.name, value: raw, reason: 'is empty' }] : [] };
      if (column.kind === 'text') {
        const value = WHITESPACE_RUN.test(raw) ? raw.replace(/\s+/g, ' ') : raw;
        return { value, issues: value.includes(LOST_CHARACTER) ? [{ column: column.name, value: raw, reason: LOST_CHARACTER_REASON }] : [] };
      }
      const value = parse ? parse(raw) : null;
      if (value === null) return { value, issues: [{ column: column.name, value: raw, reason }] };
      if (column.max !== undefined && Math.abs(Number(value)) > column.max) return { value, issues: [{ column: column.name, value: raw, reason: `is too large (at most ${column.max.toLocaleString('en-US')}): check the decimal mark and that the columns are not swapped` }] };
      // A negative price shows the cell as written; a negative discount or cost its number.
      if (mustNotBeNegative && value.startsWith('-')) return { value, issues: [{ column: column.name, value: column.name === 'price' ? cell : value, reason: 'must not be negative' }] };
      return { value, issues: [] };
    });
  }
  return normalizers;
}

/**
 * Checks file rows against their template, cell by cell (`createCellNormalizers`). The original values are
 * kept when asked (the preview shows them; the commit does not need them).
 */
export function createRowNormalizer(dataType: DataType, headers: string[], mapping: HeaderMapping, formats: ColumnFormats): RowNormalizer {
  const cellNormalizers = createCellNormalizers(dataType, mapping, formats);
  const columns = templates[dataType].map((column) => ({ name: column.name, index: mapping.columns.get(column.name), normalize: cellNormalizers.get(column.name) }));
  return (rowNumber, cells, keepOriginal) => {
    const original: Record<string, string> = {};
    if (keepOriginal) {
      headers.forEach((header, index) => {
        if (header) original[header] = cells[index] ?? '';
      });
    }
    const normalized: Record<string, NormalizedValue> = {};
    const issues: RowIssue[] = [];
    for (const column of columns) {
      if (column.index === undefined || !column.normalize) {
        normalized[column.name] = null;
        continue;
      }
      const cell = column.normalize(cells[column.index] ?? '');
      normalized[column.name] = cell.value;
      for (const issue of cell.issues) issues.push({ row: rowNumber, ...issue });
    }
    return { rowNumber, original, normalized, issues };
  };
}

/** U+FFFD, which a program writes for a character it could not read: the letter is lost, not stored. */
const LOST_CHARACTER = '\uFFFD';
const LOST_CHARACTER_REASON = 'has a character that was lost before this file was written (shown as �): correct the text in the file, or skip the row';

/** Whitespace that normalising would change: runs, or anything but a plain space. */
const WHITESPACE_RUN = /\s\s|[^\S ]/;
