import { AppError } from '../errors.js';
import type { ReadableFile } from '../files/file.js';
import { openTable } from '../files/reader.js';
import { eachRow, withHeaders, type ReadLimits, type RowBatch, type Table, type TableRow } from '../files/table.js';
import { createRowNormalizer, type ColumnFormats, type NormalizedRow } from './rows.js';
import { mapHeaders, templates, type DataType, type HeaderMapping } from './templates.js';
import { detectDateFormat, isDayMonthOrderAssumed, type DateFormat } from '../files/dates.js';
import { detectDecimalMark, type DecimalMark } from '../files/numbers.js';

/** A feed file opened against its template: headers mapped, date formats and decimal marks detected from a sample. */
export interface FeedTable {
  table: Table;
  mapping: HeaderMapping;
  formats: ColumnFormats;
  /** The rows read to detect formats; they are yielded again first by `rows()`. */
  sample: TableRow[];
  /** Every row as the file has it, unchecked, in the batches it is read in (the commit checks them itself). */
  batches(): AsyncGenerator<RowBatch>;
  /** Every row, checked; with the original values when `keepOriginal` (the preview shows them). */
  rows(keepOriginal: boolean): AsyncGenerator<NormalizedRow>;
}

/**
 * Opens an upload for a data type. A file whose header lacks a required column is refused here with
 * the columns it has and the ones it needs, before any row is read. `dateFormat`, when a person gave one,
 * reads the date column instead of the format detected from the sample.
 */
export async function openFeedTable(dataType: DataType, source: ReadableFile, sampleSize: number, dateFormat: DateFormat | null = null, limits: ReadLimits = {}): Promise<FeedTable> {
  const table = await withHeaders(await openTable(source, limits));
  const mapping = mapHeaders(dataType, table.headers);
  if (mapping.missing.length > 0) {
    table.close();
    throw new AppError('validation_failed', `${source.filename} is missing the column${mapping.missing.length > 1 ? 's' : ''} ${mapping.missing.join(', ')}. Rename your headers or download the ${dataType} template.`, {
      missing_columns: mapping.missing,
      found_columns: table.headers,
      required_columns: templates[dataType].filter((c) => c.required).map((c) => c.name),
    });
  }
  const iterator = table.batches[Symbol.asyncIterator]();
  const sample: TableRow[] = [];
  // The rows of the last batch read that the sample did not take.
  let unsampled: RowBatch = { rowNumbers: [], cells: [] };
  while (sample.length < sampleSize) {
    const next = await iterator.next();
    if (next.done) break;
    const room = sampleSize - sample.length;
    for (let i = 0; i < Math.min(room, next.value.cells.length); i++) sample.push({ rowNumber: next.value.rowNumbers[i]!, cells: next.value.cells[i]! });
    unsampled = { rowNumbers: next.value.rowNumbers.slice(room), cells: next.value.cells.slice(room) };
  }
  const samplesOf = (index: number) => sample.map((row) => row.cells[index] ?? '');
  const dates = new Map<string, DateFormat | null>();
  const assumedDayMonthOrder = new Set<string>();
  const decimalMarks = new Map<string, DecimalMark>();
  const numberColumns: { name: string; mark: DecimalMark | null }[] = [];
  for (const column of templates[dataType]) {
    const index = mapping.columns.get(column.name);
    if (index === undefined) continue;
    if (column.kind === 'date') {
      const format = dateFormat ?? detectDateFormat(samplesOf(index));
      dates.set(column.name, format);
      if (!dateFormat && isDayMonthOrderAssumed(samplesOf(index), format)) assumedDayMonthOrder.add(column.name);
    }
    if (column.kind === 'decimal') numberColumns.push({ name: column.name, mark: detectDecimalMark(samplesOf(index)) });
  }
  // A column whose numbers show no mark of their own ("1.000", whole numbers) is read as the file's other
  // number columns are written; failing those, as its delimiter suggests (";" files write "3,20").
  const fileMark = detectDecimalMark(numberColumns.flatMap(({ name }) => samplesOf(mapping.columns.get(name)!))) ?? (table.delimiter === ';' ? ',' : '.');
  for (const { name, mark } of numberColumns) decimalMarks.set(name, mark ?? fileMark);
  const formats: ColumnFormats = { dates, assumedDayMonthOrder, decimalMarks };
  const normalize = createRowNormalizer(dataType, table.headers, mapping, formats);
  async function* batches(): AsyncGenerator<RowBatch> {
    if (sample.length > 0) yield { rowNumbers: sample.map((row) => row.rowNumber), cells: sample.map((row) => row.cells) };
    if (unsampled.cells.length > 0) yield unsampled;
    yield* { [Symbol.asyncIterator]: () => iterator };
  }
  return {
    table,
    mapping,
    formats,
    sample,
    batches,
    async *rows(keepOriginal) {
      for await (const row of eachRow(batches())) yield normalize(row.rowNumber, row.cells, keepOriginal);
    },
  };
}
