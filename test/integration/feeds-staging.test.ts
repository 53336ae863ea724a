import { once } from 'node:events';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMatcher } from '../../core/feeds/catalog.js';
import type { ReadableFile } from '../../core/files/file.js';
import type { RowIssue } from '../../core/feeds/rows.js';
import { stageFeedRows } from '../../core/feeds/stage.js';
import { findUpload, storeUpload } from '../../core/feeds/uploads.js';
import { openFeedTable } from '../../core/feeds/table.js';
import type { DataType } from '../../core/feeds/templates.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { fixtureSource, memorySource } from '../helpers/feeds.js';

/**
 * The commit stages rows with its own lean loop (each column's value checked once and remembered, free text
 * checked only when checking would change it, a row written as one COPY line). These tests hold it to the
 * row-by-row check the preview shows: for every parsing fixture and for a file of awkward cells, the staged
 * rows, the invalid rows and their reasons are what checking each row gives.
 */
let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
});
afterAll(async () => app?.close());


/** A decimal or date as PostgreSQL stores it, without the trailing zeros of its column's scale. */
const canonical = (value: string | null) => (value !== null && /^-?\d+\.\d+$/.test(value) ? value.replace(/\.?0+$/, '') : value);

const stagedColumns: Record<DataType, { table: string; columns: string[] }> = {
  sales: { table: 'staging_sales_items', columns: ['row_number', 'product_id', 'product_name', 'quantity', 'unit_price', 'discount', 'transaction_date', 'customer', 'channel', 'order_id'] },
  costs: { table: 'staging_costs', columns: ['row_number', 'product_id', 'product_name', 'cost', 'cost_date', 'cost_type'] },
};

/** What the row-by-row check stages and refuses: each row normalised, its product matched. */
async function expectedByRows(file: ReadableFile, dataType: DataType, autoCreate: boolean) {
  const feed = await openFeedTable(dataType, file, 20);
  const matcher = await loadMatcher(app.system, t.businessA, 0.7);
  const staged: (string | null)[][] = [];
  const issues: RowIssue[] = [];
  const missing = new Map<string, string>();
  let invalid = 0;
  for await (const row of feed.rows(false)) {
    const name = row.normalized.product_name;
    const match = name ? matcher.match(name) : null;
    const rowIssues = [...row.issues];
    if (match?.status === 'missing' && !autoCreate) rowIssues.push({ row: row.rowNumber, column: 'product_name', value: name!, reason: 'is not in your catalog (create it, or commit with auto_create_products)' });
    if (rowIssues.length > 0) {
      invalid++;
      issues.push(...rowIssues);
      continue;
    }
    // Only products of rows that load are created (a product named only by an invalid row is not).
    if (match?.status === 'missing') missing.set(name!.toLowerCase(), missing.get(name!.toLowerCase()) ?? name!);
    const productId = match && match.status !== 'missing' ? match.product_id : null;
    const n = row.normalized;
    staged.push(
      dataType === 'sales'
        ? [String(row.rowNumber), productId, n.product_name!, n.quantity!, n.price!, n.discount ?? '0', n.transaction_date!, n.customer!, n.channel!, n.order_id!]
        : [String(row.rowNumber), productId, n.product_name!, n.cost!, n.cost_date!, n.cost_type!.toLowerCase()],
    );
  }
  feed.table.close();
  return { staged: staged.map((row) => row.map((value) => canonical(value ?? null))), issues, invalid, missing: [...missing.values()] };
}

/** What the commit's `stageFeedRows` stages, read back inside its transaction, which is then rolled back. */
async function stagedByCommit(file: ReadableFile, dataType: DataType, autoCreate: boolean) {
  const feed = await openFeedTable(dataType, file, 20);
  const matcher = await loadMatcher(app.system, t.businessA, 0.7);
  const client = await app.db.pool.connect();
  try {
    await client.query('BEGIN');
    const result = await stageFeedRows(client, feed, { dataType, feedId: 424242, businessId: t.businessA, matcher, autoCreateProducts: autoCreate, maxIssues: 200 });
    const layout = stagedColumns[dataType];
    const rows = await client.query<Record<string, string | null>>(
      `SELECT ${layout.columns.map((c) => `${c}::text AS ${c}`).join(', ')} FROM ${layout.table} WHERE data_feed_id = 424242 AND business_id = $1 ORDER BY ${layout.table}.row_number`,
      [t.businessA],
    );
    return { result, staged: rows.rows.map((row) => layout.columns.map((c) => canonical(row[c]!))) };
  } finally {
    await client.query('ROLLBACK');
    client.release();
    feed.table.close();
  }
}

const awkward = [
  'Product Name;Qty;Price;Date;Discount;Customer;Channel;Order',
  'Croissant;2;2,95;01/09/2025;0;  alice@example.com ;Offline;R-1',
  'croissant ;1;1.234,50;02/09/2025;;bob\u00a0smith;online;R  2',
  'Croisant;x;2.95;03/09/2025;0;;Offline;R-3',
  'Cold Brew;3;-4.50;31/02/2025;0,5;carol;;R-4',
  ' ;1;1;04/09/2025;0;dave\tx;Online;',
  'Muffin;1;(2.00);05/09/2025;-1;eve\u3000;Online;R-6',
  'Back\\slash;1;1;06/09/2025;0;a\\b;Off  line;\ufeffR-7',
  'Croissant;1;1;07/09/2025',
  '"Cold  Brew";1,5;$3.00;08/09/2025;0;"multi',
  'line";Online;R-9',
].join('\r\n');

const cases: [string, () => ReadableFile, DataType][] = [
  ['sales-basic.csv', () => fixtureSource('sales-basic.csv'), 'sales'],
  ['sales-bom-semicolon.csv', () => fixtureSource('sales-bom-semicolon.csv'), 'sales'],
  ['sales-invalid.csv', () => fixtureSource('sales-invalid.csv'), 'sales'],
  ['sales-quoted-newlines.csv', () => fixtureSource('sales-quoted-newlines.csv'), 'sales'],
  ['sales-utf16le.csv', () => fixtureSource('sales-utf16le.csv'), 'sales'],
  ['sales-windows1252.csv', () => fixtureSource('sales-windows1252.csv'), 'sales'],
  ['sales.xlsx', () => fixtureSource('sales.xlsx'), 'sales'],
  ['costs-basic.csv', () => fixtureSource('costs-basic.csv'), 'costs'],
  ['awkward cells (whitespace, locales, signs, empty and ragged rows)', () => memorySource('awkward.csv', Buffer.from(awkward)), 'sales'],
];

describe('the commit stages what the row-by-row check says', () => {
  it.each(cases.flatMap(([name, file, dataType]) => [true, false].map((autoCreate) => [name, autoCreate, file, dataType] as const)))(
    '%s (auto-create products: %s)',
    async (_name, autoCreate, file, dataType) => {
      const expected = await expectedByRows(file(), dataType, autoCreate);
      const actual = await stagedByCommit(file(), dataType, autoCreate);
      expect(actual.staged).toEqual(expected.staged);
      expect(actual.result.records).toBe(expected.staged.length);
      expect(actual.result.invalidRows).toBe(expected.invalid);
      expect(actual.result.issues).toEqual(expected.issues.slice(0, 200));
      expect(actual.result.missingProducts).toEqual(expected.missing);
    },
  );

  it('the awkward file exercises what it claims: rows refused for each kind of problem, whitespace normalised', async () => {
    const { result, staged } = await stagedByCommit(memorySource('awkward.csv', Buffer.from(awkward)), 'sales', true);
    expect(result.issues.map((issue) => `${issue.row}:${issue.column}:${issue.reason}`)).toEqual([
      '4:quantity:is not a number',
      '5:price:must not be negative',
      '5:transaction_date:is not a date in the format DD/MM/YYYY used by this column (type the format the file uses in the preview if another one reads it)',
      '6:product_name:is empty',
      '7:price:must not be negative',
      '7:discount:must not be negative',
    ]);
    const byRow = new Map(staged.map((row) => [row[0], row]));
    expect(byRow.get('2')!.slice(2)).toEqual(['Croissant', '2', '2.95', '0', '2025-09-01', 'alice@example.com', 'Offline', 'R-1']);
    expect(byRow.get('3')!.slice(2)).toEqual(['croissant', '1', '1234.5', '0', '2025-09-02', 'bob smith', 'online', 'R 2']);
    expect(byRow.get('8')!.slice(2)).toEqual(['Back\\slash', '1', '1', '0', '2025-09-06', 'a\\b', 'Off line', 'R-7']);
    expect(byRow.get('9')!.slice(2)).toEqual(['Croissant', '1', '1', '0', '2025-09-07', null, null, null]);
    expect(byRow.get('10')!.slice(2)).toEqual(['Cold Brew', '1.5', '3', '0', '2025-09-08', 'multi line', 'Online', 'R-9']);
    // In the order of their first valid row; Muffin's only row is invalid (its price is negative): it is not created.
    expect(result.missingProducts).toEqual(['Back\\slash', 'Cold Brew']);
  });
});

describe('uploads kept in PostgreSQL', () => {
  it.each([1, 32 * 1024, 32 * 1024 + 1, 1024 * 1024, 1536 * 1024 + 77])('read back byte for byte: %i bytes arriving in odd-sized pieces', async (size) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
    const pieces = (function* () {
      for (let offset = 0; offset < size; offset += 7001) yield bytes.subarray(offset, offset + 7001);
    })();
    const stored = await storeUpload(app.system, { businessId: t.businessA, dataType: 'sales', filename: 'bytes.csv', stream: Readable.from(pieces) }, { maxBytes: 10_000_000, ttlSeconds: 60 });
    expect(stored.byteSize).toBe(size);
    const read: Buffer[] = [];
    for await (const chunk of (await findUpload(app.system, stored.token)).open()) read.push(chunk as Buffer);
    expect(Buffer.concat(read).equals(bytes)).toBe(true);
  });

  it('read back from any offset: chunk boundaries, inside a chunk, the last byte, past the end', async () => {
    const size = 3 * 32 * 1024 + 500;
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
    const stored = await storeUpload(app.system, { businessId: t.businessA, dataType: 'sales', filename: 'bytes.csv', stream: Readable.from([bytes]) }, { maxBytes: 10_000_000, ttlSeconds: 60 });
    const upload = await findUpload(app.system, stored.token);
    for (const offset of [0, 1, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 2 * 32 * 1024 + 12_345, 3 * 32 * 1024, size - 1, size, size + 10]) {
      const read: Buffer[] = [];
      for await (const chunk of upload.open(offset)) read.push(chunk as Buffer);
      expect(Buffer.concat(read).equals(bytes.subarray(offset)), `from ${offset}`).toBe(true);
    }
  });

  it('a reader that pauses or stops holds no connection (unzipper leaves the streams it has read from paused)', async () => {
    const bytes = Buffer.alloc(1024 * 1024, 'x');
    const stored = await storeUpload(app.system, { businessId: t.businessA, dataType: 'sales', filename: 'bytes.csv', stream: Readable.from([bytes]) }, { maxBytes: 10_000_000, ttlSeconds: 60 });
    const upload = await findUpload(app.system, stored.token);
    const { pool } = app.system.db;
    // Many more readers than the pool has connections, each left paused after its first bytes.
    const paused = [];
    for (let i = 0; i < 4 * pool.options.max!; i++) {
      const stream = upload.open(i * 1000);
      const [first] = (await once(stream, 'data')) as [Buffer];
      stream.pause();
      expect(first[0]).toBe(0x78);
      paused.push(stream);
    }
    expect((await pool.query('SELECT 1 AS answer')).rows[0].answer).toBe(1);
    for (const stream of paused) stream.destroy();
  });
});
