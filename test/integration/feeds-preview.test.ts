import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, uploadPreview } from '../helpers/feeds.js';

let app: TestApp;
let t: Tenants;
let opsToken: string;

beforeAll(async () => {
  app = await startTestApp({ FEED_PREVIEW_ROWS: '3', FEED_MAX_UPLOAD_MB: '1' });
  t = await seedTenants(app.system);
  opsToken = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => app?.close());

describe('POST /dashboard/data-feeds/preview', () => {
  it('happy path: headers, first rows with original and normalized values, badges, product matches, totals', async () => {
    const res = await uploadPreview(app.url, opsToken, { name: 'sales-basic.csv' }, { data_type: 'sales' });
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body.success).toBe(true);
    expect(body.upload_token).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.headers).toEqual(['product_name', 'quantity', 'price', 'transaction_date', 'discount', 'customer', 'channel', 'order_id']);
    expect(body.rows).toHaveLength(3);
    expect(body.rows[0]).toMatchObject({
      row_number: 2,
      original: { product_name: 'Croissant', quantity: '10', price: '2.95' },
      normalized: { product_name: 'Croissant', quantity: '10', price: '2.95', transaction_date: '2025-09-01', customer: 'alice@example.com' },
      valid: true,
      issues: [],
      product_match: { status: 'exact', product_id: t.productA, score: 1 },
    });
    expect(body.rows[1].product_match).toMatchObject({ status: 'exact', product_id: t.productA });
    expect(body.rows[2].product_match).toMatchObject({ status: 'fuzzy', product_id: t.productA, product_name: 'Croissant' });
    expect(body.rows[2].product_match.score).toBeGreaterThanOrEqual(0.7);
    // Three rows shown (FEED_PREVIEW_ROWS), the whole file counted.
    expect(body.summary).toMatchObject({ total_rows: 4, valid_rows: 4, invalid_rows: 0, rows_shown: 3, truncated: true, date_formats: { transaction_date: 'YYYY-MM-DD' }, format: 'csv', encoding: 'utf-8', delimiter: ',' });
    const stored = await app.db.pool.query('SELECT business_id, data_type, byte_size FROM upload_files WHERE token = $1', [body.upload_token]);
    expect(stored.rows[0]).toMatchObject({ business_id: t.businessA, data_type: 'sales' });
  });

  it('names products that are not in the catalog as candidates, with their closest matches', async () => {
    const bytes = Buffer.from('product_name,quantity,price,transaction_date\nCold Brew,1,4.50,2025-09-01\nCroissants,2,2.95,2025-09-01\ncold brew,1,4.50,2025-09-02\n');
    const res = await uploadPreview(app.url, opsToken, { name: 'candidates.csv', bytes });
    expect(res.status).toBe(200);
    expect(res.body.summary).toMatchObject({ new_product_candidates: ['Cold Brew'], truncated: false, valid_rows: 3 });
    expect(res.body.rows[0].product_match).toMatchObject({ status: 'missing' });
    expect(res.body.rows[0].issues).toEqual([{ row: 2, column: 'product_name', value: 'Cold Brew', reason: 'is not in your catalog' }]);
    expect(res.body.rows[1].product_match).toMatchObject({ status: 'fuzzy', product_name: 'Croissant', candidates: [expect.objectContaining({ product_name: 'Croissant' })] });
  });

  it('missing columns: 422 naming what is missing and what the file has', async () => {
    const res = await uploadPreview(app.url, opsToken, { name: 'sales-missing-columns.csv' }, { data_type: 'sales' });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/missing the column price/);
    expect(res.body.error.details).toMatchObject({ missing_columns: ['price'], found_columns: ['product_name', 'quantity', 'transaction_date'] });
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files WHERE filename = $1', ['sales-missing-columns.csv'])).rows[0].n).toBe(0);
  });

  it('reports a day/month order it had to assume, and none where a day above 12 settles it', async () => {
    const assumed = await uploadPreview(app.url, opsToken, { name: 'ambiguous.csv', bytes: Buffer.from('product_name,quantity,price,transaction_date\nCroissant,1,2.95,01/02/2025\nCroissant,1,2.95,03/04/2025\n') });
    expect(assumed.body.summary).toMatchObject({ date_formats: { transaction_date: 'DD/MM/YYYY' }, date_formats_assumed: ['transaction_date'] });
    const settled = await uploadPreview(app.url, opsToken, { name: 'settled.csv', bytes: Buffer.from('product_name,quantity,price,transaction_date\nCroissant,1,2.95,01/02/2025\nCroissant,1,2.95,04/13/2025\n') });
    expect(settled.body.summary).toMatchObject({ date_formats: { transaction_date: 'MM/DD/YYYY' }, date_formats_assumed: [] });
  });

  it('a file with a header and no rows: 422 at the preview, and nothing kept (regression: it could be committed, then failed)', async () => {
    const before = (await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files')).rows[0].n;
    const res = await uploadPreview(app.url, opsToken, { name: 'header-only.csv', bytes: Buffer.from('product_name,quantity,price,transaction_date\r\n\r\n') });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toBe('header-only.csv has a header row but no data rows. Add the rows under the header (or check that this is the right file), then upload it again.');
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files')).rows[0].n).toBe(before);
  });

  it('invalid data: each bad row is marked with row number, column, value and reason', async () => {
    const res = await uploadPreview(app.url, opsToken, { name: 'sales-invalid.csv' });
    expect(res.status).toBe(200);
    const [ten, feb30, empty] = res.body.rows;
    expect(ten).toMatchObject({ valid: false, issues: [{ row: 2, column: 'quantity', value: 'ten', reason: 'is not a number' }] });
    expect(feb30.valid).toBe(false);
    expect(feb30.issues[0]).toMatchObject({ row: 3, column: 'transaction_date', value: '2025-02-30' });
    expect(empty.issues[0]).toMatchObject({ row: 4, column: 'product_name', reason: 'is empty' });
    // The whole file: row 5's negative price too, past the three rows shown.
    expect(res.body.summary).toMatchObject({ total_rows: 5, valid_rows: 1, invalid_rows: 4, rows_shown: 3 });
    expect(res.body.summary.invalid_row_samples.map((r: any) => r.row_number)).toEqual([2, 3, 4, 5]);
  });

  it('checks the whole file: counts, every invalid row and every new product past the rows shown (regression: the first rows only)', async () => {
    // 200 rows; rows 60, 120 and 180 are bad, and five products new to the catalog first appear after row 50.
    const lines = ['product_name,quantity,price,transaction_date'];
    const newProducts = ['Apple Pie', 'Baguette', 'Cinnamon Roll', 'Danish', 'Eclair'];
    const newProductRows = new Map<number, string>([
      [55, 'Apple Pie,1,3.50'], [155, 'Apple Pie,2,3.50'],
      [65, 'Baguette,1,4.00'],
      [75, 'Cinnamon Roll,1,2.25'], [175, 'Cinnamon Roll,1,2.25'], [195, 'Cinnamon Roll,3,2.25'],
      [85, 'Danish,1,5.00'],
      [95, 'Eclair,1,1.75'], [135, 'Eclair,1,1.75'],
    ]);
    for (let row = 2; row <= 201; row++) {
      if (row === 60) lines.push('Croissant,lots,2.95,2025-09-01');
      else if (row === 120) lines.push('Croissant,1,2.95,2025-13-45');
      else if (row === 180) lines.push(',1,2.95,2025-09-01');
      else if (newProductRows.has(row)) lines.push(`${newProductRows.get(row)},2025-09-02`);
      else lines.push('Croissant,1,2.95,2025-09-01');
    }
    // The same products once more with another price: each one's most frequent price stands.
    for (const name of newProducts) lines.push(`${name},1,9.99,2025-09-03`);
    const res = await uploadPreview(app.url, opsToken, { name: 'late-problems.csv', bytes: Buffer.from(lines.join('\n')) });
    expect(res.status).toBe(200);
    expect(res.body.rows).toHaveLength(3);
    expect(res.body.summary).toMatchObject({ total_rows: 205, valid_rows: 202, invalid_rows: 3, new_products: 5, new_product_candidates: newProducts, rows_shown: 3, truncated: true });
    expect(res.body.summary.invalid_row_samples).toEqual([
      { row_number: 60, issues: [{ row: 60, column: 'quantity', value: 'lots', reason: 'is not a number' }] },
      { row_number: 120, issues: [expect.objectContaining({ row: 120, column: 'transaction_date', value: '2025-13-45' })] },
      { row_number: 180, issues: [{ row: 180, column: 'product_name', value: '', reason: 'is empty' }] },
    ]);
    const token = res.body.upload_token;
    const firstPage = await callJson(app.url, opsToken, 'GET', `/dashboard/data-feeds/preview/${token}/invalid-rows?limit=2`);
    expect(firstPage.body).toMatchObject({ total: 3, rows: [{ row_number: 60 }, { row_number: 120 }] });
    const secondPage = await callJson(app.url, opsToken, 'GET', `/dashboard/data-feeds/preview/${token}/invalid-rows?offset=2&limit=2`);
    expect(secondPage.body).toMatchObject({ total: 3, rows: [{ row_number: 180 }] });
    const products = await callJson(app.url, opsToken, 'GET', `/dashboard/data-feeds/preview/${token}/new-products?limit=100`);
    expect(products.body!.total).toBe(5);
    expect(products.body!.products.map((p: any) => [p.name, p.rows, p.price])).toEqual([
      ['Apple Pie', 3, '3.50'],
      // One row at 4.00, one at 9.99: the lower of equally frequent prices.
      ['Baguette', 2, '4.00'],
      ['Cinnamon Roll', 4, '2.25'],
      ['Danish', 2, '5.00'],
      ['Eclair', 3, '1.75'],
    ]);
    const elsewhere = (await apiClient(app.url, t.users.opsB.email)).token;
    expect((await callJson(app.url, elsewhere, 'GET', `/dashboard/data-feeds/preview/${token}/invalid-rows`)).status).toBe(410);
  });

  it('sends its progress first, then its answer, when asked for lines (Accept: application/x-ndjson)', async () => {
    const lines = ['product_name,quantity,price,transaction_date', ...Array.from({ length: 500 }, () => 'Croissant,1,2.95,2025-09-01')];
    const form = new FormData();
    form.append('file', new Blob([lines.join('\n')]), 'progress.csv');
    const res = await fetch(`${app.url}/dashboard/data-feeds/preview`, { method: 'POST', headers: { authorization: `Bearer ${opsToken}`, accept: 'application/x-ndjson' }, body: form });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const answers = (await res.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(answers.at(-2)).toEqual({ progress: { rows_read: 500, percent: 100 } });
    expect(answers.at(-1).result.summary).toMatchObject({ total_rows: 500, valid_rows: 500 });
    const refused = await fetch(`${app.url}/dashboard/data-feeds/preview`, { method: 'POST', headers: { authorization: `Bearer ${opsToken}`, accept: 'application/x-ndjson' }, body: (() => {
      const bad = new FormData();
      bad.append('file', new Blob(['product_name,quantity\nCroissant,1\n']), 'columns.csv');
      return bad;
    })() });
    // Refused before any progress: the usual error answer and status.
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as any).error.message).toMatch(/missing the column/);
  });

  it.each([
    ['sales-bom-semicolon.csv', { encoding: 'utf-8', delimiter: ';', date: 'DD.MM.YYYY' }, { quantity: '1000', price: '1234.50', transaction_date: '2025-09-01' }],
    ['sales-utf16le.csv', { encoding: 'utf-16le', delimiter: '\t', date: 'YYYY-MM-DD' }, { quantity: '3', price: '2.95', transaction_date: '2025-09-03' }],
    ['sales-windows1252.csv', { encoding: 'windows-1252', delimiter: ',', date: 'MM/DD/YYYY' }, { product_name: 'Crème brûlée', price: '1234.50', transaction_date: '2025-09-13' }],
    ['sales-quoted-newlines.csv', { encoding: 'utf-8', delimiter: ',', date: 'YYYY-MM-DD' }, { quantity: '-2.00', price: '2.95' }],
    ['sales.xlsx', { encoding: undefined, delimiter: undefined, date: 'YYYY-MM-DD' }, { quantity: '6', price: '2.95', transaction_date: '2025-09-06', channel: 'Offline' }],
  ])('reads %s', async (name, detected, firstRow) => {
    const res = await uploadPreview(app.url, opsToken, { name });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary.encoding).toBe(detected.encoding);
    expect(res.body.summary.delimiter).toBe(detected.delimiter);
    expect(res.body.summary.date_formats.transaction_date).toBe(detected.date);
    expect(res.body.rows[0].normalized).toMatchObject(firstRow);
  });

  it('refuses an old .xls (415), binary data (415), a file over the size limit (413) and a wrong data type (400)', async () => {
    expect((await uploadPreview(app.url, opsToken, { name: 'old-excel.xls' })).status).toBe(415);
    expect((await uploadPreview(app.url, opsToken, { name: 'binary.bin' })).status).toBe(415);
    const big = Buffer.from(`product_name,quantity,price,transaction_date\n${'Croissant,1,2.95,2025-09-01\n'.repeat(45_000)}`);
    const tooBig = await uploadPreview(app.url, opsToken, { name: 'big.csv', bytes: big });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.message).toMatch(/larger than the 1 MB allowed/);
    expect((await uploadPreview(app.url, opsToken, { name: 'sales-basic.csv' }, { data_type: 'invoices' })).status).toBe(400);
  });

  it('a refusal before the file is read is answered at once, however large the file (regression: it waited minutes for the request timeout)', async () => {
    const manager = (await apiClient(app.url, t.users.managerA.email)).token;
    const large = Buffer.alloc(3 * 1024 * 1024, 'Croissant,1,2.95,2025-09-01\n');
    const started = performance.now();
    for (const [token, fields, status] of [[manager, { data_type: 'sales' }, 403], [opsToken, { data_type: 'invoices' }, 400]] as const) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      form.append('file', new Blob([large]), 'large.csv');
      const res = await fetch(`${app.url}/dashboard/data-feeds/preview`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form, signal: AbortSignal.timeout(20_000) });
      expect(res.status).toBe(status);
      expect((await res.json()).error.code).toBe(status === 403 ? 'forbidden' : 'bad_request');
    }
    expect(performance.now() - started).toBeLessThan(20_000);
  });

  it('data_type or business_id sent after the file is refused with what to do, and the upload not kept (regression: silently read as sales)', async () => {
    const before = (await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files')).rows[0].n;
    const form = new FormData();
    form.append('file', new Blob(['product_name,cost,cost_date,cost_type\nCroissant,0.80,2025-09-01,purchase\n']), 'costs.csv');
    form.append('data_type', 'costs');
    const res = await fetch(`${app.url}/dashboard/data-feeds/preview`, { method: 'POST', headers: { authorization: `Bearer ${opsToken}` }, body: form });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toBe('The form field data_type came after the file, too late to be used for it. Send the fields first, then the file.');
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files')).rows[0].n).toBe(before);
  });

  it('managers and signed-out callers cannot preview; an admin must name the business', async () => {
    const manager = (await apiClient(app.url, t.users.managerA.email)).token;
    expect((await uploadPreview(app.url, manager, { name: 'sales-basic.csv' })).status).toBe(403);
    expect((await uploadPreview(app.url, 'not-a-token', { name: 'sales-basic.csv' })).status).toBe(401);
    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    expect((await uploadPreview(app.url, admin, { name: 'sales-basic.csv' })).status).toBe(400);
    const ok = await uploadPreview(app.url, admin, { name: 'sales-basic.csv' }, { business_id: t.businessB });
    expect(ok.status).toBe(200);
    expect(ok.body.rows[0].product_match.status).toBe('missing');
  });
});
