import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecord } from '../../core/records/service.js';
import { todayIn } from '../../core/warehouse/ranges.js';
import { GOLD_RECOMPUTE_QUEUE } from '../../jobs/ingest-gold.js';
import { adminClient, apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { writeSilverBatch, type SilverTransaction } from '../helpers/silver.js';

/**
 * The gold and Pipeline health dashboards over silver written and folded as the worker does: every widget
 * answers with rows, readers see their business and shops only, a business can leave simulated sales out,
 * a dashboard reader reads dashboards and nothing else, and the nightly job checks gold.
 */

let app: TestApp;
let t: Tenants;
let readerEmail: string;
const today = todayIn('Europe/London');
const at = (hour: number, minute = 0) => `${today}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;

/** Shop A1 (the manager's) sells 2 × 3.00; shop A2 sells 1 × 10.00 real and 4 × 5.00 simulated. */
const batch: SilverTransaction[] = [
  { store: 'A1', transactionId: 'T1', occurredAt: at(0, 10), items: [{ name: 'Croissant', qty: '2', unitCents: 300 }] },
  { store: 'A2', transactionId: 'T2', occurredAt: at(0, 20), items: [{ name: 'Tart', qty: '1', unitCents: 1000 }] },
  { store: 'A2', transactionId: 'T3', occurredAt: at(0, 30), simulated: true, items: [{ name: 'Croissant', qty: '4', unitCents: 500 }] },
];

async function dashboardId(api: Awaited<ReturnType<typeof apiClient>>, name: string): Promise<string> {
  const list = await api.call('GET', '/api/dashboards');
  const found = list.body!.data.find((d: { name: string }) => d.name === name);
  if (!found) throw new Error(`dashboard ${name} is not listed: ${JSON.stringify(list.body)}`);
  return found.id as string;
}

type Widget = { title: string; rows: Record<string, unknown>[]; error: string | null; freshness: { stale: boolean } };
const kpi = (widgets: Widget[], title: string) => widgets.find((w) => w.title === title)!.rows[0]!;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  await app.db.pool.query(`UPDATE shops SET code = CASE id WHEN $1 THEN 'A1' WHEN $2 THEN 'A2' END WHERE id IN ($1, $2)`, [t.shopA1, t.shopA2]);
  await writeSilverBatch(app.db.pool, t.businessA, batch);
  await app.db.pool.query(
    `INSERT INTO ingest_etl_runs (started_at, finished_at, events_claimed, transactions_written, events_failed, duration_ms, worker) VALUES (now() - interval '2 seconds', now(), 3, 3, 0, 120, 'test')`,
  );
  await app.db.pool.query(`INSERT INTO data_quality_alerts (business_id, severity, rule, store_code, transaction_id, message) VALUES ($1, 'warning', 'line_items_sum_to_total', 'A2', 'T2', 'lines differ')`, [t.businessA]);
  readerEmail = 'reader.a@test.local';
  await createRecord(app.system, 'users', { email: readerEmail, role: 'dashboard_reader', businessId: t.businessA, password: 'a-long-password-1' });
}, 120_000);
afterAll(async () => app?.close());

describe('ingest dashboards', () => {
  it('every widget of the sales and health dashboards answers with rows, current as read', async () => {
    const admin = await apiClient(app.url, t.users.admin.email);
    for (const name of ['Store sales (ingested)', 'Pipeline health']) {
      const id = await dashboardId(admin, name);
      const data = await admin.call('GET', `/api/dashboard/${id}/data?business_id=${t.businessA}`);
      expect(data.status, JSON.stringify(data.body)).toBe(200);
      const widgets = data.body!.data.widgets as Widget[];
      expect(widgets.length).toBeGreaterThan(8);
      for (const widget of widgets) {
        expect(widget.error, widget.title).toBeNull();
        expect(widget.rows.length, widget.title).toBeGreaterThan(0);
        expect(widget.freshness.stale, widget.title).toBe(false);
      }
      if (name === 'Store sales (ingested)') {
        expect(kpi(widgets, 'Sales')).toEqual({ sales: 36 });
        expect(kpi(widgets, 'Transactions')).toEqual({ transactions: 3 });
        expect(widgets.find((w) => w.title === 'Real and simulated sales')!.rows).toEqual([{ traffic: 'simulated', sales: 20 }, { traffic: 'real', sales: 16 }]);
        expect(widgets.find((w) => w.title === 'Baskets by number of items')!.rows).toEqual([{ items_per_basket: '01', transactions: 1 }, { items_per_basket: '02', transactions: 1 }, { items_per_basket: '04-05', transactions: 1 }]);
      } else {
        expect(kpi(widgets, 'Open data-quality alerts')).toEqual({ alerts: 1 });
        expect(kpi(widgets, 'Events waiting for silver')).toEqual({ pending_events: 0 });
        const traffic = widgets.find((w) => w.title === 'Events per minute: simulated and real')!.rows;
        expect(traffic.reduce((sum, row) => sum + Number(row.bronze_events), 0)).toBe(3);
        expect(new Set(traffic.map((row) => row.traffic))).toEqual(new Set(['real', 'simulated']));
      }
    }
  });

  it('a new batch shows on the next read, with no refresh in between', async () => {
    const admin = await apiClient(app.url, t.users.admin.email);
    const id = await dashboardId(admin, 'Store sales (ingested)');
    await writeSilverBatch(app.db.pool, t.businessA, [{ store: 'A1', transactionId: 'T4', occurredAt: at(0, 40), items: [{ name: 'Tart', qty: '1', unitCents: 1000 }] }]);
    const data = await admin.call('GET', `/api/dashboard/${id}/data?business_id=${t.businessA}`);
    expect(kpi(data.body!.data.widgets, 'Sales')).toEqual({ sales: 46 });
    // Replaced with other content (a late correction): folded out and in again.
    await writeSilverBatch(app.db.pool, t.businessA, [{ store: 'A1', transactionId: 'T4', occurredAt: at(0, 40), items: [{ name: 'Tart', qty: '2', unitCents: 1000 }] }]);
    const again = await admin.call('GET', `/api/dashboard/${id}/data?business_id=${t.businessA}`);
    expect(kpi(again.body!.data.widgets, 'Sales')).toEqual({ sales: 56 });
    expect(kpi(again.body!.data.widgets, 'Transactions')).toEqual({ transactions: 4 });
  });

  it('a manager limited to a shop sees only that shop; another business sees none of it', async () => {
    const manager = await apiClient(app.url, t.users.managerA.email);
    const id = await dashboardId(manager, 'Store sales (ingested)');
    const data = await manager.call('GET', `/api/dashboard/${id}/data`);
    expect(data.status, JSON.stringify(data.body)).toBe(200);
    // Shop A1: T1 (6.00) and T4 (20.00).
    expect(kpi(data.body!.data.widgets, 'Sales')).toEqual({ sales: 26 });
    expect(data.body!.data.widgets.find((w: Widget) => w.title === 'Sales by store')!.rows).toEqual([{ store: 'A1', sales: 26 }]);
    expect((await manager.call('GET', '/api/dashboards')).body!.data.map((d: { name: string }) => d.name)).not.toContain('Pipeline health');

    const opsB = await apiClient(app.url, t.users.opsB.email);
    const other = await opsB.call('GET', `/api/dashboard/${id}/data`);
    expect(kpi(other.body!.data.widgets, 'Sales')).toEqual({ sales: 0 });
  });

  it('a business that excludes simulated data sees only real sales on its gold dashboards', async () => {
    const admin = await apiClient(app.url, t.users.admin.email);
    const id = await dashboardId(admin, 'Store sales (ingested)');
    const set = await admin.call('PATCH', `/api/businesses/${t.businessA}`, { goldExcludesSimulated: true });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const data = await admin.call('GET', `/api/dashboard/${id}/data?business_id=${t.businessA}`);
    expect(kpi(data.body!.data.widgets, 'Sales')).toEqual({ sales: 36 });
    expect(data.body!.data.widgets.find((w: Widget) => w.title === 'Real and simulated sales')!.rows).toEqual([{ traffic: 'real', sales: 36 }]);
    await admin.call('PATCH', `/api/businesses/${t.businessA}`, { goldExcludesSimulated: false });
  });

  it('a dashboard reader reads the dashboards granted to it, and nothing else', async () => {
    const reader = await apiClient(app.url, readerEmail, 'a-long-password-1');
    const listed = await reader.call('GET', '/api/dashboards');
    expect(listed.body!.data.map((d: { name: string }) => d.name)).toEqual(['Store sales (ingested)']);
    const id = listed.body!.data[0].id as string;
    const data = await reader.call('GET', `/api/dashboard/${id}/data`);
    const silver = await app.db.pool.query(`SELECT sum(total_cents)::int AS cents FROM transactions WHERE business_id = $1`, [t.businessA]);
    expect(kpi(data.body!.data.widgets, 'Sales')).toEqual({ sales: silver.rows[0].cents / 100 });
    for (const path of ['/api/products', '/api/businesses', '/api/shops', '/api/users', '/api/audit-log', '/api/jobs', `/api/businesses/${t.businessA}`, '/api/feeds', '/api/warehouse/views']) {
      const res = await reader.call('GET', path);
      expect([403, 404], `${path}: ${JSON.stringify(res.body)}`).toContain(res.status);
    }
    expect((await reader.call('POST', '/api/products', { businessId: t.businessA, name: 'Planted', sellingPriceCents: 1 })).status).toBe(403);
    expect((await reader.call('PATCH', `/api/businesses/${t.businessA}`, { goldExcludesSimulated: true })).status).toBe(403);

    // In the admin: the Dashboards page lists the granted dashboard; record screens and the Metrics page refuse.
    const admin = await adminClient(app.url, readerEmail, 'a-long-password-1');
    const page = await admin.call('GET', '/admin/api/pages/dashboards');
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    expect(page.body!.dashboards.map((d: { name: string }) => d.name)).toEqual(['Store sales (ingested)']);
    expect((await admin.call('GET', '/admin/api/resources/Product/actions/list')).status).toBe(403);
    expect((await admin.call('GET', '/admin/api/resources/Business/actions/list')).status).toBe(403);
    const metrics = await admin.call('GET', '/admin/api/pages/metrics');
    expect(metrics.status, JSON.stringify(metrics.body)).toBe(403);
  });

  it('the nightly job recomputes gold from silver on a worker and finds it equal', async () => {
    const jobId = (await app.jobs.send(GOLD_RECOMPUTE_QUEUE, {}))!;
    await expect
      .poll(async () => (await app.db.pool.query(`SELECT state::text, output FROM pgboss.job WHERE id = $1`, [jobId])).rows[0], { timeout: 30_000, interval: 200 })
      .toMatchObject({ state: 'completed', output: { alerted: [], checks: expect.arrayContaining([expect.objectContaining({ aggregate: 'gold_sales_daily', differences: 0 })]) } });
  });
});
