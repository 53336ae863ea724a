import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor, type Context } from '../../core/context.js';
import { createLogger } from '../../core/log.js';
import { dashboardData, listDashboards, type DashboardData } from '../../core/warehouse/dashboards.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { managerOfShops } from '../helpers/tekmetric.js';

/**
 * The Stock health dashboard reads the latest snapshot day of stock_health_snapshots through the reporting
 * role: its figures equal the snapshot's, and a manager of one store sees that store only.
 */
let app: TestApp;
let t: Tenants;
let dashboardId: string;
const log = createLogger('silent');

type Row = { status: string; onHand: number; cover: number | null; order: number; orderCents: number; sku: string };

/** Snapshot rows as the stock_health pipeline writes them (the view reads nothing else). */
async function snapshot(businessId: string, shopId: string, storeCode: string, day: string, rows: Row[]): Promise<void> {
  const runId = randomUUID();
  const jobId = randomUUID();
  for (const [index, row] of rows.entries()) {
    await app.db.pool.query(
      `INSERT INTO stock_health_snapshots (business_id, business_date, pipeline_run_id, file_job_id, store_code, shop_id, sku, product_name,
         on_hand, sold_last_30_days, unit_cost_cents, supplier, lead_time_days, moq, pack_size, open_po_qty, avg_daily_sales, days_of_cover,
         safety_stock, reorder_point, suggested_order_qty, status, stock_value_cents, order_value_cents, source_row)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 30, 250, 'Acme', 7, 1, 1, 0, 1, $10, 3, 10, $11, $12, $9 * 250, $13, $14)`,
      [businessId, day, runId, jobId, storeCode, shopId, row.sku, `Product ${row.sku}`, row.onHand, row.cover, row.order, row.status, row.orderCents, index + 2],
    );
  }
}

async function userContext(email: string): Promise<Context> {
  const user = await app.db.prisma.user.findUniqueOrThrow({ where: { email } });
  return contextFor({ kind: 'user', id: user.id, email: user.email, name: user.name, role: user.role, businessId: user.businessId, shopIds: user.shopIds }, app.db, log);
}

const widget = (data: DashboardData, title: string) => data.widgets.find((w) => w.title === title)!;
const kpi = (data: DashboardData, title: string) => Object.values(widget(data, title).rows[0] ?? {})[0];

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  dashboardId = (await listDashboards(app.system)).find((d) => d.slug === 'stock-health')!.id;
  // An older day for store 1 that the dashboard must not count.
  await snapshot(t.businessA, t.shopA1, 'A1', '2026-12-05', [{ sku: 'OLD', status: 'stockout', onHand: 0, cover: 0, order: 50, orderCents: 99_900 }]);
  await snapshot(t.businessA, t.shopA1, 'A1', '2026-12-06', [
    { sku: 'S1', status: 'stockout', onHand: 0, cover: 0, order: 24, orderCents: 6000 },
    { sku: 'S2', status: 'critical', onHand: 2, cover: 2, order: 12, orderCents: 3000 },
    { sku: 'S3', status: 'healthy', onHand: 40, cover: 40, order: 0, orderCents: 0 },
    { sku: 'S4', status: 'overstock', onHand: 90, cover: null, order: 0, orderCents: 0 },
  ]);
  await snapshot(t.businessA, t.shopA2, 'A2', '2026-12-06', [
    { sku: 'S1', status: 'stockout', onHand: 0, cover: 0, order: 36, orderCents: 9000 },
    { sku: 'S2', status: 'stockout', onHand: 0, cover: 0, order: 12, orderCents: 3000 },
    { sku: 'S5', status: 'low', onHand: 8, cover: 8, order: 6, orderCents: 1500 },
  ]);
  await snapshot(t.businessB, t.shopB1, 'B1', '2026-12-06', [{ sku: 'S1', status: 'critical', onHand: 1, cover: 1, order: 5, orderCents: 1250 }]);
}, 120_000);
afterAll(async () => {
  await app?.close();
});

describe('Stock health dashboard', () => {
  it('a manager of one store sees that store\'s latest snapshot only, with the snapshot\'s figures', async () => {
    const manager = await managerOfShops(app.system, 'manager.stock@test.local', t.businessA, [t.shopA1]);
    const data = await dashboardData(await userContext(manager.email), dashboardId);
    expect(data.widgets.filter((w) => w.error)).toEqual([]);
    expect(kpi(data, 'Stockouts')).toBe(1);
    expect(kpi(data, 'Critical items')).toBe(1);
    expect(kpi(data, 'Items to order')).toBe(2);
    expect(kpi(data, 'Suggested order value')).toBeCloseTo(90, 2);
    // (0 + 2 + 40) / 3 items that sell.
    expect(kpi(data, 'Average days of cover')).toBeCloseTo(14, 2);
    const orders = widget(data, 'Items to order, by store').rows;
    expect(orders.map((row) => [row.store_name, row.sku, row.suggested_order_qty, row.order_value])).toEqual([
      ['Alpha High Street', 'S1', 24, 60],
      ['Alpha High Street', 'S2', 12, 30],
    ]);

    // The figures equal the snapshot's latest day for that store.
    const { rows: [expected] } = await app.db.pool.query(
      `SELECT count(*) FILTER (WHERE status = 'stockout')::int AS stockouts, sum(order_value_cents)::int AS cents
       FROM stock_health_snapshots WHERE shop_id = $1 AND business_date = '2026-12-06'`, [t.shopA1]);
    expect(kpi(data, 'Stockouts')).toBe(expected.stockouts);
    expect(Number(kpi(data, 'Suggested order value')) * 100).toBeCloseTo(expected.cents, 0);
  });

  it('ops sees every store of their business, and nothing of another business', async () => {
    const data = await dashboardData(await userContext(t.users.opsA.email), dashboardId);
    expect(kpi(data, 'Stockouts')).toBe(3);
    expect(kpi(data, 'Items to order')).toBe(5);
    expect(kpi(data, 'Suggested order value')).toBeCloseTo(225, 2);
    const stores = new Set(widget(data, 'Items to order, by store').rows.map((row) => row.store_name));
    expect(stores).toEqual(new Set(['Alpha High Street', 'Alpha Station']));

    const other = await dashboardData(await userContext(t.users.opsB.email), dashboardId);
    expect(kpi(other, 'Critical items')).toBe(1);
    expect(widget(other, 'Items to order, by store').rows.map((row) => row.store_name)).toEqual(['Beta North']);
  });
});
