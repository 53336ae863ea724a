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

/**
 * One file row checked against its template: text trimmed, numbers as exact decimal strings, dates as
 * ISO dates in the column's detected format. Every problem names the row, the column, the value and why.
 */
export function normalizeRow(dataType: DataType, headers: string[], mapping: HeaderMapping, dateFormats: Map<string, DateFormat | null>, rowNumber: number, cells: string[]): NormalizedRow {
  const original: Record<string, string> = {};
  headers.forEach((header, index) => {
    if (header) original[header] = cells[index] ?? '';
  });
  const normalized: Record<string, NormalizedValue> = {};
  const issues: RowIssue[] = [];
  for (const column of templates[dataType]) {
    const index = mapping.columns.get(column.name);
    const raw = index === undefined ? '' : (cells[index] ?? '').trim();
    if (raw === '') {
      normalized[column.name] = null;
      if (column.required && index !== undefined) issues.push({ row: rowNumber, column: column.name, value: raw, reason: 'is empty' });
      continue;
    }
    if (column.kind === 'text') {
      normalized[column.name] = raw.replace(/\s+/g, ' ');
    } else if (column.kind === 'decimal') {
      const value = parseDecimal(raw);
      normalized[column.name] = value;
      if (value === null) issues.push({ row: rowNumber, column: column.name, value: raw, reason: 'is not a number' });
    } else {
      const format = dateFormats.get(column.name) ?? null;
      const value = format ? parseDateAs(raw, format) : null;
      normalized[column.name] = value;
      if (value === null) issues.push({ row: rowNumber, column: column.name, value: raw, reason: format ? `is not a date in the format ${format} used by this column` : 'is not a date we can read (use 2025-09-29 or 29/09/2025)' });
    }
  }
  if (dataType === 'sales') {
    const price = normalized.price;
    if (price !== null && price !== undefined && price.startsWith('-')) issues.push({ row: rowNumber, column: 'price', value: original[headerOf(headers, mapping, 'price')] ?? price, reason: 'must not be negative' });
    const discount = normalized.discount;
    if (discount && discount.startsWith('-')) issues.push({ row: rowNumber, column: 'discount', value: discount, reason: 'must not be negative' });
  } else {
    const cost = normalized.cost;
    if (cost && cost.startsWith('-')) issues.push({ row: rowNumber, column: 'cost', value: cost, reason: 'must not be negative' });
  }
  return { rowNumber, original, normalized, issues };
}

function headerOf(headers: string[], mapping: HeaderMapping, column: string): string {
  const index = mapping.columns.get(column);
  return index === undefined ? column : (headers[index] ?? column);
}
