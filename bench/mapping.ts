/**
 * Mapping benchmark (`npm run bench:mapping`): a generated orders CSV (BENCH_ROWS, 1,000,000 by default)
 * executed with an approved mapping through the real job (rows/s); then every view refreshed (time per
 * view); then canonical_orders topped up set-based in SQL to BENCH_ORDER_ROWS (10,000,000 by default),
 * the views refreshed again, and the p50/p95 of the dashboard data endpoint over BENCH_REQUESTS requests.
 * Starts its own embedded PostgreSQL in a temporary folder (or uses DATABASE_URL).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startBackhouse } from '../app/runtime.js';
import { loadConfig } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { storeUpload } from '../core/feeds/uploads.js';
import { createLogger } from '../core/log.js';
import { createRecord } from '../core/records/service.js';
import { refreshViews } from '../core/warehouse/views.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ORDER_ROWS = Number(process.env.BENCH_ORDER_ROWS ?? 10_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const PASSWORD = 'bench-password-123';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The orders file, generated as it is stored: ~70 bytes a row, never all in memory. */
function* ordersCsv(): Generator<Buffer> {
  yield Buffer.from('Order No,Customer,Order Date,Status,Total,Currency,Sales Rep\n');
  const statuses = ['paid', 'shipped', 'complete', 'cancelled'];
  let lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const day = new Date(Date.UTC(2024, 0, 1) + (i % 730) * 86_400_000);
    const date = `${String(day.getUTCDate()).padStart(2, '0')}/${String(day.getUTCMonth() + 1).padStart(2, '0')}/${day.getUTCFullYear()}`;
    lines.push(`so-${i},C${i % 40_000},${date},${statuses[i % 4]},"${(10 + (i % 9000) / 7).toFixed(2)}",${i % 10 === 0 ? 'eur' : ''},rep${i % 20}@bench.example`);
    if (lines.length === 10_000) {
      yield Buffer.from(`${lines.join('\n')}\n`);
      lines = [];
    }
  }
  if (lines.length) yield Buffer.from(`${lines.join('\n')}\n`);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-mapping-'));
const config = loadConfig({ ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SEED_DEMO: 'false', ADMIN_EMAIL: 'bench-admin@example.com', ADMIN_PASSWORD: PASSWORD });
const log = createLogger(config.LOG_LEVEL);
const running = await startBackhouse('all', config, log);
try {
  const ctx = systemContext('bench', running.db, log);
  const pool = running.db.pool;
  const business = (await createRecord(ctx, 'businesses', { name: 'Bench business', currency: 'USD' })).id as string;
  await createRecord(ctx, 'users', { email: 'bench-ops@example.com', role: 'ops', businessId: business, password: PASSWORD });
  const login = await fetch(`${running.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench-ops@example.com', password: PASSWORD }) });
  const { token } = (await login.json()) as { token: string };
  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${running.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  console.log(`generating and storing ${ROWS.toLocaleString()} order rows…`);
  const upload = await storeUpload(ctx, { businessId: business, dataType: 'data_source', filename: 'orders.csv', stream: Readable.from(ordersCsv()) }, { maxBytes: 4 * 1024 ** 3, ttlSeconds: null });
  console.log(`file: ${(upload.byteSize / 1024 / 1024).toFixed(1)} MB`);
  const source = (
    await pool.query<{ id: string }>(`INSERT INTO data_sources (business_id, name, filename, upload_token, header_fingerprint) VALUES ($1, 'Bench orders', 'orders.csv', $2, 'bench') RETURNING id`, [business, upload.token])
  ).rows[0]!.id;
  const version = (
    await pool.query<{ id: string }>(`INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table, status, approved_at) VALUES ($1, 'bench', 1, 'orders', 'approved', now()) RETURNING id`, [business])
  ).rows[0]!.id;
  const fields: [string, string, unknown[]][] = [
    ['Order No', 'order_ref', [{ op: 'trim' }, { op: 'upper' }]],
    ['Customer', 'customer_ref', [{ op: 'trim' }]],
    ['Order Date', 'order_date', [{ op: 'date_parse', format: 'DD/MM/YYYY' }]],
    ['Status', 'status', [{ op: 'lower' }]],
    ['Total', 'total_amount', [{ op: 'number_parse', locale: 'en' }]],
    ['Currency', 'currency', [{ op: 'upper' }]],
    ['Sales Rep', 'manager_ref', [{ op: 'trim' }, { op: 'lower' }]],
  ];
  for (const [position, [from, to, transforms]] of fields.entries()) {
    await pool.query(`INSERT INTO field_mappings (mapping_version_id, position, source_column, target_column, transforms) VALUES ($1, $2, $3, $4, $5)`, [version, position, from, to, JSON.stringify(transforms)]);
  }

  const started = performance.now();
  const requested = await api('POST', '/api/mapping/execute', { data_source_id: source });
  if (requested.status !== 202) throw new Error(`execute answered ${requested.status}: ${JSON.stringify(requested.body)}`);
  let status: Record<string, any>;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    status = (await api('GET', `/api/mapping/executions/${requested.body.execution_id}`)).body;
    if (status.status === 'succeeded' || status.status === 'failed') break;
  }
  const seconds = (performance.now() - started) / 1000;
  if (status.status !== 'succeeded') throw new Error(`the execution failed: ${status.error}`);
  console.log(`execute: ${status.rows_loaded.toLocaleString()} rows loaded, ${status.rows_rejected} rejected in ${seconds.toFixed(1)} s → ${Math.round(status.rows_loaded / seconds).toLocaleString()} rows/s`);

  const printRefresh = async (label: string) => {
    const result = await refreshViews(ctx, { trigger: 'manual' });
    console.log(`${label} (waited ${result.waitedMs} ms for the incremental refresh the load asked for):`);
    for (const view of result.views) console.log(`  ${view.view.padEnd(26)} ${String(view.durationMs).padStart(7)} ms  (${view.mode})`);
  };
  await printRefresh('refresh of every view');

  const current = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM canonical_orders')).rows[0]!.n);
  if (ORDER_ROWS > current) {
    console.log(`loading ${(ORDER_ROWS - current).toLocaleString()} more order rows in SQL…`);
    const loadStarted = performance.now();
    await pool.query(
      `INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, currency, data_source_id, source_row)
       SELECT $1, 'GEN-' || g, 'C' || (g % 200000), DATE '2022-01-01' + (g % 1460)::int, (ARRAY['paid', 'shipped', 'complete', 'cancelled'])[1 + g % 4], 10 + (g % 9000) / 7.0, NULL, $2, 0
       FROM generate_series(1, $3::bigint) g`,
      [business, source, ORDER_ROWS - current],
    );
    await pool.query('ANALYZE canonical_orders');
    console.log(`  ${((performance.now() - loadStarted) / 1000).toFixed(1)} s`);
    await printRefresh(`refresh of every view with ${ORDER_ROWS.toLocaleString()} orders`);
  }

  const dashboards = await api('GET', '/api/dashboards');
  const dashboardId: string | undefined = dashboards.body.data?.[0]?.id;
  if (!dashboardId) throw new Error(`no dashboard is listed for ops (GET /api/dashboards answered ${dashboards.status})`);
  const label = `GET /api/dashboard/${dashboardId}/data (ops, ${dashboards.body.data[0].name}, ${ORDER_ROWS.toLocaleString()} orders)`;
  // Answers are kept per view refresh, so the first reads after a refresh query the views (cold) and the
  // rest are served from memory until the next refresh: both are printed.
  const widgets = (await api('GET', `/api/dashboard/${dashboardId}`)).body.data.widgets as { id: string; title: string }[];
  for (const widget of widgets) {
    const t0 = performance.now();
    const res = await api('GET', `/api/dashboard/${dashboardId}/data?widget_id=${widget.id}`);
    if (res.status !== 200) throw new Error(`widget ${widget.title} answered ${res.status}: ${JSON.stringify(res.body)}`);
    console.log(`  cold read of widget ${JSON.stringify(widget.title).padEnd(30)} ${(performance.now() - t0).toFixed(1).padStart(7)} ms`);
  }
  const latencies: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    const res = await api('GET', `/api/dashboard/${dashboardId}/data`);
    if (res.status !== 200) throw new Error(`dashboard data answered ${res.status}: ${JSON.stringify(res.body)}`);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  console.log(`${label}, after the cold reads: n=${REQUESTS} p50=${percentile(latencies, 50).toFixed(1)} ms p95=${percentile(latencies, 95).toFixed(1)} ms (target: p95 < 100 ms)`);
} finally {
  await running.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
