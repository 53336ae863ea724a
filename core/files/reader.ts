import { AppError } from '../errors.js';
import { openCsv } from './csv.js';
import { readHead, startsWith, type ReadableFile } from './file.js';
import { columnCheck, type ReadLimits, type Table } from './table.js';
import { ZIP_MAGIC, openXlsx, refuseOtherContainers } from './workbook.js';

/**
 * Opens a CSV (any of our encodings and delimiters) or the first sheet of an XLSX workbook as a
 * stream of rows. Memory stays flat: rows are produced as the bytes arrive.
 */
export async function openTable(source: ReadableFile, limits: ReadLimits = {}): Promise<Table> {
  const head = await readHead(source.open(), 64 * 1024);
  if (head.length === 0) throw new AppError('validation_failed', `${source.filename} is empty. Upload a file with a header row and at least one data row.`);
  const checkColumns = columnCheck(source.filename, limits.maxColumns);
  if (startsWith(head, ZIP_MAGIC)) return openXlsx(source, checkColumns);
  await refuseOtherContainers(source, head);
  return openCsv(source, head, checkColumns);
}
