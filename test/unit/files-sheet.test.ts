import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.js';
import { parseBooleanWord } from '../../core/files/booleans.js';
import { countingSource, fileInMemory, fileOnDisk } from '../../core/files/file.js';
import { parseDecimalIn } from '../../core/files/numbers.js';
import { readSheetRows, type ReadSheetOptions, type SheetRecord } from '../../core/files/sheet.js';
import { passwordProtected } from '../helpers/workbooks.js';

type Cell = ExcelJS.CellValue;

async function workbook(sheets: Record<string, Cell[][]>, edit?: (book: ExcelJS.Workbook) => void): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const sheet = book.addWorksheet(name);
    for (const row of rows) sheet.addRow(row);
  }
  edit?.(book);
  return Buffer.from(await book.xlsx.writeBuffer());
}

async function readAll(bytes: Buffer, options: ReadSheetOptions, filename = 'stock.xlsx'): Promise<{ sheet: string; records: SheetRecord[] }> {
  const rows = await readSheetRows(fileInMemory(filename, bytes), options);
  const records: SheetRecord[] = [];
  for await (const batch of rows.batches) records.push(...batch);
  return { sheet: rows.sheet, records };
}

/** The error a read fails with (opening or reading its rows). */
async function failure(bytes: Buffer, options: ReadSheetOptions, filename = 'stock.xlsx'): Promise<AppError> {
  try {
    await readAll(bytes, options, filename);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('the read succeeded');
}

const inventoryColumns: ReadSheetOptions['columns'] = {
  'Store Code': 'text',
  SKU: 'text',
  'Product Name': 'text',
  'On Hand': 'number',
  'Sold Last 30 Days': 'number',
  'Unit Cost': 'number',
};

describe('readSheetRows: a sheet as records keyed by normalised header', () => {
  it('matches headers ignoring case, spaces and underscores, ignores extra columns, and reads numbers exactly', async () => {
    const bytes = await workbook({
      Inventory: [
        ['store_code', 'Notes', 'SKU', 'PRODUCT NAME', 'OnHand', ' Sold Last 30 Days ', 'unit_cost'],
        ['S-001', 'ignored', 10042, 'Brake pads', 12, 30, 24.95],
        [],
        ['S-001', null, 'AB-7', 'Wiper blade', 0, '1,250', '3.10'],
      ],
    });
    const { sheet, records } = await readAll(bytes, { columns: inventoryColumns });
    expect(sheet).toBe('Inventory');
    expect(records).toEqual([
      { rowNumber: 2, values: { store_code: 'S-001', sku: '10042', product_name: 'Brake pads', on_hand: '12', sold_last_30_days: '30', unit_cost: '24.95' }, problems: [] },
      { rowNumber: 4, values: { store_code: 'S-001', sku: 'AB-7', product_name: 'Wiper blade', on_hand: '0', sold_last_30_days: '1250', unit_cost: '3.10' }, problems: [] },
    ]);
  });

  it('reads the first visible sheet, or the one named (ignoring case)', async () => {
    const bytes = await workbook({ Hidden: [['SKU'], ['H-1']], Stock: [['SKU'], ['S-1']], Suppliers: [['SKU'], ['P-1']] }, (book) => {
      book.getWorksheet('Hidden')!.state = 'hidden';
    });
    expect((await readAll(bytes, { columns: { SKU: 'text' } })).records[0]!.values.sku).toBe('S-1');
    const named = await readAll(bytes, { sheet: 'suppliers', columns: { SKU: 'text' } });
    expect(named.sheet).toBe('Suppliers');
    expect(named.records[0]!.values.sku).toBe('P-1');
  });

  it('dates: date cells, text dates in the column’s format, and dates computed by formulas', async () => {
    const bytes = await workbook({ PO: [['PO Number', 'Order Date', 'Expected Date'], ['PO-1', new Date(Date.UTC(2026, 10, 20)), '03/12/2026'], ['PO-2', new Date(Date.UTC(2026, 10, 21)), '25/12/2026']] }, (book) => {
      const cell = book.getWorksheet('PO')!.getCell('B4');
      cell.value = { formula: 'B3+1', result: 46348 } as ExcelJS.CellFormulaValue;
      cell.numFmt = 'yyyy-mm-dd';
      book.getWorksheet('PO')!.getCell('A4').value = 'PO-3';
    });
    const { records } = await readAll(bytes, { columns: { 'PO Number': 'text', 'Order Date': 'date', 'Expected Date': { kind: 'date', required: false } } });
    expect(records.map((record) => record.values)).toEqual([
      { po_number: 'PO-1', order_date: '2026-11-20', expected_date: '2026-12-03' },
      { po_number: 'PO-2', order_date: '2026-11-21', expected_date: '2026-12-25' },
      { po_number: 'PO-3', order_date: '2026-11-22', expected_date: null },
    ]);
  });

  it('an optional column the sheet lacks reads as null; a formula with its saved value reads as that value', async () => {
    const bytes = await workbook({ Master: [['SKU', 'Supplier', 'Lead Time Days'], ['A-1', 'Acme', null]] }, (book) => {
      book.getWorksheet('Master')!.getCell('C2').value = { formula: '2*7', result: 14 } as ExcelJS.CellFormulaValue;
    });
    const { records } = await readAll(bytes, { columns: { SKU: 'text', Supplier: 'text', 'Lead Time Days': 'number', MOQ: { kind: 'number', required: false } } });
    expect(records[0]!.values).toEqual({ sku: 'A-1', supplier: 'Acme', lead_time_days: '14', moq: null });
  });
});

describe('readSheetRows: bad workbooks are refused with what is wrong and what to do', () => {
  const good = () => workbook({ Inventory: [['SKU', 'On Hand'], ['A-1', 3]] });

  it('not a zip: a CSV renamed to .xlsx', async () => {
    const error = await failure(Buffer.from('SKU,On Hand\nA-1,3\n'), { columns: { SKU: 'text' } }, 'renamed.xlsx');
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toMatch(/^renamed\.xlsx is not an Excel workbook: an \.xlsx file is a zip archive, and this one is not .* save it as "Excel Workbook \(\.xlsx\)"/);
    expect(error.details).toMatchObject({ reason: 'not_a_zip' });
  });

  it('password-protected, an old .xls, an empty file, a cut-off workbook', async () => {
    const locked = await failure(passwordProtected(), { columns: { SKU: 'text' } }, 'locked.xlsx');
    expect(locked.message).toMatch(/^locked\.xlsx is protected with a password, and Backhouse cannot open it\. Open it in Excel, remove the password/);
    expect(locked.details).toMatchObject({ reason: 'password_protected' });
    const xls = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(xls, 0);
    expect((await failure(xls, { columns: { SKU: 'text' } }, 'old.xls')).message).toMatch(/^old\.xls is an old Excel \(\.xls\) workbook/);
    expect((await failure(Buffer.alloc(0), { columns: { SKU: 'text' } }, 'empty.xlsx')).message).toMatch(/^empty\.xlsx is empty/);
    const whole = await good();
    expect((await failure(whole.subarray(0, Math.floor(whole.length / 2)), { columns: { SKU: 'text' } }, 'cut.xlsx')).message).toMatch(/^cut\.xlsx is damaged or incomplete/);
  });

  it('no sheet of that name: the sheets it has are listed', async () => {
    const error = await failure(await workbook({ Stock: [['SKU'], ['A']], Notes: [['x']] }), { sheet: 'Inventory', columns: { SKU: 'text' } });
    expect(error.message).toBe('stock.xlsx has no sheet named “Inventory” (its sheets: “Stock”, “Notes”). Rename the sheet that holds the data to “Inventory”, save the workbook and send it again.');
    expect(error.details).toMatchObject({ sheets_found: ['Stock', 'Notes'] });
  });

  it('missing columns: every one named, with the headers found', async () => {
    const error = await failure(await workbook({ Inventory: [['Store', 'SKU', 'On-Hand Qty'], ['S-1', 'A', 1]] }), { columns: inventoryColumns });
    expect(error.message).toMatch(/^stock\.xlsx's sheet “Inventory” is missing the columns “Store Code”, “Product Name”, “On Hand”, “Sold Last 30 Days”, “Unit Cost”\. Its first row has: “Store”, “SKU”, “On-Hand Qty”\. Headers are matched ignoring case, spaces and underscores/);
    expect(error.details).toMatchObject({ reason: 'missing_columns', missing_columns: ['Store Code', 'Product Name', 'On Hand', 'Sold Last 30 Days', 'Unit Cost'] });
  });

  it('two columns that both match one header are refused as ambiguous', async () => {
    const error = await failure(await workbook({ S: [['SKU', 'Qty', 'sku '], ['A', 1, 'B']] }), { columns: { SKU: 'text' } });
    expect(error.message).toMatch(/has 2 columns named like “SKU” \(columns A, C\)/);
  });

  it('a formula saved without its value (written by a program that does not calculate)', async () => {
    const bytes = await workbook({ Inventory: [['SKU', 'On Hand'], ['A-1', 3], ['A-2', null]] }, (book) => {
      book.getWorksheet('Inventory')!.getCell('B3').value = { formula: 'B2*2' } as ExcelJS.CellFormulaValue;
    });
    // exceljs writes no <v> for a formula without a result, as a program that does not calculate does.
    const xml = await (await JSZip.loadAsync(bytes)).file('xl/worksheets/sheet1.xml')!.async('string');
    expect(xml).toMatch(/<c r="B3"[^>]*><f>B2\*2<\/f><\/c>/);
    const error = await failure(bytes, { columns: { SKU: 'text', 'On Hand': 'number' } });
    expect(error.message).toMatch(/^stock\.xlsx's sheet “Inventory” has a formula in cell B3 \(=B2\*2\) whose value was never calculated.* Open the workbook in Excel \(or LibreOffice\), let it calculate, save it and send it again/);
    expect(error.details).toMatchObject({ reason: 'formula_without_value', cell: 'B3' });
  });

  it('dates written as serial numbers: the day they would be is named, and the fix', async () => {
    const error = await failure(await workbook({ PO: [['PO Number', 'Order Date'], ['PO-1', 46346]] }), { columns: { 'PO Number': 'text', 'Order Date': 'date' } });
    expect(error.message).toBe(
      'stock.xlsx\'s sheet “PO”, cell B2 (Order Date, row 2): 46346 is a number, not a date (as an Excel date, 2026-11-20): the Order Date column is formatted as a number, so Excel shows its dates as serial numbers. Select the column, format it as a date (Format Cells › Date), save the workbook and send it again.',
    );
    expect(error.details).toMatchObject({ reason: 'date_as_number', row: 2, column: 'Order Date' });
    // Even when bad cells are only reported: the whole column is formatted wrong.
    expect((await failure(await workbook({ PO: [['Order Date'], [46346]] }), { columns: { 'Order Date': 'date' }, invalidCells: 'report' })).details).toMatchObject({ reason: 'date_as_number' });
  });

  it('a cell that is not what its column holds fails the read, or is reported with the row kept', async () => {
    const bytes = await workbook({ Inventory: [['SKU', 'On Hand'], ['A-1', 3], ['A-2', 'lots'], ['A-3', 5]] });
    const error = await failure(bytes, { columns: { SKU: 'text', 'On Hand': 'number' } });
    expect(error.message).toBe('stock.xlsx\'s sheet “Inventory”, cell B3 (On Hand, row 3): “lots” is not a number. Write a plain number in this cell (for example 12 or 3.50).');
    const { records } = await readAll(bytes, { columns: { SKU: 'text', 'On Hand': 'number' }, invalidCells: 'report' });
    expect(records.map((record) => [record.values.on_hand, record.problems.map((problem) => problem.column)])).toEqual([
      ['3', []],
      [null, ['On Hand']],
      ['5', []],
    ]);
  });

  it('a file larger than allowed is refused before it is opened; an empty sheet is named', async () => {
    const bytes = await good();
    const tooLarge = await failure(bytes, { columns: { SKU: 'text' }, maxBytes: 1000 });
    expect(tooLarge.code).toBe('payload_too_large');
    expect(tooLarge.message).toMatch(/^stock\.xlsx is .* MB, larger than the 0 MB a workbook may be/);
    expect((await failure(await workbook({ Blank: [] }), { columns: { SKU: 'text' } })).message).toMatch(/^stock\.xlsx's sheet “Blank” is empty/);
  });
});

describe('readSheetRows streams', () => {
  let dir: string;
  let path: string;
  const rowCount = 100_000;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'files-sheet-'));
    path = join(dir, 'big.xlsx');
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: false, useStyles: false });
    const sheet = writer.addWorksheet('Inventory');
    sheet.addRow(['Store Code', 'SKU', 'Product Name', 'On Hand', 'Sold Last 30 Days', 'Unit Cost']).commit();
    for (let i = 1; i <= rowCount; i++) sheet.addRow(['S-001', `SKU-${i}`, `Product number ${i}`, i % 97, i % 13, (i % 1000) / 100]).commit();
    await sheet.commit();
    await writer.commit();
  }, 120_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('a 100,000-row workbook: its first rows arrive when little of it has been read, and every row is read once', async () => {
    const file = countingSource(await fileOnDisk(path));
    const rows = await readSheetRows(file, { columns: inventoryColumns });
    let firstBatchAt: number | undefined;
    let count = 0;
    let onHand = 0n;
    const skus = new Set<string>();
    for await (const batch of rows.batches) {
      firstBatchAt ??= file.bytesRead();
      for (const record of batch) {
        count++;
        onHand += BigInt(record.values.on_hand!);
        skus.add(record.values.sku!);
      }
    }
    expect(count).toBe(rowCount);
    expect(skus.size).toBe(rowCount);
    let expected = 0n;
    for (let i = 1; i <= rowCount; i++) expected += BigInt(i % 97);
    expect(onHand).toBe(expected);
    // Streaming: the first batch came from the start of the sheet's part, not from a workbook read whole.
    // (read-ahead of the streams between the file and the XML parser is a few hundred KB, whatever the size)
    expect(firstBatchAt!).toBeLessThan(file.byteSize / 4);
  }, 120_000);
});

describe('one list of true/false words, one locale-aware number reader', () => {
  it.each([
    ['Ja', true],
    [' TRUE ', true],
    ['0', false],
    ['faux', false],
    ['unpaid', false],
    ['maybe', null],
    ['', null],
  ])('%j reads as %j', (word, expected) => expect(parseBooleanWord(word)).toBe(expected));

  it.each([
    ['1,234.50', 'en', '1234.50'],
    ['1.234,50', 'de', '1234.50'],
    ['1’234.50', 'ch', '1234.50'],
    ['1.234,50', 'en', null],
    ['12,34,5', 'en', null],
    ['(1.000,00)', 'de', '-1000.00'],
    ['2.950', 'auto', '2950'],
  ] as const)('%s in %s reads as %j', (text, locale, expected) => expect(parseDecimalIn(text, locale)).toBe(expected));
});
