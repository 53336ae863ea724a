import { fileOnDisk, openTable } from '../files/index.js';
import { normaliseHeader, type FilePeek } from './pipeline.js';

/**
 * The first two rows of a file (headers, first data row) for routing, read by `core/files` (the one file
 * reader: CSV in any of its encodings and delimiters, or the first visible sheet of an XLSX workbook, streamed
 * and left after two rows). A file that cannot be read as a table gets a `problem` saying why.
 */
export async function peekFile(filePath: string, fileName: string): Promise<FilePeek> {
  const rows: string[][] = [];
  try {
    const table = await openTable(await fileOnDisk(filePath, fileName));
    try {
      // core/files goes by the content; a file named as a workbook that is not one is refused, not read as text.
      if (/\.xls[xm]$/i.test(fileName) && table.format !== 'xlsx') throw new Error(`${fileName} is not an .xlsx workbook (an .xlsx file is a zip archive, and this one is not)`);
      for await (const row of table.rows) {
        rows.push(row.cells.map((cell) => cell.trim()));
        if (rows.length >= 2) break;
      }
    } finally {
      table.close();
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { fileName, headers: [], firstRow: null, problem: `The file could not be read as a table (${reason}).` };
  }
  const [headers, data] = rows;
  if (!headers) return { fileName, headers: [], firstRow: null, problem: 'The file has no rows: its first row must name the columns.' };
  const firstRow = data ? Object.fromEntries(headers.map((header, at) => [normaliseHeader(header), data[at] ?? ''])) : null;
  return { fileName, headers, firstRow };
}
