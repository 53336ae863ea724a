import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { normaliseHeader, type FilePeek } from './pipeline.js';

const textExtensions = new Set(['.csv', '.txt', '.tsv']);

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    const cell = value as { text?: unknown; result?: unknown; richText?: { text: string }[] };
    if (Array.isArray(cell.richText)) return cell.richText.map((part) => part.text).join('');
    if (cell.result !== undefined) return cellText(cell.result);
    if (typeof cell.text === 'string') return cell.text;
  }
  return String(value).trim();
}

function peekOf(fileName: string, rows: string[][]): FilePeek {
  const headers = rows[0] ?? [];
  const data = rows[1];
  const firstRow = data ? Object.fromEntries(headers.map((header, at) => [normaliseHeader(header), data[at] ?? ''])) : null;
  return { fileName, headers, firstRow };
}

/**
 * The first two rows of a file (headers, first data row) for routing: CSV by its extension, else the first
 * sheet of an XLSX workbook, streamed and left after two rows. A file that cannot be read gets a `problem`.
 */
export async function peekFile(filePath: string, fileName: string): Promise<FilePeek> {
  try {
    if (textExtensions.has(path.extname(fileName).toLowerCase())) {
      const rows: string[][] = [];
      const parser = fs.createReadStream(filePath, { end: 256 * 1024 }).pipe(parse({ bom: true, relax_column_count: true, relax_quotes: true, delimiter: fileName.toLowerCase().endsWith('.tsv') ? '\t' : ',', to_line: 2 }));
      for await (const record of parser as AsyncIterable<string[]>) rows.push(record.map((cell) => cell.trim()));
      return peekOf(fileName, rows);
    }
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(filePath, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
    const rows: string[][] = [];
    for await (const sheet of reader) {
      for await (const row of sheet) {
        const values = (row.values as unknown[]).slice(1);
        rows.push(values.map(cellText));
        if (rows.length >= 2) break;
      }
      break;
    }
    if (rows.length === 0) return { fileName, headers: [], firstRow: null, problem: 'The workbook has no rows on its first sheet.' };
    return peekOf(fileName, rows);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { fileName, headers: [], firstRow: null, problem: `The file could not be read as a table (${reason}).` };
  }
}
