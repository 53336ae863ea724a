import type { HeaderMapping, DataType } from './templates.js';
import { templates } from './templates.js';
import { parseDateAs, parseDecimal, type DateFormat } from './values.js';

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

/** A parser that remembers its last few thousand answers: a column repeats the same prices and days a million times. */
function remembering(parse: (raw: string) => string | null): (raw: string) => string | null {
  const known = new Map<string, string | null>();
  return (raw) => {
    let value = known.get(raw);
    if (value === undefined) {
      value = parse(raw);
      if (known.size >= 10_000) known.clear();
      known.set(raw, value);
    }
    return value;
  };
}

export type RowNormalizer = (rowNumber: number, cells: string[], keepOriginal: boolean) => NormalizedRow;

/**
 * Checks file rows against their template: text trimmed, numbers as exact decimal strings, dates as ISO
 * dates in the column's detected format. Every problem names the row, the column, the value and why. The
 * original values are kept when asked (the preview shows them; the commit does not need them).
 */
export function createRowNormalizer(dataType: DataType, headers: string[], mapping: HeaderMapping, dateFormats: Map<string, DateFormat | null>): RowNormalizer {
  const columns = templates[dataType].map((column) => {
    const format = column.kind === 'date' ? (dateFormats.get(column.name) ?? null) : null;
    const parse = column.kind === 'decimal' ? remembering(parseDecimal) : column.kind === 'date' && format ? remembering((raw) => parseDateAs(raw, format)) : null;
    const reason =
      column.kind === 'decimal' ? 'is not a number' : format ? `is not a date in the format ${format} used by this column` : 'is not a date we can read (use 2025-09-29 or 29/09/2025)';
    return { ...column, index: mapping.columns.get(column.name), parse, reason };
  });
  const priceIndex = mapping.columns.get('price');
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
      const raw = column.index === undefined ? '' : (cells[column.index] ?? '').trim();
      if (raw === '') {
        normalized[column.name] = null;
        if (column.required && column.index !== undefined) issues.push({ row: rowNumber, column: column.name, value: raw, reason: 'is empty' });
        continue;
      }
      if (column.kind === 'text') {
        normalized[column.name] = WHITESPACE_RUN.test(raw) ? raw.replace(/\s+/g, ' ') : raw;
        continue;
      }
      const value = column.parse ? column.parse(raw) : null;
      normalized[column.name] = value;
      if (value === null) issues.push({ row: rowNumber, column: column.name, value: raw, reason: column.reason });
    }
    if (dataType === 'sales') {
      const price = normalized.price;
      if (price !== null && price !== undefined && price.startsWith('-')) issues.push({ row: rowNumber, column: 'price', value: cells[priceIndex!] ?? price, reason: 'must not be negative' });
      const discount = normalized.discount;
      if (discount && discount.startsWith('-')) issues.push({ row: rowNumber, column: 'discount', value: discount, reason: 'must not be negative' });
    } else {
      const cost = normalized.cost;
      if (cost && cost.startsWith('-')) issues.push({ row: rowNumber, column: 'cost', value: cost, reason: 'must not be negative' });
    }
    return { rowNumber, original, normalized, issues };
  };
}

/** Whitespace that normalising would change: runs, or anything but a plain space. */
const WHITESPACE_RUN = /\s\s|[^\S ]/;
