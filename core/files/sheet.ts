import { AppError } from '../errors.js';
import { detectDateFormat, parseDateAs, type DateFormat } from './dates.js';
import { readHead, startsWith, type ReadableFile } from './file.js';
import { normaliseHeader } from './headers.js';
import { parseDecimal } from './numbers.js';
import { cellText, excelSerialToDate, openSheet, refuseOtherContainers, rowValues, ZIP_MAGIC, type CellValue, type Sheet } from './workbook.js';

/**
 * What a column holds: `text` (trimmed), `number` (an exact decimal string, never a float: "1234.5"), or
 * `date` (an ISO date, "2026-11-20": a date cell, or text in one format per column, as feeds read it).
 */
export type SheetColumnKind = 'text' | 'number' | 'date';

export interface SheetColumn {
  kind: SheetColumnKind;
  /** A workbook without this column is refused (default true); an optional one missing reads as null. */
  required?: boolean;
}

export interface ReadSheetOptions {
  /** The sheet to read, by name (ignoring case); the first visible sheet when not given. */
  sheet?: string;
  /**
   * The columns to read, by the header a person sees ("Store Code", "Qty Ordered"). Headers are matched
   * ignoring case, spaces, underscores and punctuation ("store_code", "STORE CODE", "StoreCode"); other
   * columns are ignored. Each row's values are keyed by the normalised header (`store_code`).
   */
  columns: Record<string, SheetColumnKind | SheetColumn>;
  /**
   * `fail` (the default): the first cell that is not what its column holds fails the read, naming the row,
   * the column and the value. `report`: the row is kept with that value null and the problem listed.
   */
  invalidCells?: 'fail' | 'report';
  /** The largest file read, in bytes: a larger one is refused before it is opened. */
  maxBytes?: number;
}

export interface CellProblem {
  row: number;
  column: string;
  value: string;
  message: string;
}

export interface SheetRecord {
  /** The row's number in the sheet, as Excel shows it (the header is usually row 1). */
  rowNumber: number;
  /** Normalised header → value; null for an empty cell (or an optional column the sheet does not have). */
  values: Record<string, string | null>;
  /** Cells refused under `invalidCells: 'report'`, their values null. */
  problems: CellProblem[];
}

export interface SheetRows {
  /** The name of the sheet read. */
  sheet: string;
  /** The sheet's header row as written. */
  headers: string[];
  /** The rows after the header in batches (blank rows skipped), read as the workbook streams. */
  batches: AsyncIterable<SheetRecord[]>;
  /** Stops reading. */
  close(): void;
}

/** The key headers are compared by: normalised, without its underscores ("Store Code", "storecode" → "storecode"). */
const matchKey = (header: string) => normaliseHeader(header).replace(/_/g, '');

/** Rows handed on together: exceljs reads them one by one. */
const BATCH_ROWS = 512;

/**
 * Reads one sheet of an .xlsx workbook as records keyed by normalised header, streaming: a workbook of any
 * number of rows is never whole in memory. Refused with a message saying what is wrong and what to do: a file
 * that is no .xlsx (not a zip archive, an old .xls, password-protected), a sheet it does not have, missing
 * columns, formulas saved without their values, dates written as serial numbers, and (unless reported)
 * cells that are not what their column holds.
 */
export async function readSheetRows(file: ReadableFile, options: ReadSheetOptions): Promise<SheetRows> {
  if (options.maxBytes !== undefined && file.byteSize > options.maxBytes) {
    throw new AppError('payload_too_large', `${file.filename} is ${megabytes(file.byteSize)} MB, larger than the ${megabytes(options.maxBytes)} MB a workbook may be. Split it into smaller workbooks.`, {
      reason: 'too_large',
      bytes: file.byteSize,
      max_bytes: options.maxBytes,
    });
  }
  const head = await readHead(file.open(), 4096);
  if (head.length === 0) throw new AppError('validation_failed', `${file.filename} is empty. Send an .xlsx workbook with a header row and the data under it.`, { reason: 'empty' });
  if (!startsWith(head, ZIP_MAGIC)) {
    await refuseOtherContainers(file, head);
    throw new AppError(
      'unsupported_media_type',
      `${file.filename} is not an Excel workbook: an .xlsx file is a zip archive, and this one is not (it may be a CSV or another file renamed to .xlsx, or cut off at its start). Open it in Excel and save it as "Excel Workbook (.xlsx)", then send it again.`,
      { reason: 'not_a_zip' },
    );
  }
  const sheet = await openSheet(file, options.sheet);
  try {
    return await readRecords(file.filename, sheet, options);
  } catch (error) {
    sheet.close();
    throw error;
  }
}

interface WantedColumn {
  header: string;
  key: string;
  kind: SheetColumnKind;
  /** The column's index in the sheet; undefined for an optional column it does not have. */
  index: number | undefined;
  /** A text date column's format, from the first rows. */
  dateFormat?: DateFormat | null;
}

async function readRecords(filename: string, sheet: Sheet, options: ReadSheetOptions): Promise<SheetRows> {
  const rows = sheet.rows[Symbol.asyncIterator]();
  let headerRow: { number: number; cells: CellValue[] } | undefined;
  for (let next = await rows.next(); !next.done; next = await rows.next()) {
    const cells = rowValues(next.value, sheet, filename);
    if (cells.some((cell) => cellText(cell).trim() !== '')) {
      headerRow = { number: next.value.number, cells };
      break;
    }
  }
  if (!headerRow) throw new AppError('validation_failed', `${filename}'s sheet “${sheet.name}” is empty. Put the column names in its first row and the data under them, then send it again.`, { reason: 'empty_sheet', sheet: sheet.name });
  const headers = headerRow.cells.map((cell) => cellText(cell).trim());
  const wanted = matchColumns(filename, sheet.name, headers, options.columns);
  const where = { filename, sheet, invalidCells: options.invalidCells ?? 'fail' } as const;

  async function* batches(): AsyncGenerator<SheetRecord[]> {
    let pending: { number: number; cells: CellValue[] }[] = [];
    let formatsKnown = false;
    const flush = (): SheetRecord[] => {
      if (!formatsKnown) {
        // Text dates are read in one format per column, found from the first rows ("03/04/2026" means the same day on every row).
        for (const column of wanted) {
          if (column.kind !== 'date' || column.index === undefined) continue;
          const samples = pending.map((row) => row.cells[column.index!]).filter((cell): cell is string => typeof cell === 'string' && cell.trim() !== '');
          column.dateFormat = samples.length > 0 ? detectDateFormat(samples.map((sample) => sample.trim())) : null;
        }
        formatsKnown = true;
      }
      const records = pending.map((row) => recordOf(row.number, row.cells, wanted, where));
      pending = [];
      return records;
    };
    for (let next = await rows.next(); !next.done; next = await rows.next()) {
      const cells = rowValues(next.value, sheet, filename);
      if (cells.every((cell) => cellText(cell).trim() === '')) continue;
      pending.push({ number: next.value.number, cells });
      if (pending.length === BATCH_ROWS) yield flush();
    }
    if (pending.length > 0) yield flush();
  }
  return { sheet: sheet.name, headers, batches: batches(), close: () => sheet.close() };
}

/** The wanted columns' places among the headers; missing required columns and ambiguous headers are refused. */
function matchColumns(filename: string, sheetName: string, headers: string[], columns: ReadSheetOptions['columns']): WantedColumn[] {
  const keys = headers.map(matchKey);
  const wanted: WantedColumn[] = [];
  const missing: string[] = [];
  for (const [header, spec] of Object.entries(columns)) {
    const { kind, required = true } = typeof spec === 'string' ? { kind: spec } : spec;
    const places = keys.flatMap((key, index) => (key !== '' && key === matchKey(header) ? [index] : []));
    if (places.length > 1) {
      throw new AppError(
        'validation_failed',
        `${filename}'s sheet “${sheetName}” has ${places.length} columns named like “${header}” (columns ${places.map(columnLetter).join(', ')}). Keep one of them, save the workbook and send it again.`,
        { reason: 'duplicate_columns', sheet: sheetName, column: header },
      );
    }
    if (places.length === 0 && required) missing.push(header);
    wanted.push({ header, key: normaliseHeader(header), kind, index: places[0] });
  }
  if (missing.length > 0) {
    const found = headers.filter((header) => header !== '');
    throw new AppError(
      'validation_failed',
      `${filename}'s sheet “${sheetName}” is missing the column${missing.length > 1 ? 's' : ''} ${missing.map((name) => `“${name}”`).join(', ')}. Its first row has: ${found.map((name) => `“${name}”`).join(', ') || 'nothing'}. Headers are matched ignoring case, spaces and underscores; add or rename the column${missing.length > 1 ? 's' : ''} and send the workbook again.`,
      { reason: 'missing_columns', sheet: sheetName, missing_columns: missing, found_columns: found },
    );
  }
  return wanted;
}

function recordOf(rowNumber: number, cells: CellValue[], wanted: WantedColumn[], where: { filename: string; sheet: Sheet; invalidCells: 'fail' | 'report' }): SheetRecord {
  const values: Record<string, string | null> = {};
  const problems: CellProblem[] = [];
  for (const column of wanted) {
    const cell = column.index === undefined ? null : (cells[column.index] ?? null);
    const read = readCell(cell, column, where.sheet.date1904);
    if ('problem' in read) {
      const problem: CellProblem = { row: rowNumber, column: column.header, value: cellText(cell), message: read.problem };
      const cellAddress = `${columnLetter(column.index!)}${rowNumber}`;
      if (read.fatal || where.invalidCells === 'fail') {
        throw new AppError('validation_failed', `${where.filename}'s sheet “${where.sheet.name}”, cell ${cellAddress} (${column.header}, row ${rowNumber}): ${read.problem}`, { reason: read.fatal ?? 'invalid_cell', sheet: where.sheet.name, ...problem, cell: cellAddress });
      }
      problems.push(problem);
      values[column.key] = null;
    } else values[column.key] = read.value;
  }
  return { rowNumber, values, problems };
}

type CellReading = { value: string | null } | { problem: string; fatal?: 'date_as_number' };

function readCell(cell: CellValue, column: WantedColumn, date1904: boolean): CellReading {
  if (cell === null || (typeof cell === 'string' && cell.trim() === '')) return { value: null };
  switch (column.kind) {
    case 'text':
      return { value: typeof cell === 'number' ? numberText(cell) : cellText(cell).trim() };
    case 'number': {
      if (typeof cell === 'number') return { value: numberText(cell) };
      if (typeof cell === 'string') {
        const decimal = parseDecimal(cell);
        if (decimal !== null) return { value: decimal };
      }
      return { problem: `“${cellText(cell)}” is not a number. Write a plain number in this cell (for example 12 or 3.50).` };
    }
    case 'date': {
      if (cell instanceof Date) return { value: cell.toISOString().slice(0, 10) };
      if (typeof cell === 'number') {
        // A date column formatted as a number (or "General") shows Excel's day count: the day cannot be told
        // from a quantity, so the workbook is refused as a whole rather than read as the wrong thing.
        const asDate = Number.isFinite(cell) && cell > 0 && cell < 2_958_466 ? ` (as an Excel date, ${excelSerialToDate(cell, date1904).toISOString().slice(0, 10)})` : '';
        return {
          problem: `${numberText(cell)} is a number, not a date${asDate}: the ${column.header} column is formatted as a number, so Excel shows its dates as serial numbers. Select the column, format it as a date (Format Cells › Date), save the workbook and send it again.`,
          fatal: 'date_as_number',
        };
      }
      if (typeof cell === 'string') {
        const iso = column.dateFormat ? parseDateAs(cell.trim(), column.dateFormat) : null;
        if (iso) return { value: iso };
        const how = column.dateFormat ? ` in the column's format (${column.dateFormat})` : '';
        return { problem: `“${cell}” is not a date${how}. Write dates as 2026-11-20, or format the column as a date in Excel.` };
      }
      return { problem: `“${cellText(cell)}” is not a date.` };
    }
  }
}

/** A number as an exact decimal string: never an exponent ("1e21", "5e-7"). */
function numberText(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/** A 0-based column index as Excel's letters: 0 → A, 27 → AB. */
function columnLetter(index: number): string {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 });
