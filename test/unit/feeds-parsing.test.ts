import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { detectEncoding } from '../../core/files/encoding.js';
import { ProductMatcher, similarity } from '../../core/feeds/matching.js';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { sniffDelimiter } from '../../core/files/csv.js';
import { openTable } from '../../core/files/reader.js';
import { withHeaders } from '../../core/files/table.js';
import { normaliseHeader } from '../../core/files/headers.js';
import { mapHeaders, templateCsv } from '../../core/feeds/templates.js';
import { openFeedTable } from '../../core/feeds/table.js';
import { checkDateFormat, detectDateFormat, isDayMonthOrderAssumed, parseDateAs } from '../../core/files/dates.js';
import { detectDecimalMark, parseDecimal } from '../../core/files/numbers.js';
import { fixturePath, fixtureSource, memorySource } from '../helpers/feeds.js';


/** Every row's cells of a file held in memory (see memorySource for the options). */
async function cellsOfFile(filename: string, bytes: Buffer, options: { pieceSize?: number; failAfter?: number } = {}): Promise<string[][]> {
  const table = await openTable(memorySource(filename, bytes, options));
  const rows: string[][] = [];
  for await (const row of table.rows) rows.push(row.cells);
  return rows;
}

async function readAll(name: string) {
  const table = await withHeaders(await openTable(fixtureSource(name)));
  const rows: string[][] = [];
  for await (const row of table.rows) rows.push(row.cells);
  return { table, rows };
}

describe('locale-safe numbers', () => {
  it.each([
    ['1,234.50', '1234.50'],
    ['1.234,50', '1234.50'],
    ['$1,234.50', '1234.50'],
    ['€ 1.234,50', '1234.50'],
    ['(12.00)', '-12.00'],
    ['-3', '-3'],
    ['12-', '-12'],
    ['12,5', '12.5'],
    ['0.75', '0.75'],
    ['1,000,000', '1000000'],
    ['1.000', '1000'],
    ['2', '2'],
    ["1'234.5", '1234.5'],
    ['007', '7'],
    ['12%', '12'],
    ['', null],
    ['ten', null],
    ['1,2,3', null],
    ['1.2.3,4,5', null],
  ])('%s → %s', (raw, expected) => {
    expect(parseDecimal(raw)).toBe(expected);
  });

  it.each([
    ['2.950', '.', '2.950'],
    ['2.950', ',', '2950'],
    ['3,205', ',', '3.205'],
    ['3,205', '.', '3205'],
    ['1.000', '.', '1.000'],
    ['1,234.50', ',', '1234.50'],
    ['12,50', '.', '12.50'],
    ['1.000.000', '.', '1000000'],
  ] as const)('%s with the column’s decimal mark %s → %s (the mark settles only a single mark before three digits)', (raw, mark, expected) => {
    expect(parseDecimal(raw, mark)).toBe(expected);
  });

  it('finds a column’s decimal mark from the numbers that show one, and none from numbers that could be either', () => {
    expect(detectDecimalMark(['3.20', '2.950', '4'])).toBe('.');
    expect(detectDecimalMark(['3,20', '1.234,50', '3,205'])).toBe(',');
    expect(detectDecimalMark(['1.000.000', '2'])).toBe(',');
    expect(detectDecimalMark(['1.000', '2,500', '7'])).toBeNull();
    expect(detectDecimalMark(['', 'n/a'])).toBeNull();
  });

  /** Each row's checked numbers, as a preview or a commit reads the fixture. */
  async function numbersOf(name: string) {
    const feed = await openFeedTable('sales', fixtureSource(name), 50);
    const read: { quantity: string | null; price: string | null; issues: number }[] = [];
    for await (const row of feed.rows(false)) read.push({ quantity: row.normalized.quantity!, price: row.normalized.price!, issues: row.issues.length });
    feed.table.close();
    return { marks: Object.fromEntries(feed.formats.decimalMarks), read };
  }

  it('reads "2.950" and "1.000" as the file writes its other numbers (regression: read as 2950 and 1000)', async () => {
    await expect(numbersOf('sales-ambiguous-marks.csv')).resolves.toEqual({
      marks: { quantity: '.', price: '.' },
      read: [
        { quantity: '1.000', price: '3.20', issues: 0 },
        { quantity: '2', price: '2.950', issues: 0 },
        { quantity: '3', price: '1250.00', issues: 0 },
      ],
    });
  });

  it('reads "3,205" as 3.205 in a semicolon file whose prices are written "3,20", and "1.500" there as 1500', async () => {
    await expect(numbersOf('sales-semicolon-ambiguous-marks.csv')).resolves.toEqual({
      marks: { quantity: ',', price: ',' },
      read: [
        { quantity: '1', price: '3.205', issues: 0 },
        { quantity: '1500', price: '3.20', issues: 0 },
      ],
    });
  });
});

describe('dates', () => {
  it.each([
    ['2025-09-29', 'YYYY-MM-DD', '2025-09-29'],
    ['29/09/2025', 'DD/MM/YYYY', '2025-09-29'],
    ['09/29/2025', 'MM/DD/YYYY', '2025-09-29'],
    ['29.09.2025', 'DD.MM.YYYY', '2025-09-29'],
    ['2025/9/1', 'YYYY/MM/DD', '2025-09-01'],
    ['20250929', 'YYYYMMDD', '2025-09-29'],
    ['2025-09-29T14:30:00Z', 'ISO-8601 timestamp', '2025-09-29'],
    ['45929', 'excel-serial', '2025-09-29'],
    ['2025-02-30', 'YYYY-MM-DD', null],
    ['31/04/2025', 'DD/MM/YYYY', null],
  ] as const)('%s as %s → %s', (raw, format, expected) => {
    expect(parseDateAs(raw, format)).toBe(expected);
  });

  // The forms real exports write (regression: each was refused, and every row of a file with them was invalid).
  it.each([
    ['Nov 18, 2026', 'MMM D, YYYY', '2026-11-18'],
    ['November 18, 2026', 'MMM D, YYYY', '2026-11-18'],
    ['18-Nov-26', 'DD-MMM-YY', '2026-11-18'],
    ['29 November 2026', 'D MMMM YYYY', '2026-11-29'],
    ['29/11/2026 15:00', 'DD/MM/YYYY HH:mm', '2026-11-29'],
    ['11/29/2026 3:00 PM', 'MM/DD/YYYY h:mm A', '2026-11-29'],
    ['11/29/2026 11:59:59 pm', 'MM/DD/YYYY h:mm:ss A', '2026-11-29'],
    ['2026-07-14 12:32:00 -0500', 'ISO-8601 timestamp', '2026-07-14'],
    ['2026-07-14T23:30:00-05:00', 'ISO-8601 timestamp', '2026-07-14'],
    ['3. März 2026', 'D. MMMM YYYY', '2026-03-03'],
    ['3. MÄRZ 2026', 'D. MMMM YYYY', '2026-03-03'],
    ['14. Okt. 2026', 'D. MMMM YYYY', '2026-10-14'],
    ['1. Mrz 2026', 'D. MMMM YYYY', '2026-03-01'],
    ['15 janvier 2026', 'D MMMM YYYY', '2026-01-15'],
    ['15 févr. 2026', 'D MMMM YYYY', '2026-02-15'],
    ['1 août 2026', 'D MMMM YYYY', '2026-08-01'],
    ['5 de enero de 2026', 'D [de] MMMM [de] YYYY', '2026-01-05'],
    ['5 de sept. de 2026', 'D [de] MMMM [de] YYYY', '2026-09-05'],
    ['12 mei 2026', 'D MMMM YYYY', '2026-05-12'],
    ['12 mrt 2026', 'D MMMM YYYY', '2026-03-12'],
    ['Wednesday, November 18, 2026', 'dddd, MMMM D, YYYY', '2026-11-18'],
    // Formats people type: moment's and date-fns's tokens, literal text in brackets or quotes.
    ['2026.11.29', 'YYYY.MM.DD', '2026-11-29'],
    ['29-11-2026 07h30', 'dd-MM-yyyy HH[h]mm', '2026-11-29'],
    ['2026-11-29T07:30', "yyyy-MM-dd'T'HH:mm", '2026-11-29'],
    ['Nov 18th 2026', 'MMM Do YYYY', '2026-11-18'],
    ['261129', 'YYMMDD', '2026-11-29'],
    // Not dates: an impossible day, month name, hour or minute.
    ['Feb 30, 2026', 'MMM D, YYYY', null],
    ['18-Foo-26', 'DD-MMM-YY', null],
    ['11/29/2026 13:00 PM', 'MM/DD/YYYY h:mm A', null],
    ['29/11/2026 25:00', 'DD/MM/YYYY HH:mm', null],
    ['29/11/2026 15:61', 'DD/MM/YYYY HH:mm', null],
  ] as const)('%s as %s → %s', (raw, format, expected) => {
    expect(parseDateAs(raw, format)).toBe(expected);
  });

  it.each([
    [['Nov 18, 2026', 'Dec 1, 2026'], 'MMM D, YYYY'],
    [['18-Nov-26', '01-Dec-26'], 'DD-MMM-YY'],
    [['29 November 2026', '1 December 2026'], 'D MMMM YYYY'],
    [['29/11/2026 15:00', '30/11/2026 09:15'], 'DD/MM/YYYY HH:mm'],
    [['11/29/2026 3:00 PM', '11/30/2026 10:00 AM'], 'MM/DD/YYYY h:mm A'],
    [['2026-07-14 12:32:00 -0500'], 'ISO-8601 timestamp'],
    [['3. März 2026', '14. Okt. 2026'], 'D. MMMM YYYY'],
    [['15 janvier 2026', '2 févr. 2026'], 'D MMMM YYYY'],
    [['5 de enero de 2026', '12 de dic. de 2026'], 'D [de] MMMM [de] YYYY'],
    [['12 mei 2026', '3 okt 2026'], 'D MMMM YYYY'],
  ])('detects %j as %s', (samples, format) => {
    expect(detectDateFormat(samples)).toBe(format);
  });

  it.each([
    ['DD/MM', /must name a day, a month and a year/],
    ['DD/MM/YYYY hh:mm', /12-hour clock \(h or hh\) without AM\/PM/],
    ['QQ/MM/YYYY', /has “Q”, which is not a part of a date/],
  ])('refuses the format %s, saying what is wrong', (format, message) => {
    expect(() => checkDateFormat(format)).toThrow(message);
  });

  it('detects a column’s format from samples, settling day/month order when a sample shows it', () => {
    expect(detectDateFormat(['2025-09-01', '2025-09-13'])).toBe('YYYY-MM-DD');
    expect(detectDateFormat(['03/04/2025', '13/04/2025'])).toBe('DD/MM/YYYY');
    expect(detectDateFormat(['03/04/2025', '04/13/2025'])).toBe('MM/DD/YYYY');
    expect(detectDateFormat(['03/04/2025'])).toBe('DD/MM/YYYY');
    expect(detectDateFormat(['03/04/2025'], true)).toBe('MM/DD/YYYY');
    expect(detectDateFormat(['01.09.2025'])).toBe('DD.MM.YYYY');
    expect(detectDateFormat(['soon'])).toBeNull();
  });

  it('says when a column\'s day/month order is an assumption: every sample reads either way', () => {
    expect(isDayMonthOrderAssumed(['03/04/2025', '01/02/2025'], 'DD/MM/YYYY')).toBe(true);
    expect(isDayMonthOrderAssumed(['03/04/2025', '13/04/2025'], 'DD/MM/YYYY')).toBe(false);
    expect(isDayMonthOrderAssumed(['04/13/2025'], 'MM/DD/YYYY')).toBe(false);
    expect(isDayMonthOrderAssumed(['2025-04-03'], 'YYYY-MM-DD')).toBe(false);
    expect(isDayMonthOrderAssumed(['01.02.2025'], 'DD.MM.YYYY')).toBe(false);
  });
});

describe('headers', () => {
  it.each([
    ['Product Name', 'product_name'],
    ['product_name', 'product_name'],
    [' PRODUCT ', 'product'],
    ['Unit-Price (€)', 'unit_price'],
    ['Transaction Date', 'transaction_date'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseHeader(raw)).toBe(expected);
  });

  it('maps variants and synonyms onto the template, and names what is missing', () => {
    const mapping = mapHeaders('sales', ['PRODUCT', 'Qty', 'Unit Price', 'Date', 'Notes']);
    expect([...mapping.columns]).toEqual([['product_name', 0], ['quantity', 1], ['price', 2], ['transaction_date', 3]]);
    expect(mapping.unknown).toEqual(['Notes']);
    expect(mapHeaders('sales', ['product_name', 'quantity', 'transaction_date']).missing).toEqual(['price']);
  });

  it('offers a template with every column and an example row', () => {
    expect(templateCsv('sales').split('\r\n')[0]).toBe('product_name,quantity,price,transaction_date,discount,customer,channel,order_id');
    expect(templateCsv('costs').split('\r\n')[0]).toBe('product_name,cost,cost_date,cost_type');
  });
});

describe('encodings and delimiters', () => {
  it.each([
    [[0xef, 0xbb, 0xbf, 0x61], 'utf-8', 3],
    [[0xff, 0xfe, 0x61, 0x00], 'utf-16le', 2],
    [[0xfe, 0xff, 0x00, 0x61], 'utf-16be', 2],
    [[0x61, 0x00, 0x62, 0x00, 0x63, 0x00, 0x64, 0x00], 'utf-16le', 0],
    [[0x43, 0x72, 0xc3, 0xa8, 0x6d, 0x65], 'utf-8', 0],
    [[0x43, 0x72, 0xe8, 0x6d, 0x65], 'windows-1252', 0],
  ])('%j → %s', (bytes, encoding, bomLength) => {
    expect(detectEncoding(Uint8Array.from(bytes))).toEqual({ encoding, bomLength });
  });

  it.each([
    ['a,b,c\n1,2,3\n', ','],
    ['a;b;c\n1,5;2,5;3\n', ';'],
    ['a\tb\tc\n1\t2\t3\n', '\t'],
    ['"x,y";b\n"1,2";3\n', ';'],
  ])('%j → %j', (text, delimiter) => {
    expect(sniffDelimiter(text)).toBe(delimiter);
  });
});

describe('an accent far into a file', () => {
  /** ASCII rows up to about `at` bytes, then a row with "Café" in the given bytes, then more ASCII rows. */
  function lateAccentFile(at: number, cafe: Buffer, before = ''): Buffer {
    const lines = ['product_name,quantity,price,transaction_date'];
    if (before) lines.push(before);
    while (lines.join('\n').length < at) lines.push(`Croissant,1,2.95,2025-09-0${1 + (lines.length % 9)}`);
    return Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), cafe, Buffer.from(',1,2.95,2025-09-01\nCroissant,1,2.95,2025-09-02\n')]);
  }

  it('a Windows-1252 letter at byte 100 KB turns the rest of the file to Windows-1252, losing nothing', async () => {
    const bytes = lateAccentFile(100 * 1024, Buffer.from([0x43, 0x61, 0x66, 0xe9]));
    // In the pieces uploads are read in, so the letter comes many reads after the head.
    const table = await withHeaders(await openTable(memorySource('late.csv', bytes, { pieceSize: 32 * 1024 })));
    const names: string[] = [];
    for await (const row of table.rows) names.push(row.cells[0]!);
    expect(names).toContain('Café');
    expect(names.join('')).not.toContain('\uFFFD');
    expect(table.encoding).toBe('windows-1252');
    expect(table.decoding?.warning).toBeNull();
  });

  it('a UTF-8 file with a Windows-1252 letter far in is read without U+FFFD and says it mixes encodings', async () => {
    const bytes = lateAccentFile(100 * 1024, Buffer.from([0x43, 0x61, 0x66, 0xe9]), 'Crème brûlée,1,2.95,2025-09-01');
    const table = await withHeaders(await openTable(memorySource('mixed.csv', bytes, { pieceSize: 32 * 1024 })));
    const names: string[] = [];
    for await (const row of table.rows) names.push(row.cells[0]!);
    expect(names[0]).toBe('Crème brûlée');
    expect(names).toContain('Café');
    expect(names.join('')).not.toContain('\uFFFD');
    expect(table.decoding?.warning).toMatch(/not all UTF-8: from about byte [\d,]+ on it was read as Windows-1252/);
  });

  it('a UTF-8 letter at byte 100 KB stays UTF-8', async () => {
    const bytes = lateAccentFile(100 * 1024, Buffer.from('Café'));
    const table = await withHeaders(await openTable(memorySource('late-utf8.csv', bytes, { pieceSize: 1000 })));
    const names: string[] = [];
    for await (const row of table.rows) names.push(row.cells[0]!);
    expect(names).toContain('Café');
    expect(table.encoding).toBe('utf-8');
  });

  it('a cell holding U+FFFD is a problem of its row, not stored silently', async () => {
    const feed = await openFeedTable('sales', memorySource('lost.csv', Buffer.from('product_name,quantity,price,transaction_date,customer\nCaf\uFFFD,1,2.95,2025-09-01,Ann\nCroissant,1,2.95,2025-09-01,Jo\uFFFDl\n')), 50);
    const rows = [];
    for await (const row of feed.rows(false)) rows.push(row);
    expect(rows.map((row) => row.issues.map((issue) => `${issue.column}: ${issue.reason}`))).toEqual([
      ['product_name: has a character that was lost before this file was written (shown as �): correct the text in the file, or skip the row'],
      ['customer: has a character that was lost before this file was written (shown as �): correct the text in the file, or skip the row'],
    ]);
  });
});

describe('reading each fixture file', () => {
  it('UTF-8 with BOM, semicolons, decimal commas', async () => {
    const { table, rows } = await readAll('sales-bom-semicolon.csv');
    expect(table).toMatchObject({ encoding: 'utf-8', delimiter: ';', headers: ['Product Name', 'Quantity', 'Price', 'Transaction Date'] });
    expect(rows).toEqual([['Croissant', '1.000', '1.234,50', '01.09.2025'], ['Croissant', '2', '2,95', '13.09.2025']]);
  });

  it('UTF-16 with tabs and CRLF', async () => {
    const { table, rows } = await readAll('sales-utf16le.csv');
    expect(table).toMatchObject({ encoding: 'utf-16le', delimiter: '\t', headers: ['product_name', 'quantity', 'price', 'transaction_date'] });
    expect(rows).toHaveLength(2);
  });

  it('Windows-1252 with accents and currency symbols', async () => {
    const { table, rows } = await readAll('sales-windows1252.csv');
    expect(table.encoding).toBe('windows-1252');
    expect(rows[0]).toEqual(['Crème brûlée', '2', '$1,234.50', '09/13/2025']);
  });

  it('quoted fields with newlines, and empty trailing rows dropped', async () => {
    const { rows } = await readAll('sales-quoted-newlines.csv');
    expect(rows).toEqual([
      ['Croissant', '(2.00)', '2.95', '2025-09-05', 'refund,\r\nsecond line'],
      ['Croissant', '5', '2.95', '2025-09-05', ''],
    ]);
  });

  it('the first sheet of an XLSX workbook, formulas by their results, dates as dates', async () => {
    const { table, rows } = await readAll('sales.xlsx');
    expect(table.format).toBe('xlsx');
    expect(table.headers).toEqual(['Product Name', 'Quantity', 'Price', 'Transaction Date', 'Channel']);
    expect(rows).toEqual([['Croissant', '6', '2.95', '2025-09-06', 'Offline'], ['Croissant', '1', '2.95', '2025-09-07', 'Online']]);
  });

  it('refuses an old .xls and binary data with what to do instead', async () => {
    await expect(openTable(fixtureSource('old-excel.xls'))).rejects.toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/save it as \.xlsx or CSV/) });
    await expect(openTable(fixtureSource('binary.bin'))).rejects.toMatchObject({ code: 'unsupported_media_type' });
  });
});

describe('XLSX workbooks, read through the archive’s directory', () => {
  async function workbook(build: (book: ExcelJS.Workbook) => void): Promise<Buffer> {
    const book = new ExcelJS.Workbook();
    build(book);
    return Buffer.from(await book.xlsx.writeBuffer());
  }
  const cellsOf = (bytes: Buffer, options: { pieceSize?: number; failAfter?: number } = {}) => cellsOfFile('book.xlsx', bytes, options);

  it('reads the first sheet in tab order, wherever the archive stores it (regression: the sheet stored first was read)', async () => {
    const written = await workbook((book) => {
      book.addWorksheet('Other').addRow(['not', 'the', 'feed']);
      const feed = book.addWorksheet('Feed');
      feed.addRow(['product_name', 'quantity']);
      feed.addRow(['Croissant', 2]);
    });
    // The feed's tab moved to the front, as Excel saves it: the tab order changes, the parts stay where they were.
    const zip = await JSZip.loadAsync(written);
    const workbookXml = await zip.file('xl/workbook.xml')!.async('string');
    const [other, feed] = workbookXml.match(/<sheet [^>]*\/>/g)!;
    zip.file('xl/workbook.xml', workbookXml.replace(`${other}${feed}`, `${feed}${other}`));
    const bytes = await zip.generateAsync({ type: 'nodebuffer' });
    const stored = Object.keys((await JSZip.loadAsync(bytes)).files).filter((name) => name.startsWith('xl/worksheets/sheet'));
    expect(stored[0]).toBe('xl/worksheets/sheet1.xml');
    expect(feed).toContain('name="Feed"');
    expect(await cellsOf(bytes)).toEqual([['product_name', 'quantity'], ['Croissant', '2']]);
  });

  it('skips a chart tab in front: the first sheet read is the first one of cells', async () => {
    const written = await workbook((book) => {
      book.addWorksheet('Chart').addRow(['becomes a chart']);
      book.addWorksheet('Sales').addRow(['product_name']);
    });
    // The first tab made a chartsheet, as Excel stores a chart moved to a tab of its own.
    const zip = await JSZip.loadAsync(written);
    const rels = await zip.file('xl/_rels/workbook.xml.rels')!.async('string');
    const chartRel = rels.match(/<Relationship [^>]*Target="worksheets\/sheet1\.xml"[^>]*\/>/)![0];
    zip.file('xl/_rels/workbook.xml.rels', rels.replace(chartRel, chartRel.replace('relationships/worksheet', 'relationships/chartsheet').replace('worksheets/sheet1.xml', 'chartsheets/sheet1.xml')));
    zip.remove('xl/worksheets/sheet1.xml');
    zip.file('xl/chartsheets/sheet1.xml', '<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"/></sheetViews></chartsheet>');
    expect(await cellsOf(await zip.generateAsync({ type: 'nodebuffer' }))).toEqual([['product_name']]);
  });

  it('skips hidden sheets: the first sheet is the first one a person sees', async () => {
    const bytes = await workbook((book) => {
      const lookups = book.addWorksheet('Lookups');
      lookups.addRow(['code', 'name']);
      lookups.state = 'hidden';
      book.addWorksheet('Sales').addRow(['product_name']);
    });
    expect(await cellsOf(bytes)).toEqual([['product_name']]);
    const hiddenOnly = await workbook((book) => {
      const only = book.addWorksheet('Only');
      only.addRow(['x']);
      only.state = 'veryHidden';
    });
    await expect(cellsOf(hiddenOnly)).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/has no visible sheet of cells\. Unhide the sheet/) });
  });

  it('reads a workbook stored with xl/workbook.xml last, read after read (regression: exceljs#3064 lost the last entry now and then)', async () => {
    const bytes = fs.readFileSync(fixturePath('sales.xlsx'));
    expect(Object.keys((await JSZip.loadAsync(bytes)).files).at(-1)).toBe('xl/workbook.xml');
    for (let i = 0; i < 25; i++) expect(await cellsOf(bytes, { pieceSize: 997 })).toHaveLength(3);
  });

  it('reads a workbook written as a stream, whose parts give their sizes only after their data', async () => {
    const out = new PassThrough();
    const written: Buffer[] = [];
    out.on('data', (chunk: Buffer) => written.push(chunk));
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: true, useStyles: true });
    const sheet = writer.addWorksheet('Sales');
    sheet.addRow(['product_name', 'quantity', 'transaction_date']).commit();
    sheet.addRow(['Croissant', 2, new Date(Date.UTC(2025, 8, 6))]).commit();
    await sheet.commit();
    await writer.commit();
    const bytes = Buffer.concat(written);
    // General purpose flag bit 3: sizes and CRC in a data descriptor after the data, zeros in the local header.
    expect(bytes.readUInt16LE(6) & 0x08).toBe(0x08);
    expect(await cellsOf(bytes, { pieceSize: 512 })).toEqual([['product_name', 'quantity', 'transaction_date'], ['Croissant', '2', '2025-09-06']]);
  });

  it('a zip archive that is no workbook, and a cut-off workbook, are refused with what to do', async () => {
    const zip = new JSZip();
    zip.file('sales.csv', 'product_name,quantity\nCroissant,1\n');
    await expect(cellsOf(Buffer.from(await zip.generateAsync({ type: 'nodebuffer' })))).rejects.toMatchObject({
      code: 'unsupported_media_type',
      message: expect.stringMatching(/is a zip archive but not an Excel workbook .* Upload an \.xlsx workbook or a CSV file/),
    });
    const whole = fs.readFileSync(fixturePath('sales.xlsx'));
    await expect(cellsOf(whole.subarray(0, whole.length - 300))).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringMatching(/is damaged or incomplete: .* save it again as \.xlsx and upload that, or upload it as CSV/) });
  });

  it('refuses a workbook whose shared strings unpack to more than 64 MB, by the size its directory gives or by what it really unpacks to', async () => {
    const zip = await JSZip.loadAsync(await workbook((book) => book.addWorksheet('Sales').addRow(['product_name'])));
    const huge = `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${'<si><t>x</t></si>'.repeat(4_000_000)}</sst>`;
    zip.file('xl/sharedStrings.xml', huge, { compression: 'STORE' });
    const bytes = await zip.generateAsync({ type: 'nodebuffer' });
    const refusal = { code: 'validation_failed', message: expect.stringMatching(/book\.xlsx is too large to read as a workbook: its xl\/sharedStrings\.xml unpacks to more than 64 MB\. Save the sheet as CSV/) };
    await expect(cellsOf(bytes)).rejects.toMatchObject(refusal);

    // The archive's directory says the part is small: the bytes it unpacks to are counted all the same.
    const centralHeader = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
    const name = Buffer.from('xl/sharedStrings.xml');
    let patched = 0;
    for (let at = bytes.indexOf(centralHeader); at !== -1; at = bytes.indexOf(centralHeader, at + 1)) {
      // A central directory header: the uncompressed size at 24, the file name at 46.
      if (bytes.subarray(at + 46, at + 46 + name.length).equals(name)) {
        bytes.writeUInt32LE(1_000, at + 24);
        patched++;
      }
    }
    expect(patched).toBe(1);
    await expect(cellsOf(bytes)).rejects.toMatchObject(refusal);
  });

  it('refuses a row of the sheet that unpacks to more than 1 MB, and reads one under it', async () => {
    const streamed = async (note: string) => {
      const out = new PassThrough();
      const written: Buffer[] = [];
      out.on('data', (chunk: Buffer) => written.push(chunk));
      // Inline strings: the cells' text is in the sheet itself, not in the shared strings.
      const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false });
      const sheet = writer.addWorksheet('Sales');
      sheet.addRow(['product_name', 'note']).commit();
      sheet.addRow(['Croissant', 'fine']).commit();
      sheet.addRow(['Muffin', note]).commit();
      await sheet.commit();
      await writer.commit();
      return Buffer.concat(written);
    };
    await expect(cellsOf(await streamed('z'.repeat(3 * 1024 * 1024)), { pieceSize: 4096 })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/^The row after the first 2 rows of book\.xlsx's sheet unpacks to more than 1 MB: .* Save the sheet as CSV/),
    });
    const long = 'z'.repeat(900 * 1024);
    expect((await cellsOf(await streamed(long), { pieceSize: 4096 }))[2]).toEqual(['Muffin', long]);
  });

  it('a source that fails while the sheet is read fails the read with its own error, and a preview can stop early', async () => {
    const bytes = await workbook((book) => {
      const sheet = book.addWorksheet('Sales');
      sheet.addRow(['product_name', 'quantity', 'note']);
      for (let i = 0; i < 20_000; i++) sheet.addRow([`Product ${i}`, i, `row ${i} of a workbook large enough to be read in many pieces`]);
    });
    await expect(cellsOf(bytes, { pieceSize: 4096, failAfter: bytes.length / 2 })).rejects.toThrow(/^connection lost$/);

    const table = await withHeaders(await openTable(memorySource('book.xlsx', bytes, { pieceSize: 4096 })));
    let n = 0;
    for await (const _row of table.rows) if (++n === 5) break;
    table.close();
    expect(n).toBe(5);
  });
});

describe('product matching', () => {
  const matcher = new ProductMatcher([{ id: 'p1', name: 'Croissant' }, { id: 'p2', name: 'Pain au Chocolat' }, { id: 'p3', name: 'Baguette' }], 0.7);

  it('exact ignores case and spacing; fuzzy above the threshold with its score; otherwise missing', () => {
    expect(matcher.match(' CROISSANT ')).toMatchObject({ status: 'exact', product_id: 'p1', score: 1 });
    const fuzzy = matcher.match('Croisant');
    expect(fuzzy).toMatchObject({ status: 'fuzzy', product_id: 'p1' });
    expect(fuzzy.status === 'fuzzy' && fuzzy.score).toBeGreaterThanOrEqual(0.7);
    expect(matcher.match('Cold Brew')).toMatchObject({ status: 'missing' });
  });

  it('scores on a 0–1 scale', () => {
    expect(similarity('abc', 'abc')).toBe(1);
    expect(similarity('Pain au chocolat', 'pain-au-chocolat')).toBe(1);
    expect(similarity('abcd', 'wxyz')).toBe(0);
  });

  it('matches on words as well as characters: reordered words score above the threshold (regression: "Croissant (butter)" scored 31% against "Butter Croissant")', () => {
    const catalog = new ProductMatcher([{ id: 'b', name: 'Butter Croissant' }, { id: 'c', name: 'Chocolate Croissant' }, { id: 'e', name: 'Crème Brûlée' }], 0.7);
    expect(similarity('Croissant (butter)', 'Butter Croissant')).toBe(1);
    expect(catalog.match('Croissant (butter)')).toMatchObject({ status: 'fuzzy', product_id: 'b', score: 1 });
    // Reordered and misspelled.
    expect(catalog.match('Croisant - BUTTER')).toMatchObject({ status: 'fuzzy', product_id: 'b' });
    // Accents and case do not count.
    expect(catalog.match('BRULEE, creme')).toMatchObject({ status: 'fuzzy', product_id: 'e', score: 1 });
    // A name that is only part of another is not taken for it.
    expect(similarity('Croissant', 'Chocolate Croissant')).toBeLessThan(0.7);
    expect(catalog.match('Croissant')).toMatchObject({ status: 'missing' });
  });

  it('an alias matches its product before any fuzzy match, compared without case, accents or punctuation', () => {
    const catalog = new ProductMatcher([{ id: 'b', name: 'Butter Croissant' }, { id: 'k', name: 'Kouign-amann' }], 0.7, [{ alias: 'Breton cake', productId: 'k' }, { alias: 'Butter Croissant XL', productId: 'k' }]);
    expect(catalog.match('BRETON-CAKE')).toEqual({ status: 'alias', product_id: 'k', product_name: 'Kouign-amann', score: 1, alias: 'Breton cake' });
    // Before the fuzzy match it would otherwise be.
    expect(catalog.match('butter croissant xl')).toMatchObject({ status: 'alias', product_id: 'k' });
    expect(catalog.match('Butter Croissant')).toMatchObject({ status: 'exact', product_id: 'b' });
  });

  it('finds the right product among 20,000, for reordered and misspelled names, and searches the catalog by words typed', () => {
    const words = ['almond', 'apple', 'apricot', 'banana', 'berry', 'butter', 'caramel', 'cherry', 'cinnamon', 'coconut', 'coffee', 'cream', 'ginger', 'hazelnut', 'honey', 'lemon', 'maple', 'mocha', 'orange', 'peach', 'pecan', 'plum', 'raisin', 'rhubarb', 'vanilla'];
    const kinds = ['croissant', 'muffin', 'tart', 'loaf', 'cake', 'scone', 'cookie', 'danish'];
    const styles = ['baked', 'crisp', 'dark', 'double', 'filled', 'fresh', 'glazed', 'golden', 'iced', 'large', 'light', 'mini', 'rich', 'rustic', 'salted', 'small', 'soft', 'spiced', 'sticky', 'sweet', 'toasted', 'twisted', 'vegan', 'warm', 'whole'];
    const catalog = Array.from({ length: 20_000 }, (_, i) => ({ id: `p${i}`, name: `${words[i % 25]} ${styles[Math.floor(i / 25) % 25]} ${kinds[Math.floor(i / 625) % 8]} no ${Math.floor(i / 5000)}` }));
    const matcher = new ProductMatcher(catalog, 0.7);
    const target = catalog[12_345]!;
    const [a, b, kind, , n] = target.name.split(' ') as [string, string, string, string, string];
    expect(matcher.match(`${kind} ${b} ${a} No ${n}`)).toMatchObject({ status: 'fuzzy', product_id: target.id, score: 1 });
    expect(matcher.match(`${a} ${b}  ${kind.slice(0, -1)}x no ${n}`)).toMatchObject({ status: 'fuzzy', product_id: target.id });
    expect(matcher.search(`${kind} ${a.slice(0, 4)} ${b}`, 5).map((p) => p.product_name)).toContain(target.name);
    expect(matcher.search(`${kind} ${a.slice(0, 4)} ${b}`, 5).every((p) => p.product_name.includes(kind))).toBe(true);
  });
});

describe('stopping early and failing sources', () => {
  const header = 'product_name,quantity,price,transaction_date\n';
  const body = 'Croissant,1,2.95,2025-09-01\n'.repeat(100_000);
  const chunked = (text: string, fail = false) => memorySource('big.csv', Buffer.from(text), { pieceSize: 16 * 1024, failAfter: fail ? 256 * 1024 : undefined });

  it('a preview that stops after a few rows of a large file closes cleanly (regression: an unhandled stream error crashed the process)', async () => {
    const table = await withHeaders(await openTable(chunked(header + body)));
    let n = 0;
    for await (const _row of table.rows) if (++n === 5) break;
    table.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(n).toBe(5);
  });

  it('a source that fails half-way makes the reader reject instead of hanging', async () => {
    const table = await withHeaders(await openTable(chunked(header + body, true)));
    await expect(
      (async () => {
        for await (const _row of table.rows) {
          // read on
        }
      })(),
    ).rejects.toThrow('connection lost');
  });
});

describe('records too long to be rows', () => {
  const read = (text: string) => cellsOfFile('long.csv', Buffer.from(text), { pieceSize: 64 * 1024 });
  const long = 'x'.repeat(3 * 1024 * 1024);

  it('refuses a record over 1 MB with its row number: no quotes, an open quote, no line break at all (regression: a 50 MB line took 72 s)', async () => {
    const refused = (row: number) => ({ code: 'validation_failed', message: expect.stringMatching(new RegExp(`^Row ${row} of long\\.csv is longer than 1 MB: .* save it again as CSV`)) });
    await expect(read(`product_name,quantity\nCroissant,1\n${long},1\nMuffin,2\n`)).rejects.toMatchObject(refused(3));
    await expect(read(`product_name,quantity\n"Croissant",1\n"${long},1\nMuffin,2\n`)).rejects.toMatchObject(refused(3));
    await expect(read(long)).rejects.toMatchObject(refused(1));
    // The same line arriving whole, in one chunk.
    await expect(cellsOfFile('long.csv', Buffer.from(`product_name,quantity\nCroissant,1\n${long},1\nMuffin,2\n`))).rejects.toMatchObject(refused(3));
  });

  it('reads a long record under the limit, quoted or not', async () => {
    const text = 'y'.repeat(900 * 1024);
    expect(await read(`product_name,note\nCroissant,${text}\n`)).toEqual([['product_name', 'note'], ['Croissant', text]]);
    expect(await read(`product_name,note\n"Croissant","${text}"\n`)).toEqual([['product_name', 'note'], ['Croissant', text]]);
  });
});

describe('plain CSV is split by hand, everything else by csv-parse, with the same records either way', () => {
  /** What csv-parse alone reads from the whole text, numbered and filtered as the reader does. */
  function reference(text: string) {
    const records = parseCsvSync(text, { delimiter: ',', relax_column_count: true, skip_empty_lines: true, relax_quotes: true }) as string[][];
    return records.flatMap((cells, i) => (cells.every((cell) => cell.trim() === '') ? [] : [{ rowNumber: i + 1, cells }]));
  }
  /** The reader over the text cut into pieces of `size` bytes, so records and line breaks straddle chunks. */
  async function read(text: string, size: number) {
    const table = await openTable(memorySource('cut.csv', Buffer.from(text), { pieceSize: size }));
    const rows: { rowNumber: number; cells: string[] }[] = [];
    for await (const row of table.rows) rows.push(row);
    return rows;
  }
  const many = (line: string, n: number) => Array.from({ length: n }, (_, i) => line.replace('#', String(i))).join('\n');
  const cases: [string, string][] = [
    ['LF with a trailing break', 'a,b,c\n1,2,3\n4,5,6\n'],
    ['LF without a trailing break', 'a,b,c\n1,2,3\n4,5,6'],
    ['CRLF', 'a,b,c\r\n1,2,3\r\n4,5,6\r\n'],
    ['CRLF without a trailing break', 'a,b,c\r\n1,2,3\r\n4,5,6'],
    ['empty lines and blank records', 'a,b,c\n\n1,2,3\n,,\n   \n4,5,6\n\n\n'],
    ['ragged rows and a trailing delimiter', 'a,b,c,\n1,2\n1,2,3,4,5\n'],
    ['a quote long after the start', `a,b,c\n${many('#,x,y', 3000)}\n"q,1",2,3\n"multi\nline",5,6\n${many('#,z,w', 50)}\n`],
    ['a lone carriage return late in an LF file', `a,b\n${many('#,x', 2000)}\n1,2\r3,4\n5,6\n`],
    ['a bare LF late in a CRLF file', `a,b\r\n${many('#,x', 2000).replace(/\n/g, '\r\n')}\r\n1,2\n3,4\r\n`],
    ['old Mac line breaks', 'a,b\r1,2\r3,4\r'],
    ['one line', 'a,b,c'],
    ['quotes with doubled quotes', 'a,b\n"say ""hi""",2\n'],
    ['unicode', 'name,qty\nCafé crème,2\nZoë’s tart,1\n'],
  ];
  it.each(cases)('%s', async (_name, text) => {
    const expected = reference(text);
    for (const size of [3, 64, 1 << 20]) expect(await read(text, size)).toEqual(expected);
  });
});
