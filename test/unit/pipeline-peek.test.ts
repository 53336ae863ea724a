import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { peekFile } from '../../core/pipelines/peek.js';
import { routeFile } from '../../core/pipelines/registry.js';
import { passwordProtected } from '../helpers/workbooks.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-peek-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('peekFile (routing reads a file through core/files)', () => {
  it('reads the headers and first data row of the first visible sheet of a workbook, and routes it by them', async () => {
    const book = new ExcelJS.Workbook();
    const hidden = book.addWorksheet('Notes');
    hidden.state = 'hidden';
    hidden.addRow(['not', 'this']);
    const sheet = book.addWorksheet('Stock');
    sheet.addRow(['Store Code', 'SKU', 'Product Name', 'On Hand', 'Sold Last 30 Days', 'Unit Cost', 'Aisle']);
    sheet.addRow(['S007', 'SKU-1', 'Flour', 12, 30, 1.25, 'B4']);
    sheet.addRow(['S007', 'SKU-2', 'Sugar', 3, 9, 0.8, 'B5']);
    const file = path.join(dir, 'whatever name.xlsx');
    await book.xlsx.writeFile(file);
    const peek = await peekFile(file, 'whatever name.xlsx');
    expect(peek.problem).toBeUndefined();
    expect(peek.headers).toEqual(['Store Code', 'SKU', 'Product Name', 'On Hand', 'Sold Last 30 Days', 'Unit Cost', 'Aisle']);
    expect(peek.firstRow).toMatchObject({ storecode: 'S007', sku: 'SKU-1', productname: 'Flour', onhand: '12' });
    expect(routeFile(peek)?.name).toBe('stock_health');
  });

  it('reads CSVs in other delimiters and encodings the way feeds do', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Store Code;SKU;Qty\r\nS01;Café-1;4\r\n', 'utf16le')]);
    const peek = await peekFile(write('counts.csv', utf16), 'counts.csv');
    expect(peek).toEqual({ fileName: 'counts.csv', headers: ['Store Code', 'SKU', 'Qty'], firstRow: { storecode: 'S01', sku: 'Café-1', qty: '4' } });
    const headerOnly = await peekFile(write('header-only.csv', 'Name,Day\n'), 'header-only.csv');
    expect(headerOnly).toEqual({ fileName: 'header-only.csv', headers: ['Name', 'Day'], firstRow: null });
  });

  it('says why a file cannot be read as a table instead of throwing', async () => {
    const notWorkbook = await peekFile(write('broken.xlsx', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 7)])), 'broken.xlsx');
    expect(notWorkbook.headers).toEqual([]);
    expect(notWorkbook.problem).toMatch(/^The file could not be read as a table \(.+\)\.$/);
    const text = await peekFile(write('inventory_S002.xlsx', 'Store Code,SKU\nS002,SKU-1\n'), 'inventory_S002.xlsx');
    expect(text).toMatchObject({ headers: [], problem: 'The file could not be read as a table (inventory_S002.xlsx is not an .xlsx workbook (an .xlsx file is a zip archive, and this one is not)).' });
    // Claimed by its name alone: its file job then fails with the reading problem instead of the file going unrouted.
    expect(routeFile(text)).not.toBeNull();
    const locked = await peekFile(write('locked.xlsx', passwordProtected()), 'locked.xlsx');
    expect(locked.problem).toMatch(/password/i);
    const empty = await peekFile(write('empty.csv', ''), 'empty.csv');
    expect(empty.problem).toMatch(/empty/);
  });
});
