/**
 * Data-feed benchmark (`npm run bench:feeds`): a generated sales CSV (1,000,000 rows, 2,000 products by
 * default) through preview and commit-to-transformed, against PostgreSQL's own COPY of the same file
 * into an unlogged table, measured in the same run. Prints latencies, rows/s, peak RSS and the ratio.
 * Also prints the CPU time the app and the database server spent, which bounds the wall time on this machine's cores,
 * and the floor of the load's database work (what any load of the staged file must at least do), timed alone.
 * Then the same through a workbook of BENCH_XLSX_ROWS rows (100,000 by default; 0 skips it).
 * BENCH_ROWS and BENCH_PRODUCTS change the size; DATABASE_URL uses that server instead of an embedded one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { buildServer } from '../cli/build.js';
import { projectRoot } from '../core/config.js';
import { closeDb, connectDb } from '../core/db/index.js';
import { hashPassword } from '../core/auth/passwords.js';
import { freePort, peakRssOf, processStat, serverCpuSeconds } from './product.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 2_000);
const XLSX_ROWS = Number(process.env.BENCH_XLSX_ROWS ?? 100_000);
const PASSWORD = 'bench-password-123';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-feeds-'));
// The baseline COPY reads the file as the database server's user: let it in.
fs.chmodSync(workDir, 0o755);
const csvPath = path.join(workDir, 'sales.csv');

function generateCsv(): number {
  const out = fs.openSync(csvPath, 'w');
  const lines: string[] = ['product_name,quantity,price,transaction_date,discount,customer,channel,order_id'];
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < ROWS; i++) {
    const product = `Product ${String(i % PRODUCTS).padStart(5, '0')}`;
    const date = new Date(start + (i % 365) * 86_400_000).toISOString().slice(0, 10);
    lines.push(`${product},${1 + (i % 7)},${(1 + (i % 500) / 10).toFixed(2)},${date},${i % 10 === 0 ? '0.50' : '0'},customer${i % 50_000}@example.com,${i % 3 === 0 ? 'Online' : 'Offline'},O-${Math.floor(i / 3)}`);
    if (lines.length === 10_000) {
      fs.writeSync(out, `${lines.join('\n')}\n`);
      lines.length = 0;
    }
  }
  if (lines.length) fs.writeSync(out, `${lines.join('\n')}\n`);
  fs.closeSync(out);
  return fs.statSync(csvPath).size;
}

/** The CSV's first XLSX_ROWS rows as a workbook written by exceljs's streaming writer (as Excel would store them). */
async function generateWorkbook(filePath: string): Promise<void> {
  const { default: excel } = await import('exceljs');
  const writer = new excel.stream.xlsx.WorkbookWriter({ filename: filePath, useSharedStrings: true, useStyles: true });
  const sheet = writer.addWorksheet('Sales');
  sheet.addRow(['Product Name', 'Quantity', 'Price', 'Transaction Date', 'Discount', 'Customer', 'Channel', 'Order ID']).commit();
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < XLSX_ROWS; i++) {
    const row = sheet.addRow([`Product ${String(i % PRODUCTS).padStart(5, '0')}`, 1 + (i % 7), 1 + (i % 500) / 10, new Date(start + (i % 365) * 86_400_000), i % 10 === 0 ? 0.5 : 0, `customer${i % 50_000}@example.com`, i % 3 === 0 ? 'Online' : 'Offline', `O-${Math.floor(i / 3)}`]);
    row.getCell(4).numFmt = 'yyyy-mm-dd';
    row.commit();
  }
  await sheet.commit();
  await writer.commit();
}

/**
 * The least database work any load of the file must do after it is staged, timed on the baseline COPY's
 * rows: each fact row written with its product and money (the load's formulas), into tables shaped like
 * fact_sales but unlogged, in two halves on two connections, then indexed like fact_sales. The real load
 * also resolves customers, channels and days and sums totals, so it cannot beat this.
 */
async function loadFloorSeconds(db: ReturnType<typeof connectDb>, business: string): Promise<number> {
  const pages = (await db.pool.query<{ pages: number }>(`SELECT pg_relation_size('bench_copy') / current_setting('block_size')::int AS pages`)).rows[0]!.pages;
  const indexes = await db.pool.query<{ definition: string }>(`SELECT substring(pg_get_indexdef(indexrelid) FROM ' (USING .*)$') AS definition FROM pg_index WHERE indrelid = 'fact_sales'::regclass`);
  const halves = [`ctid < '(${Math.floor(pages / 2)},0)'`, `ctid >= '(${Math.floor(pages / 2)},0)'`];
  const started = performance.now();
  await Promise.all(
    halves.map(async (half, index) => {
      const client = await db.pool.connect();
      try {
        await client.query(`SET work_mem = '64MB'`);
        await client.query(`SET max_parallel_maintenance_workers = 0`);
        await client.query(`CREATE UNLOGGED TABLE bench_floor_${index} (LIKE fact_sales INCLUDING DEFAULTS)`);
        await client.query(
          `INSERT INTO bench_floor_${index} (business_id, data_feed_id, source_row, date_key, product_id, order_id, quantity, unit_price, unit_cost, discount, gross_revenue, cogs_amount, gross_margin_amount, gross_margin_percent)
           SELECT $1, 0, 0, transaction_date, product_id, order_id, quantity, price, unit_cost, discount, revenue, cogs, revenue - cogs - discount, round(100 * (revenue - cogs - discount) / NULLIF(revenue, 0), 2)
           FROM (SELECT b.*, p.id AS product_id, p.unit_cost, round(b.quantity * b.price, 2) AS revenue, round(b.quantity * p.unit_cost, 2) AS cogs
                 FROM bench_copy b JOIN (SELECT id, name, coalesce(cost_price_cents, 0) / 100.0 AS unit_cost FROM products WHERE business_id = $1) p ON p.name = b.product_name
                 WHERE b.${half} OFFSET 0) computed`,
          [business],
        );
        for (const { definition } of indexes.rows) await client.query(`CREATE INDEX ON bench_floor_${index} ${definition}`);
      } finally {
        client.release();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await db.pool.query('DROP TABLE bench_floor_0, bench_floor_1');
  return seconds;
}

console.log(`generating ${ROWS.toLocaleString()} rows × ${PRODUCTS} products…`);
const bytes = generateCsv();
console.log(`file: ${(bytes / 1024 / 1024).toFixed(1)} MB`);

// The app runs as its own process (npm start on the embedded default, with the MALLOC_ARENA_MAX npm start
// sets), so its memory is measured alone.
const [port, pgPort] = [await freePort(), await freePort()];
const app = spawn(process.execPath, [buildServer()], {
  cwd: projectRoot,
  env: { ...process.env, DATABASE_URL: '', DATA_DIR: path.join(workDir, 'data'), PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SEED_DEMO: 'false', ADMIN_EMAIL: 'bench-admin@example.com', ADMIN_PASSWORD: PASSWORD, FEED_MAX_UPLOAD_MB: '1024', NODE_ENV: 'development', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (await fetch(`${base}/api/healthz`).then((r) => r.ok, () => false)) break;
  if (i > 600 || app.exitCode !== null) throw new Error('the app did not start');
  await new Promise((resolve) => setTimeout(resolve, 200));
}
const rssIdle = peakRssOf(app.pid!);
const db = connectDb(`postgresql://postgres:postgres@127.0.0.1:${pgPort}/backhouse`, 2);
try {
  const business = (await db.pool.query<{ id: string }>(`INSERT INTO businesses (name) VALUES ('Bench business') RETURNING id`)).rows[0]!.id;
  await db.pool.query(
    `INSERT INTO products (business_id, name, selling_price_cents, cost_price_cents) SELECT $1, 'Product ' || lpad(g::text, 5, '0'), 100, 40 FROM generate_series(0, $2 - 1) g`,
    [business, PRODUCTS],
  );
  await db.pool.query(`INSERT INTO users (email, password_hash, role, business_id) VALUES ('bench-ops@example.com', $1, 'ops', $2)`, [await hashPassword(PASSWORD), business]);
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench-ops@example.com', password: PASSWORD }) });
  const { token } = (await login.json()) as { token: string };
  const auth = { authorization: `Bearer ${token}` };

  // Baseline: PostgreSQL's own COPY of the same file into an unlogged table.
  await db.pool.query(`CREATE UNLOGGED TABLE bench_copy (product_name text, quantity numeric, price numeric, transaction_date date, discount numeric, customer text, channel text, order_id text)`);
  await db.pool.query(`GRANT pg_read_server_files TO CURRENT_USER`).catch(() => undefined);
  // Three times, the fastest counting: the machine's noise then cannot flatter the ratio.
  const copyRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    await db.pool.query('TRUNCATE bench_copy');
    const copyStart = performance.now();
    await db.pool.query(`COPY bench_copy FROM '${csvPath}' WITH (FORMAT csv, HEADER true)`);
    copyRuns.push((performance.now() - copyStart) / 1000);
  }
  const copySeconds = Math.min(...copyRuns);
  const floorSeconds = await loadFloorSeconds(db, business);
  const backend = (await db.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const postmaster = processStat(backend).parent;
  const cpu = () => ({ app: processStat(app.pid!).cpuSeconds, database: serverCpuSeconds(postmaster) });

  /** Upload + preview, then commit until the feed is transformed (or failed), timing each step. */
  const loadFeed = async (filePath: string, filename: string) => {
    const previewStart = performance.now();
    const form = new FormData();
    form.append('data_type', 'sales');
    form.append('file', await fs.openAsBlob(filePath), filename);
    const preview = await fetch(`${base}/dashboard/data-feeds/preview`, { method: 'POST', headers: auth, body: form });
    const previewBody = (await preview.json()) as { upload_token: string; summary: unknown };
    const previewSeconds = (performance.now() - previewStart) / 1000;
    const rssAfterPreview = peakRssOf(app.pid!);
    if (preview.status !== 200) throw new Error(`preview of ${filename} failed: ${JSON.stringify(previewBody)}`);

    const cpuBefore = cpu();
    const commitStart = performance.now();
    const commit = await fetch(`${base}/dashboard/data-feeds/commit`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ upload_token: previewBody.upload_token, duplicates: 'load_anyway' }) });
    const commitBody = (await commit.json()) as { feed_id: number; record_count: number };
    if (commit.status !== 202) throw new Error(`commit of ${filename} failed: ${JSON.stringify(commitBody)}`);
    const committedSeconds = (performance.now() - commitStart) / 1000;
    const rssAfterCommit = peakRssOf(app.pid!);
    const cpuCommitted = cpu();
    let status = 'queued';
    while (status !== 'transformed' && status !== 'failed') {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const res = await fetch(`${base}/dashboard/data-feeds/${commitBody.feed_id}/transform-status`, { headers: auth });
      status = ((await res.json()) as { status: string }).status;
    }
    const totalSeconds = (performance.now() - commitStart) / 1000;
    const cpuTransformed = cpu();
    const cpuSpent = { commitApp: cpuCommitted.app - cpuBefore.app, commitDatabase: cpuCommitted.database - cpuBefore.database, jobApp: cpuTransformed.app - cpuCommitted.app, jobDatabase: cpuTransformed.database - cpuCommitted.database };
    return { previewSeconds, rssAfterPreview, commitStart, committedSeconds, rssAfterCommit, status, feedId: commitBody.feed_id, totalSeconds, cpuSpent };
  };

  const { previewSeconds, rssAfterPreview, commitStart, committedSeconds, rssAfterCommit, status, feedId, totalSeconds, cpuSpent } = await loadFeed(csvPath, 'sales.csv');
  const peakRss = peakRssOf(app.pid!);
  const facts = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM fact_sales WHERE data_feed_id = $1', [feedId]);
  console.log(`upload + preview (file streamed into PostgreSQL, every row checked): ${previewSeconds.toFixed(2)} s`);
  console.log(`commit request (re-parse, validate, stage):                          ${committedSeconds.toFixed(2)} s`);
  console.log(`commit request to ${status}:                                     ${totalSeconds.toFixed(2)} s  (${Math.round(ROWS / totalSeconds).toLocaleString()} rows/s, ${facts.rows[0]!.n} facts)`);
  console.log(`bare COPY of the same file into an unlogged table:                 ${copySeconds.toFixed(2)} s  (${Math.round(ROWS / copySeconds).toLocaleString()} rows/s; fastest of ${copyRuns.map((t) => t.toFixed(2)).join(', ')} s)`);
  console.log(`ratio commit-to-transformed / COPY:                                ${(totalSeconds / copySeconds).toFixed(2)}×  (target ≤ 3×)`);
  console.log(
    `floor of the load's database work alone:                           ${floorSeconds.toFixed(2)} s  (the COPY'd rows into fact_sales-shaped tables, two halves side by side: products joined, money computed, indexed; no customers, channels or days)`,
  );
  console.log(`commit request + that floor:                                       ${(committedSeconds + floorSeconds).toFixed(2)} s = ${((committedSeconds + floorSeconds) / copySeconds).toFixed(2)}× COPY  (the best a load after this commit request could reach)`);
  const cpuTotal = cpuSpent.commitApp + cpuSpent.commitDatabase + cpuSpent.jobApp + cpuSpent.jobDatabase;
  const cores = os.availableParallelism();
  console.log(
    `CPU time, commit request: app ${cpuSpent.commitApp.toFixed(2)} s, PostgreSQL ${cpuSpent.commitDatabase.toFixed(2)} s; then to ${status}: app ${cpuSpent.jobApp.toFixed(2)} s, PostgreSQL ${cpuSpent.jobDatabase.toFixed(2)} s (autovacuum included)`,
  );
  console.log(`CPU time in all:                                                   ${cpuTotal.toFixed(2)} s  (at least ${(cpuTotal / cores).toFixed(2)} s of wall time on ${cores} cores)`);
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(`peak RSS of the app process (VmHWM, whole run):                    ${mb(peakRss)}  (target < 300 MB; started ${mb(rssIdle)}, after upload + preview ${mb(rssAfterPreview)}, after the commit request ${mb(rssAfterCommit)})`);

  // The Metrics page (the stored dashboard "Sales & margin"): a worker refreshes its views after the load.
  const transformedAt = performance.now();
  let refreshes: { view_name: string; duration_ms: number }[] = [];
  while (refreshes.length < 2) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    refreshes = (
      await db.pool.query<{ view_name: string; duration_ms: number }>(
        `SELECT view_name, duration_ms FROM refresh_jobs WHERE view_name IN ('sales_daily', 'sales_product_daily') AND status = 'succeeded' AND started_at > now() - make_interval(secs => $1)`,
        [(performance.now() - commitStart) / 1000],
      )
    ).rows;
  }
  console.log(`sales views refreshed after the load:                              ${((performance.now() - transformedAt) / 1000).toFixed(2)} s after transformed (${refreshes.map((r) => `${r.view_name} ${(r.duration_ms / 1000).toFixed(2)} s`).join(', ')})`);
  const dashboard = (await db.pool.query<{ id: string }>(`SELECT id FROM dashboards WHERE slug = 'sales'`)).rows[0]!.id;
  const timeRequest = async (query: string) => {
    const started = performance.now();
    const res = await fetch(`${base}/api/dashboard/${dashboard}/data?${query}`, { headers: auth });
    if (res.status !== 200) throw new Error(`dashboard data failed: ${await res.text()}`);
    await res.arrayBuffer();
    return performance.now() - started;
  };
  const year = 'range=custom&from=2025-01-01&to=2025-12-31&group_by=month';
  const cold = await timeRequest(year);
  const product = (await db.pool.query<{ id: string }>(`SELECT id FROM products WHERE business_id = $1 ORDER BY name LIMIT 1`, [business])).rows[0]!.id;
  const coldProduct = await timeRequest(`${year}&product_id=${product}`);
  const warm: number[] = [];
  for (let i = 0; i < 100; i++) warm.push(await timeRequest(year));
  warm.sort((a, b) => a - b);
  console.log(`Metrics dashboard data (9 widgets, a year by month):              cold ${cold.toFixed(0)} ms, one product cold ${coldProduct.toFixed(0)} ms, then p50 ${warm[49]!.toFixed(1)} ms, p95 ${warm[94]!.toFixed(1)} ms over 100 requests`);

  // "Create missing" for a file naming PRODUCTS products the catalog lacks: one insert and one audit statement.
  const newProductsPath = path.join(workDir, 'new-products.csv');
  fs.writeFileSync(newProductsPath, ['product_name,quantity,price,transaction_date', ...Array.from({ length: PRODUCTS }, (_, i) => `New product ${i},1,${(1 + (i % 90) / 10).toFixed(2)},2025-06-01`)].join('\n'));
  const newProductsForm = new FormData();
  newProductsForm.append('file', await fs.openAsBlob(newProductsPath), 'new-products.csv');
  const newProductsPreview = (await (await fetch(`${base}/dashboard/data-feeds/preview`, { method: 'POST', headers: auth, body: newProductsForm })).json()) as { upload_token: string };
  const createStart = performance.now();
  const created = await fetch(`${base}/dashboard/data-feeds/auto-create-products`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ upload_token: newProductsPreview.upload_token }) });
  const createdBody = (await created.json()) as { created: string[] };
  if (created.status !== 200) throw new Error(`create missing failed: ${JSON.stringify(createdBody)}`);
  console.log(`"Create missing", ${createdBody.created.length.toLocaleString()} products priced from the file:          ${((performance.now() - createStart) / 1000).toFixed(2)} s  (target < 2 s)`);

  if (XLSX_ROWS > 0) {
    // A workbook as Excel writes one (the CSV's first rows: loaded again, as chosen at its commit) (shared strings, styled dates), read through the archive's directory.
    const workbookPath = path.join(workDir, 'sales.xlsx');
    await generateWorkbook(workbookPath);
    const workbook = await loadFeed(workbookPath, 'sales.xlsx');
    const workbookFacts = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM fact_sales WHERE data_feed_id = $1', [workbook.feedId]);
    console.log(
      `XLSX workbook, ${XLSX_ROWS.toLocaleString()} rows (${mb(fs.statSync(workbookPath).size)}):                  upload + preview ${workbook.previewSeconds.toFixed(2)} s, commit request ${workbook.committedSeconds.toFixed(2)} s, to ${workbook.status} ${workbook.totalSeconds.toFixed(2)} s (${Math.round(XLSX_ROWS / workbook.totalSeconds).toLocaleString()} rows/s, ${workbookFacts.rows[0]!.n} facts); peak RSS ${mb(peakRssOf(app.pid!))} (after upload + preview ${mb(workbook.rssAfterPreview)}, after the commit request ${mb(workbook.rssAfterCommit)})`,
    );
  }
} finally {
  await closeDb(db);
  app.kill('SIGTERM');
  await new Promise((resolve) => app.once('exit', resolve));
  fs.rmSync(workDir, { recursive: true, force: true });
}
