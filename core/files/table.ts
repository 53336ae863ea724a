import { AppError } from '../errors.js';
import type { TextDecoding, TextEncodingName } from './encoding.js';

export interface TableRow {
  /** Spreadsheet row number: the header is row 1, the first data row is row 2. */
  rowNumber: number;
  cells: string[];
}

/**
 * Rows read together, their numbers and cells side by side. A row is not an object of its own here: V8
 * allocates straight into the old generation from a site whose objects mostly outlive a young collection,
 * and a batch held across one (most likely the rows kept as a sample) sent every later row object there, and with them the
 * cells they point to, until a full collection: a million-row commit grew the heap by ~200 MB.
 */
export interface RowBatch {
  rowNumbers: number[];
  cells: string[][];
}

export interface Table {
  format: 'csv' | 'xlsx';
  /** A CSV's encoding: the one detected from its head, until bytes read later show another. */
  readonly encoding?: TextEncodingName;
  /** A CSV's decoding, whose encoding and warning are final once every row is read. */
  decoding?: TextDecoding;
  delimiter?: string;
  headers: string[];
  /** The rows in the batches they are read in: one promise per batch, not per row (a million rows). */
  batches: AsyncIterable<RowBatch>;
  /** The same rows one at a time. Both read the same stream: use one of the two. */
  rows: AsyncIterable<TableRow>;
  /** Stops reading (the preview reads only what it shows). */
  close(): void;
}

export interface ReadLimits {
  /**
   * Columns a row may have, to its last non-empty cell. A wider file is refused at its header, before its
   * rows are gathered: a 10,000-column file grew the process by 135 MB that was never given back.
   */
  maxColumns?: number;
}


/** Refuses a row with more than `maxColumns` columns (to its last non-empty cell): the first one read is the header. */
export function columnCheck(filename: string, maxColumns: number | undefined): (cells: string[], rowNumber: number) => void {
  let headerRead = false;
  return (cells, rowNumber) => {
    const isHeader = !headerRead;
    headerRead = true;
    if (maxColumns === undefined || cells.length <= maxColumns) return;
    let columns = cells.length;
    while (columns > 0 && cells[columns - 1]!.trim() === '') columns--;
    if (columns <= maxColumns) return;
    const count = columns.toLocaleString('en');
    const limit = maxColumns.toLocaleString('en');
    throw new AppError(
      'validation_failed',
      isHeader
        ? `${filename} has ${count} columns, more than the ${limit} a file may have. Keep only the columns you need (delete the others, or copy those into a new sheet) and upload it again.`
        : `Row ${rowNumber} of ${filename} has ${count} cells, more than the ${limit} columns a file may have. Check that row: its delimiters may be wrong, or cells may have been pasted past the table.`,
      { max_columns: maxColumns, columns_found: columns, row: rowNumber },
    );
  };
}

export const isBlank = (cells: string[]) => cells.every((cell) => cell.trim() === '');

/** Batches of rows, one row at a time (for readers of a few rows: the preview, samples). */
export async function* eachRow(batches: AsyncIterable<RowBatch>): AsyncGenerator<TableRow> {
  for await (const batch of batches) {
    for (let i = 0; i < batch.cells.length; i++) yield { rowNumber: batch.rowNumbers[i]!, cells: batch.cells[i]! };
  }
}

/** A table over its batches, with the row-at-a-time view of them. */
export function tableOf(table: Omit<Table, 'rows' | 'encoding'>): Table {
  const { decoding } = table;
  return {
    ...table,
    get encoding() {
      return decoding?.encoding;
    },
    rows: eachRow(table.batches),
  };
}

/** The header row and the rows after it. */
export async function withHeaders(table: Table): Promise<Table> {
  const iterator = table.batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new AppError('validation_failed', 'The file has no header row. The first row must name the columns, for example: product_name, quantity, price, transaction_date.');
  const rest: RowBatch = { rowNumbers: first.value.rowNumbers.slice(1), cells: first.value.cells.slice(1) };
  return tableOf({
    ...table,
    headers: first.value.cells[0]!.map((cell) => cell.trim()),
    batches: (async function* () {
      if (rest.cells.length > 0) yield rest;
      yield* { [Symbol.asyncIterator]: () => iterator };
    })(),
  });
}
