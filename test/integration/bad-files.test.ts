import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { passwordProtected } from '../helpers/workbooks.js';

/**
 * Files that cannot be read, uploaded as a feed (preview) and as a data source: each is refused with what is
 * wrong with the file, in its own words (never a library's "Cannot read properties of undefined"), and
 * nothing is kept. Very wide files are refused at their header, before their rows take memory.
 */
let app: TestApp;
let t: Tenants;
let token: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  token = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => app?.close());

type Route = 'feed' | 'data source';
const routes: Route[] = ['feed', 'data source'];

async function upload(route: Route, name: string, bytes: Buffer) {
  const form = new FormData();
  if (route === 'feed') form.append('data_type', 'sales');
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  const res = await fetch(`${app.url}${route === 'feed' ? '/dashboard/data-feeds/preview' : '/api/data-sources'}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function expectRefused(name: string, bytes: Buffer, status: number, message: RegExp) {
  for (const route of routes) {
    const res = await upload(route, name, bytes);
    expect(res.status, `${route}: ${JSON.stringify(res.body)}`).toBe(status);
    expect(res.body.error.message, route).toMatch(message);
    expect(res.body.error.message, route).not.toMatch(/Cannot read properties|undefined|FILE_ENDED|TypeError/);
  }
  const kept = await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files WHERE filename = $1', [name]);
  expect(kept.rows[0].n).toBe(0);
}

const columns = (count: number) => Array.from({ length: count }, (_, i) => (i < 4 ? ['product_name', 'quantity', 'price', 'transaction_date'][i]! : `extra_${i}`));

function csv(rows: string[][]): Buffer {
  return Buffer.from(rows.map((row) => row.join(',')).join('\n') + '\n');
}

async function xlsx(rows: (string | number)[][], sheetName = 'Sales'): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet(sheetName);
  for (const row of rows) sheet.addRow(row);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

const goodRows = [
  ['product_name', 'quantity', 'price', 'transaction_date'],
  ['Croissant', 2, 2.95, '2025-09-01'],
];

/** A workbook written by exceljs, then one of its parts changed. */
async function withPart(path: string, change: (xml: string) => string): Promise<Buffer> {
  const zip = await JSZip.loadAsync(await xlsx(goodRows));
  zip.file(path, change(await zip.file(path)!.async('string')));
  return zip.generateAsync({ type: 'nodebuffer' });
}


describe('a file with too many columns is refused at its header (FEED_MAX_COLUMNS, 1,000 by default)', () => {
  it('a 10,000-column CSV, as a feed and as a data source: 422 naming the limit and the count', async () => {
    const wide = csv([columns(10_000), columns(10_000).map((_, i) => String(i)), columns(10_000).map((_, i) => String(i))]);
    for (const route of routes) {
      const res = await upload(route, 'wide.csv', wide);
      expect(res.status, route).toBe(422);
      expect(res.body.error.message).toBe('wide.csv has 10,000 columns, more than the 1,000 a file may have. Keep only the columns you need (delete the others, or copy those into a new sheet) and upload it again.');
      // Refused at the header, row 1: no row of data was gathered.
      expect(res.body.error.details).toEqual({ max_columns: 1000, columns_found: 10_000, row: 1 });
    }
    expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM upload_files WHERE filename = 'wide.csv'`)).rows[0].n).toBe(0);
  });

  it('a 10,000-column workbook, as a feed and as a data source', async () => {
    const wide = await xlsx([columns(10_000), columns(10_000).map((_, i) => i)]);
    for (const route of routes) {
      const res = await upload(route, 'wide.xlsx', wide);
      expect(res.status, route).toBe(422);
      expect(res.body.error.details).toEqual({ max_columns: 1000, columns_found: 10_000, row: 1 });
      expect(res.body.error.message).toMatch(/^wide\.xlsx has 10,000 columns, more than the 1,000/);
    }
  });

  it('a row far wider than its header is refused with its number; empty cells at the end of a row do not count', async () => {
    const rows = [columns(4), ['Croissant', '1', '2.95', '2025-09-01'], [...['Croissant', '1', '2.95', '2025-09-01'], ...columns(1500)]];
    for (const route of routes) {
      const res = await upload(route, 'wide-row.csv', csv(rows));
      expect(res.status, route).toBe(422);
      expect(res.body.error.message).toMatch(/^Row 3 of wide-row\.csv has 1,504 cells, more than the 1,000 columns/);
    }
    // A spreadsheet's trailing empty cells (a CSV saved with 2,000 trailing commas) are not columns.
    const padded = csv([[...columns(4), ...Array<string>(2000).fill('')], ['Croissant', '1', '2.95', '2025-09-01']]);
    const res = await upload('data source', 'padded.csv', padded);
    expect(res.status).toBe(201);
  });

  it('1,000 columns are read', async () => {
    const res = await upload('data source', 'thousand.csv', csv([columns(1000), columns(1000).map((_, i) => String(i))]));
    expect(res.status).toBe(201);
    expect(res.body.columns).toHaveLength(1000);
  });
});

describe('a workbook that cannot be read says what is wrong with the file', () => {
  it('cut short (an interrupted download): damaged or incomplete', async () => {
    const whole = await xlsx(goodRows);
    await expectRefused('cut.xlsx', whole.subarray(0, Math.floor(whole.length / 2)), 422, /^cut\.xlsx is damaged or incomplete: an \.xlsx workbook is a zip archive, and this one is cut short or corrupt/);
  });

  it('a part that is not XML: damaged, naming the part', async () => {
    await expectRefused('garbled.xlsx', await withPart('xl/worksheets/sheet1.xml', () => '<<not xml'), 422, /^garbled\.xlsx is damaged: its part xl\/worksheets\/sheet1\.xml is not well-formed XML \(at line 1, column \d+\)/);
    await expectRefused('garbled-book.xlsx', await withPart('xl/workbook.xml', () => 'not xml at all <<<'), 422, /its part xl\/workbook\.xml is not well-formed XML/);
  });

  it('cells without their addresses (regression: "Cannot read properties of undefined (reading \'length\')")', async () => {
    await expectRefused('no-addresses.xlsx', await withPart('xl/worksheets/sheet1.xml', (xml) => xml.replace(/<c r="B2"/, '<c')), 422, /sheet “Sales” has cells or rows that cannot be placed/);
  });

  it('cells naming shared texts the workbook does not hold are refused, not read as empty (regression: the header read as "")', async () => {
    await expectRefused('lost-texts.xlsx', await withPart('xl/sharedStrings.xml', () => ''), 422, /^lost-texts\.xlsx is damaged: its sheet “Sales” has a cell whose text should be number 1 of the workbook's 0 shared texts/);
    await expectRefused('wrong-text.xlsx', await withPart('xl/worksheets/sheet1.xml', (xml) => xml.replace('<v>0</v>', '<v>99</v>')), 422, /should be number 100 of the workbook's \d+ shared texts, which the workbook does not hold/);
  });

  it('protected with a password', async () => {
    await expectRefused('locked.xlsx', passwordProtected(), 415, /^locked\.xlsx is protected with a password, and Backhouse cannot open it\. Open it in Excel, remove the password/);
  });

  it('an empty workbook: its only sheet has no rows', async () => {
    await expectRefused('empty.xlsx', await xlsx([], 'Blank'), 422, /^empty\.xlsx's first sheet, “Blank”, is empty\./);
  });

  it('no sheet at all, or an empty zip archive', async () => {
    await expectRefused('no-sheet.xlsx', await withPart('xl/workbook.xml', (xml) => xml.replace(/<sheets>.*<\/sheets>/s, '<sheets/>')), 422, /^no-sheet\.xlsx has no visible sheet of cells/);
    await expectRefused('empty-zip.xlsx', Buffer.from([0x50, 0x4b, 0x05, 0x06, ...Array<number>(18).fill(0)]), 422, /^empty-zip\.xlsx is an empty zip archive, not a workbook/);
  });

  it('an old .xls without a password is still told to save it as .xlsx', async () => {
    const xls = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(xls, 0);
    xls.writeUInt16LE(9, 0x1e);
    xls.writeUInt32LE(1, 0x30);
    Buffer.from('Workbook\0', 'utf16le').copy(xls, 1024);
    await expectRefused('old.xls', xls, 415, /^old\.xls is an old Excel \(\.xls\) workbook/);
  });
});
