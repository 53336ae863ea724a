import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeMapping } from '../../core/mapping/execute.js';
import { storeUpload } from '../../core/feeds/uploads.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/**
 * Executing an approved mapping: an orders file with transforms and bad rows loads into canonical_orders
 * exactly as computed here from the file, re-executing and re-running the job converge, rejects carry row
 * numbers and reasons (and download as CSV), and the dependent views are refreshed with the same totals.
 */

let app: TestApp;
let t: Tenants;

interface OrderLine {
  ref: string;
  customer: string;
  date: string; // DD/MM/YYYY
  status: string;
  net: string;
  tax: string;
  currency: string;
  rep: string;
}

const csvLine = (cells: string[]) => cells.map((cell) => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell)).join(',');

/** 300 good rows (some repeating an earlier order, whose later values win), then the bad ones, mixed in. */
function buildFile(managerEmail: string): { csv: string; lines: { rowNumber: number; line: OrderLine }[]; bad: Map<number, string> } {
  const lines: OrderLine[] = [];
  const statuses = ['Paid', 'shipped', 'CANCELLED', 'complete'];
  for (let i = 0; i < 300; i++) {
    const orderNumber = i % 50 === 49 ? i - 40 : i; // every 50th row repeats an earlier order
    const day = (i % 28) + 1;
    const month = (i % 3) + 1;
    lines.push({
      ref: ` so-${String(orderNumber).padStart(4, '0')} `,
      customer: `C${i % 17}`,
      date: `${String(day).padStart(2, '0')}/${String(month).padStart(2, '0')}/2026`,
      status: statuses[i % 4]!,
      net: `${(i * 7) % 500}.${String(i % 100).padStart(2, '0')}`,
      tax: `${i % 9}.5`,
      currency: i % 5 === 0 ? 'eur' : '',
      rep: i % 2 === 0 ? ` ${managerEmail.toUpperCase()} ` : 'nobody@elsewhere.example',
    });
  }
  const bad = new Map<number, string>();
  const insert = (at: number, line: OrderLine, column: string) => {
    lines.splice(at, 0, line);
    bad.set(at, column);
  };
  const base: OrderLine = { ref: 'SO-BAD', customer: 'CX', date: '01/01/2026', status: 'paid', net: '1', tax: '1', currency: '', rep: '' };
  insert(10, { ...base, ref: 'SO-B1', date: '31/13/2026' }, 'order_date');
  insert(60, { ...base, ref: 'SO-B2', net: '=1+2' }, 'total_amount');
  insert(120, { ...base, ref: '   ' }, 'order_ref');
  insert(200, { ...base, ref: 'SO-B4', net: '99999999999999999999' }, 'total_amount');
  insert(250, { ...base, ref: 'SO-B5', net: 'abc', date: 'soon' }, 'order_date');
  const header = csvLine(['Order No', 'Customer', 'Date', 'Status', 'Net', 'Tax', 'Currency', 'Rep']);
  const body = lines.map((l) => csvLine([l.ref, l.customer, l.date, l.status, l.net, l.tax, l.currency, l.rep]));
  // Spreadsheet rows: the header is row 1.
  const badRows = new Map([...bad].map(([index, column]) => [index + 2, column]));
  const numbered = lines.map((line, index) => ({ rowNumber: index + 2, line })).filter(({ rowNumber }) => !badRows.has(rowNumber));
  return { csv: `${header}\n${body.join('\n')}\n`, lines: numbered, bad: badRows };
}

const cents = (text: string) => Math.round(Number(text) * 100);
const iso = (ddmmyyyy: string) => `${ddmmyyyy.slice(6, 10)}-${ddmmyyyy.slice(3, 5)}-${ddmmyyyy.slice(0, 2)}`;

interface ExpectedOrder {
  order_ref: string;
  customer_ref: string;
  order_date: string;
  status: string;
  total_amount: string;
  currency: string | null;
  manager_id: string | null;
  source_row: number;
}

/** What canonical_orders must hold, computed from the file: trimmed upper refs, later rows win. */
function expectedOrders(lines: { rowNumber: number; line: OrderLine }[], managerEmail: string, managerId: string): Map<string, ExpectedOrder> {
  const orders = new Map<string, ExpectedOrder>();
  for (const { rowNumber, line } of lines) {
    const ref = line.ref.trim().toUpperCase();
    orders.set(ref, {
      order_ref: ref,
      customer_ref: line.customer,
      order_date: iso(line.date),
      status: line.status.toLowerCase(),
      total_amount: ((cents(line.net) + cents(line.tax)) / 100).toFixed(2),
      currency: line.currency ? line.currency.toUpperCase() : null,
      manager_id: line.rep.trim().toLowerCase() === managerEmail ? managerId : null,
      source_row: rowNumber,
    });
  }
  return orders;
}

async function createDataSource(businessId: string, file: string | Buffer, fingerprint: string, name = 'ERP orders', filename = 'orders.csv'): Promise<string> {
  const upload = await storeUpload(app.system, { businessId, dataType: 'data_source', filename, stream: Readable.from([Buffer.from(file)]) }, { maxBytes: 10_000_000, ttlSeconds: null });
  const created = await app.db.pool.query<{ id: string }>(
    `INSERT INTO data_sources (business_id, name, filename, upload_token, header_fingerprint) VALUES ($1, $4, $5, $2, $3) RETURNING id`,
    [businessId, upload.token, fingerprint, name, filename],
  );
  return created.rows[0]!.id;
}

type FieldRow = [source: string | null, target: string, transforms: unknown[], expression: string | null];

const orderFields: FieldRow[] = [
  ['Order No', 'order_ref', [{ op: 'trim' }, { op: 'upper' }], null],
  ['Customer', 'customer_ref', [{ op: 'trim' }], null],
  ['Date', 'order_date', [{ op: 'date_parse', format: 'DD/MM/YYYY' }], null],
  ['Status', 'status', [{ op: 'lower' }], null],
  [null, 'total_amount', [], 'col("Net") + col("Tax")'],
  ['Currency', 'currency', [{ op: 'upper' }], null],
  ['Rep', 'manager_ref', [{ op: 'trim' }, { op: 'lower' }], null],
];

async function createMapping(businessId: string, fingerprint: string, status: 'approved' | 'draft', fields: FieldRow[] = orderFields): Promise<string> {
  const version = await app.db.pool.query<{ id: string }>(
    `INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table, status, approved_by, approved_at)
     VALUES ($1, $2, 1, 'orders', $3, $4, CASE WHEN $3 = 'approved' THEN now() END) RETURNING id`,
    [businessId, fingerprint, status, status === 'approved' ? t.users.admin.id : null],
  );
  const id = version.rows[0]!.id;
  for (const [position, [source, target, transforms, expression]] of fields.entries()) {
    await app.db.pool.query(`INSERT INTO field_mappings (mapping_version_id, position, source_column, target_column, transforms, computed_expression) VALUES ($1, $2, $3, $4, $5, $6)`, [
      id,
      position,
      source,
      target,
      JSON.stringify(transforms),
      expression,
    ]);
  }
  return id;
}

async function canonicalOrders(businessId: string) {
  const rows = await app.db.pool.query<ExpectedOrder & { data_source_id: string }>(
    `SELECT order_ref, customer_ref, to_char(order_date, 'YYYY-MM-DD') AS order_date, status, total_amount::text, currency, manager_id, source_row, data_source_id
     FROM canonical_orders WHERE business_id = $1 ORDER BY order_ref`,
    [businessId],
  );
  return rows.rows;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Executes a data source through the API, as ops, and waits for the execution to end. */
async function executeToEnd(dataSourceId: string): Promise<Record<string, any>> {
  const ops = await apiClient(app.url, t.users.opsA.email);
  const started = await ops.call('POST', '/api/mapping/execute', { data_source_id: dataSourceId });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return waitFor('the execution', async () => {
    const res = await ops.call('GET', `/api/mapping/executions/${started.body!.execution_id}`);
    return ['succeeded', 'failed'].includes(res.body!.status) ? res.body! : undefined;
  });
}

const sender = () => ({ send: (queue: string, data: object) => app.jobs.send(queue, data) });

let file: ReturnType<typeof buildFile>;
let expected: Map<string, ExpectedOrder>;
let dataSourceId: string;
let firstExecutionId: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  file = buildFile(t.users.managerA.email);
  expected = expectedOrders(file.lines, t.users.managerA.email, t.users.managerA.id);
  dataSourceId = await createDataSource(t.businessA, file.csv, 'fp-orders');
  await createMapping(t.businessA, 'fp-orders', 'approved');
}, 60_000);
afterAll(async () => app?.close());

describe('executing an approved mapping', () => {
  it('loads the file through the job: canonical rows equal what the file says, bad rows are rejected with row numbers', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const started = await ops.call('POST', '/api/mapping/execute', { data_source_id: dataSourceId });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ status: 'queued', job_id: expect.any(String), execution_id: expect.any(String) });
    firstExecutionId = started.body!.execution_id;

    const seenProgress: number[] = [];
    const done = await waitFor('the execution to finish', async () => {
      const res = await ops.call('GET', `/api/mapping/executions/${firstExecutionId}`);
      expect(res.status).toBe(200);
      seenProgress.push(res.body!.progress_percent);
      return ['succeeded', 'failed'].includes(res.body!.status) ? res.body! : undefined;
    });
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.progress_percent).toBe(100);
    expect(seenProgress.every((p, i) => i === 0 || p >= seenProgress[i - 1]!)).toBe(true);
    expect(done.rows_total).toBe(file.lines.length + file.bad.size);
    expect(done.rows_loaded).toBe(file.lines.length);
    expect(done.rows_rejected).toBe(file.bad.size);
    expect(done.rejected_rows_not_listed).toBe(0);

    const rows = await canonicalOrders(t.businessA);
    expect(rows.map(({ data_source_id: _source, ...row }) => row)).toEqual([...expected.values()].sort((a, b) => a.order_ref.localeCompare(b.order_ref)));
    expect(rows.every((row) => row.data_source_id === dataSourceId)).toBe(true);
    // The file's orders were given to the manager by email, in another case and with spaces.
    expect(rows.some((row) => row.manager_id === t.users.managerA.id)).toBe(true);

    const rejectedRows = new Map<number, string[]>();
    for (const reject of done.first_rejects as { row: number; column: string; reason: string }[]) rejectedRows.set(reject.row, [...(rejectedRows.get(reject.row) ?? []), reject.column]);
    expect([...rejectedRows.keys()].sort((a, b) => a - b)).toEqual([...file.bad.keys()].sort((a, b) => a - b));
    for (const [row, column] of file.bad) expect(rejectedRows.get(row)).toContain(column);
    const reasons = (done.first_rejects as { row: number; column: string; reason: string }[]).map((r) => `${r.row}:${r.column}:${r.reason}`);
    expect(reasons.join('\n')).toMatch(/order_ref:is empty, but order_ref is part of the natural key/);
    expect(reasons.join('\n')).toMatch(/total_amount:.*too large/);
    expect(reasons.join('\n')).toMatch(/order_date:“31\/13\/2026” is not a date in DD\/MM\/YYYY/);
  }, 60_000);

  it('downloads every reject as CSV, escaped, with formulas defused', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const res = await fetch(`${app.url}/api/mapping/executions/${firstExecutionId}/rejects.csv`, { headers: { authorization: `Bearer ${ops.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const text = await res.text();
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('row,column,value,reason');
    const formulaRow = [...file.bad].find(([, column]) => column === 'total_amount')![0];
    expect(lines.find((line) => line.startsWith(`${formulaRow},total_amount,`))).toMatch(new RegExp(`^${formulaRow},total_amount,'=1\\+2,`));
    // Reasons quote values with “…” and carry commas: quoted fields.
    expect(lines.some((line) => /,"[^"]*,[^"]*"$/.test(line))).toBe(true);
    expect(new Set(lines.slice(1).map((line) => Number(line.split(',')[0])))).toEqual(new Set(file.bad.keys()));
  });

  it('executing again, and running the same job twice, leaves the same rows and no duplicates', async () => {
    const before = await canonicalOrders(t.businessA);
    const ops = await apiClient(app.url, t.users.opsA.email);
    const again = await ops.call('POST', '/api/mapping/execute', { data_source_id: dataSourceId });
    expect(again.status).toBe(202);
    await waitFor('the second execution', async () => {
      const res = await ops.call('GET', `/api/mapping/executions/${again.body!.execution_id}`);
      return res.body!.status === 'succeeded' ? true : undefined;
    });
    // A killed worker's retry: the first execution's job runs again from the start.
    const rerun = await executeMapping(app.system, sender(), firstExecutionId);
    expect(rerun).toMatchObject({ status: 'succeeded', rowsLoaded: file.lines.length, rowsRejected: file.bad.size });
    const after = await canonicalOrders(t.businessA);
    expect(after).toEqual(before);
    const count = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM canonical_orders WHERE business_id = $1', [t.businessA]);
    expect(count.rows[0]!.n).toBe(expected.size);
    const rejects = await app.db.pool.query<{ n: number }>('SELECT count(DISTINCT row_number)::int AS n FROM mapping_rejects WHERE mapping_execution_id = $1', [firstExecutionId]);
    expect(rejects.rows[0]!.n).toBe(file.bad.size);
  }, 60_000);

  it('refreshes the dependent views: monthly_revenue and top_customers equal sums computed from the file', async () => {
    // The execution asked for an incremental refresh; the worker runs it.
    await waitFor('the refresh after the execution', async () => {
      const res = await app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM refresh_jobs WHERE view_name = 'top_customers' AND trigger = 'incremental' AND status = 'succeeded'`);
      const running = await app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'warehouse.refresh-changed' AND state IN ('created', 'retry', 'active')`);
      return res.rows[0]!.n > 0 && running.rows[0]!.n === 0 ? true : undefined;
    }, 60_000);
    const sales = [...expected.values()].filter((o) => o.status !== 'cancelled');
    const monthly = new Map<string, number>();
    const customers = new Map<string, number>();
    for (const order of sales) {
      const currency = order.currency ?? 'GBP';
      const monthKey = `${order.order_date.slice(0, 7)}-01|${currency}`;
      monthly.set(monthKey, (monthly.get(monthKey) ?? 0) + cents(order.total_amount));
      const customerKey = `${order.customer_ref}|${currency}`;
      customers.set(customerKey, (customers.get(customerKey) ?? 0) + cents(order.total_amount));
    }
    const viewMonthly = await app.db.pool.query<{ key: string; revenue: string }>(
      `SELECT to_char(month, 'YYYY-MM-DD') || '|' || currency AS key, sum(revenue)::text AS revenue FROM monthly_revenue WHERE business_id = $1 GROUP BY 1`,
      [t.businessA],
    );
    expect(new Map(viewMonthly.rows.map((row) => [row.key, cents(row.revenue)]))).toEqual(monthly);
    const viewCustomers = await app.db.pool.query<{ key: string; revenue: string }>(
      `SELECT customer_ref || '|' || currency AS key, sum(revenue)::text AS revenue FROM top_customers WHERE business_id = $1 GROUP BY 1`,
      [t.businessA],
    );
    expect(new Map(viewCustomers.rows.map((row) => [row.key, cents(row.revenue)]))).toEqual(customers);
  }, 90_000);

  it('an XLSX workbook of the same file loads the same rows and rejects', async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Orders');
    for (const record of parseCsv(file.csv) as string[][]) sheet.addRow(record);
    const xlsxSourceId = await createDataSource(t.businessA, Buffer.from(await book.xlsx.writeBuffer()), 'fp-orders', 'ERP orders (workbook)', 'orders.xlsx');
    const done = await executeToEnd(xlsxSourceId);
    expect(done).toMatchObject({ status: 'succeeded', error: null, rows_loaded: file.lines.length, rows_rejected: file.bad.size });
    const rows = await canonicalOrders(t.businessA);
    expect(rows.map(({ data_source_id: _source, ...row }) => row)).toEqual([...expected.values()].sort((a, b) => a.order_ref.localeCompare(b.order_ref)));
    expect(rows.every((row) => row.data_source_id === xlsxSourceId)).toBe(true);
  }, 60_000);
});

describe('refusals', () => {
  it('a layout without an approved mapping cannot be executed (409, with what to do)', async () => {
    const source = await createDataSource(t.businessA, file.csv, 'fp-draft-only');
    await createMapping(t.businessA, 'fp-draft-only', 'draft');
    const ops = await apiClient(app.url, t.users.opsA.email);
    const res = await ops.call('POST', '/api/mapping/execute', { data_source_id: source });
    expect(res.status).toBe(409);
    expect(res.body!.error.message).toMatch(/no approved mapping yet.*administrator approve/);
  });

  it('a source whose file is no longer stored cannot be executed (410, with what to do)', async () => {
    const purged = await app.db.pool.query<{ id: string }>(
      `INSERT INTO data_sources (business_id, name, filename, header_fingerprint) VALUES ($1, 'Purged orders', 'orders.csv', 'fp-orders') RETURNING id`,
      [t.businessA],
    );
    const ops = await apiClient(app.url, t.users.opsA.email);
    const res = await ops.call('POST', '/api/mapping/execute', { data_source_id: purged.rows[0]!.id });
    expect(res.status).toBe(410);
    expect(res.body!.error.message).toMatch(/“Purged orders” is no longer stored\. Upload the file again/);
  });

  it('managers may not execute; another business’s executions and sources are not found', async () => {
    const manager = await apiClient(app.url, t.users.managerA.email);
    expect((await manager.call('POST', '/api/mapping/execute', { data_source_id: dataSourceId })).status).toBe(403);
    const opsB = await apiClient(app.url, t.users.opsB.email);
    expect((await opsB.call('GET', `/api/mapping/executions/${firstExecutionId}`)).status).toBe(404);
    expect((await opsB.call('POST', '/api/mapping/execute', { data_source_id: dataSourceId })).status).toBe(404);
    const csv = await fetch(`${app.url}/api/mapping/executions/${firstExecutionId}/rejects.csv`, { headers: { authorization: `Bearer ${opsB.token}` } });
    expect(csv.status).toBe(404);
  });

  it('a second execute while one is queued or running is a conflict', async () => {
    await app.db.pool.query(`INSERT INTO mapping_executions (business_id, data_source_id, mapping_version_id, status) SELECT business_id, $1, mapping_version_id, 'running' FROM mapping_executions WHERE id = $2`, [
      dataSourceId,
      firstExecutionId,
    ]);
    const ops = await apiClient(app.url, t.users.opsA.email);
    const res = await ops.call('POST', '/api/mapping/execute', { data_source_id: dataSourceId });
    expect(res.status).toBe(409);
    expect(res.body!.error.message).toMatch(/already being loaded/);
  });
});

describe('the preview and the load agree', () => {
  /** Spreadsheet rows (the header is row 1) the preview shows: MAPPING_SAMPLE_ROWS, 20 by default. */
  const PREVIEW_ROWS = 20;
  const fields: FieldRow[] = [
    ['Order No', 'order_ref', [{ op: 'trim' }, { op: 'upper' }], null],
    ['Date', 'order_date', [{ op: 'date_parse', format: 'auto' }], null],
    // No number_parse: the text goes to numeric(18,2) as it is, and the column's type decides.
    ['Net', 'total_amount', [], null],
    ['Status', 'status', [{ op: 'trim' }], null],
  ];
  const padded = (n: number) => String(n).padStart(2, '0');

  /**
   * 60 orders. The first 20 dates read either day first or month first, the next 40 only month first: the
   * first 50 rows settle the format as month first, the first 20 alone would settle it day first. Among
   * the previewed rows, values the transforms accept but the table's column types or natural key refuse.
   */
  function buildPreviewFile(): string {
    const lines = Array.from({ length: 60 }, (_, i) => ({
      ref: `pv-${String(i).padStart(4, '0')}`,
      date: i < 20 ? `${padded((i % 12) + 1)}/${padded(((i + 5) % 12) + 1)}/2026` : `${padded((i % 12) + 1)}/${13 + (i % 15)}/2026`,
      net: `${i}.5`,
      status: ' paid ',
    }));
    lines[2]!.net = 'abc';
    lines[5]!.ref = '   ';
    lines[8]!.net = '99999999999999999999';
    lines[11]!.date = 'soon';
    lines[14] = { ...lines[14]!, ref: '', net: '12,5 EUR?' };
    lines[40]!.net = 'n/a';
    return `${csvLine(['Order No', 'Date', 'Net', 'Status'])}\n${lines.map((l) => csvLine([l.ref, l.date, l.net, l.status])).join('\n')}\n`;
  }

  it('the preview lists exactly the rejects, with the reasons, and the values the execution stores for its rows', async () => {
    const source = await createDataSource(t.businessA, buildPreviewFile(), 'fp-preview', 'Preview orders');
    await createMapping(t.businessA, 'fp-preview', 'approved', fields);
    const done = await executeToEnd(source);
    expect(done.error).toBeNull();
    expect(done.rows_rejected).toBe(6);

    const columns = fields.map(([sourceColumn, target, transforms]) => ({ target, source: sourceColumn, transforms }));
    const ops = await apiClient(app.url, t.users.opsA.email);
    const preview = await ops.call('POST', '/api/mapping/preview', { data_source_id: source, table: 'orders', columns });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    const rows = preview.body!.rows as { row_number: number; values: Record<string, string | null>; errors: unknown[] }[];
    expect(rows.map((row) => row.row_number)).toEqual(Array.from({ length: PREVIEW_ROWS }, (_, i) => i + 2));

    const rejects = await app.db.pool.query<{ row: number; column: string; value: string | null; reason: string }>(
      'SELECT row_number AS row, column_name AS column, value, reason FROM mapping_rejects WHERE mapping_execution_id = $1 AND row_number <= $2 ORDER BY row_number, id',
      [done.id, PREVIEW_ROWS + 1],
    );
    // Five previewed rows are rejected: two by a numeric column, one by its empty key, one by its date, one by both.
    expect(new Set(rejects.rows.map((reject) => reject.row))).toEqual(new Set([4, 7, 10, 13, 16]));
    expect(rows.flatMap((row) => row.errors)).toEqual(rejects.rows);
    expect(preview.body!.summary).toEqual({ rows: PREVIEW_ROWS, rows_with_errors: 5 });

    const loaded = await app.db.pool.query<{ source_row: number; order_ref: string; order_date: string; total_amount: string; status: string }>(
      `SELECT source_row, order_ref, to_char(order_date, 'YYYY-MM-DD') AS order_date, total_amount::text, status FROM canonical_orders WHERE data_source_id = $1`,
      [source],
    );
    const loadedByRow = new Map(loaded.rows.map(({ source_row: row, ...values }) => [row, values]));
    const accepted = rows.filter((row) => row.errors.length === 0);
    expect(accepted).toHaveLength(PREVIEW_ROWS - 5);
    for (const row of accepted) expect(row.values, `row ${row.row_number}`).toEqual(loadedByRow.get(row.row_number));
    // Month first, as the first 50 rows say: row 2's "01/06/2026" is 6 January.
    expect(rows[0]!.values.order_date).toBe('2026-01-06');

  }, 60_000);
});

describe('text far into a data source’s file', () => {
  it('a Windows-1252 "Café" at byte 100 KB loads as Café (regression: "Caf\\uFFFD", with no warning)', async () => {
    const fields: FieldRow[] = [
      ['Order No', 'order_ref', [{ op: 'trim' }], null],
      ['Customer', 'customer_ref', [], null],
      ['Date', 'order_date', [{ op: 'date_parse', format: 'DD/MM/YYYY' }], null],
      ['Net', 'total_amount', [], null],
    ];
    const lines = ['Order No,Customer,Date,Net'];
    while (lines.join('\n').length < 100 * 1024) lines.push(`LA-${lines.length},Bakery ${lines.length % 7},01/02/2026,1.00`);
    const file = Buffer.concat([Buffer.from(`${lines.join('\n')}\nLA-LAST,Caf`, 'latin1'), Buffer.from([0xe9]), Buffer.from(' Noir,02/02/2026,2.50\n')]);
    const source = await createDataSource(t.businessB, file, 'fp-late-accent', 'Late accent');
    await createMapping(t.businessB, 'fp-late-accent', 'approved', fields);
    const opsB = await apiClient(app.url, t.users.opsB.email);
    const started = await opsB.call('POST', '/api/mapping/execute', { data_source_id: source });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await waitFor('the execution', async () => {
      const res = await opsB.call('GET', `/api/mapping/executions/${started.body!.execution_id}`);
      return ['succeeded', 'failed'].includes(res.body!.status) ? res.body! : undefined;
    });
    expect(done).toMatchObject({ status: 'succeeded', rows_rejected: 0 });
    const last = await app.db.pool.query<{ customer_ref: string }>(`SELECT customer_ref FROM canonical_orders WHERE data_source_id = $1 AND order_ref = 'LA-LAST'`, [source]);
    expect(last.rows).toEqual([{ customer_ref: 'Café Noir' }]);
  }, 60_000);
});
