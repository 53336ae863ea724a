import { AppError } from '../errors.js';
import { eachRow, openTable, withHeaders, type FileSource, type RowBatch, type Table, type TableRow } from './reader.js';
import { createRowNormalizer, type NormalizedRow } from './rows.js';
import { mapHeaders, templates, type DataType, type HeaderMapping } from './templates.js';
import { detectDateFormat, type DateFormat } from './values.js';

/** A feed file opened against its template: headers mapped, date formats detected from a sample. */
export interface FeedTable {
  table: Table;
  mapping: HeaderMapping;
  dateFormats: Map<string, DateFormat | null>;
  /** The rows read to detect formats; they are yielded again first by `rows()`. */
  sample: TableRow[];
  /** Every row as the file has it, unchecked, in the batches it is read in (the commit checks them itself). */
  batches(): AsyncGenerator<RowBatch>;
  /** Every row, checked; with the original values when `keepOriginal` (the preview shows them). */
  rows(keepOriginal: boolean): AsyncGenerator<NormalizedRow>;
}

/**
 * Opens an upload for a data type. A file whose header lacks a required column is refused here with
 * the columns it has and the ones it needs, before any row is read.
 */
export async function openFeedTable(dataType: DataType, source: FileSource, sampleSize: number): Promise<FeedTable> {
  const table = await withHeaders(await openTable(source));
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
  const dateFormats = new Map<string, DateFormat | null>();
  for (const column of templates[dataType].filter((c) => c.kind === 'date')) {
    const index = mapping.columns.get(column.name);
    if (index === undefined) continue;
    dateFormats.set(column.name, detectDateFormat(sample.map((row) => row.cells[index] ?? '')));
  }
  const normalize = createRowNormalizer(dataType, table.headers, mapping, dateFormats);
  async function* batches(): AsyncGenerator<RowBatch> {
    if (sample.length > 0) yield { rowNumbers: sample.map((row) => row.rowNumber), cells: sample.map((row) => row.cells) };
    if (unsampled.cells.length > 0) yield unsampled;
    yield* { [Symbol.asyncIterator]: () => iterator };
  }
  return {
    table,
    mapping,
    dateFormats,
    sample,
    batches,
    async *rows(keepOriginal) {
      for await (const row of eachRow(batches())) yield normalize(row.rowNumber, row.cells, keepOriginal);
    },
  };
}
