import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor, type Context } from '../../core/context.js';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createLogger } from '../../core/log.js';
import type { LinkedShop } from '../../core/tekmetric/connections.js';
import { dashboardData, listDashboards, type DashboardData } from '../../core/warehouse/dashboards.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { managerOfShops, syncFakeIntoBusiness } from '../helpers/tekmetric.js';

/**
 * The Shop dashboard reads Tekmetric's daily metrics, technicians and work in progress through the
 * reporting role: its figures equal the warehouse's, and a manager of one shop sees that shop only.
 */
let app: TestApp;
let database: { db: TestApp['db'] };
let fake: FakeTekmetric;
let system: Context;
let t: Tenants;
let shops: LinkedShop[];
let dashboardId: string;
const log = createLogger('silent');

beforeAll(async () => {
  app = await startTestApp();
  database = { db: app.db };
  system = app.system;
  t = await seedTenants(system);
  fake = await startFakeTekmetric({ seed: 31, shops: 2, repairOrdersPerShop: 160, days: 40 });
  shops = await syncFakeIntoBusiness(system, fake, t.businessB);
  dashboardId = (await listDashboards(system)).find((d) => d.slug === 'shop')!.id;
}, 120_000);
afterAll(async () => {
  await fake?.close();
  await app?.close();
});

async function userContext(email: string): Promise<Context> {
  const user = await database.db.prisma.user.findUniqueOrThrow({ where: { email } });
  return contextFor({ kind: 'user', id: user.id, email: user.email, name: user.name, role: user.role, businessId: user.businessId, shopIds: user.shopIds }, database.db, log);
}

const widget = (data: DashboardData, title: string) => data.widgets.find((w) => w.title === title)!;
const kpi = (data: DashboardData, title: string) => Object.values(widget(data, title).rows[0] ?? {})[0];

async function warehouseTotals(tmShopIds: number[], from: string, to: string) {
  const { rows } = await database.db.pool.query(
    `SELECT coalesce(sum(car_count), 0)::int AS cars, coalesce(sum(total_sales_cents), 0)::bigint AS sales, coalesce(sum(ro_count), 0)::int AS ros,
            coalesce(sum(gross_profit_cents), 0)::bigint AS gp, coalesce(sum(variance_cents), 0)::bigint AS variance
     FROM tm_daily_shop_metrics WHERE shop_id = ANY ($1::bigint[]) AND metric_date BETWEEN $2 AND $3`,
    [tmShopIds, from, to],
  );
  return rows[0] as { cars: number; sales: string; ros: number; gp: string; variance: string };
}

describe('Shop dashboard', () => {
  it('shows the business\'s shops\' car count, ARO, sales and GP as the warehouse holds them, technicians and work in progress', async () => {
    const ops = await userContext(t.users.opsB.email);
    const data = await dashboardData(ops, dashboardId);
    expect(data.widgets.filter((w) => w.error)).toEqual([]);
    const { from, to } = data.filters.range!;
    const totals = await warehouseTotals(shops.map((s) => s.shopId), from, to);
    expect(totals.ros).toBeGreaterThan(50);
    expect(kpi(data, 'Car count')).toBe(totals.cars);
    expect(kpi(data, 'Total sales')).toBeCloseTo(Number(totals.sales) / 100, 2);
    expect(kpi(data, 'Gross profit')).toBeCloseTo(Number(totals.gp) / 100, 2);
    expect(kpi(data, 'Average repair order')).toBeCloseTo(Math.round(Number(totals.sales) / totals.ros) / 100, 2);
    // The fake's lines add up to its totals: no day is flagged.
    expect(kpi(data, "Days whose totals differ from Tekmetric's")).toBe(0);
    expect(widget(data, "Flagged: days whose totals differ from Tekmetric's").rows).toEqual([]);
    expect(widget(data, 'Sales and gross profit').rows.length).toBeGreaterThan(20);

    const technicians = widget(data, 'Technicians: hours sold, hours worked, efficiency').rows;
    expect(new Set(technicians.map((row) => row.shop_name))).toEqual(new Set(shops.map((s) => s.name)));
    for (const row of technicians) expect(Number(row.efficiency_percent)).toBeCloseTo((Number(row.hours_sold) / Number(row.hours_worked)) * 100, 0);

    const open = fake.shops.flatMap((shop) => shop.repairOrders).filter((order) => [1, 2, 3].includes(order.repairOrderStatus.id) && !order.deletedDate).length;
    const wip = widget(data, 'Open repair orders').rows;
    expect(wip.reduce((sum, row) => sum + Number(row.open_ros), 0)).toBe(open);
  });

  it('a manager of one shop sees that shop only; a flagged variance shows; another business sees nothing', async () => {
    const [first, second] = shops as [LinkedShop, LinkedShop];
    const manager = await managerOfShops(system, 'manager.jj@test.local', t.businessB, [first.backhouseShopId]);
    const ctx = await userContext(manager.email);

    // A day whose lines no longer add up to Tekmetric's total: flagged (written as a sync would leave it).
    const { rows: [flagged] } = await database.db.pool.query(`UPDATE tm_daily_shop_metrics SET variance_cents = 123, tm_total_sales_cents = total_sales_cents - 123 WHERE shop_id = $1 AND metric_date = (SELECT max(metric_date) FROM tm_daily_shop_metrics WHERE shop_id = $1) RETURNING metric_date::text AS day`, [first.shopId]);
    await database.db.pool.query(`UPDATE tm_daily_shop_metrics SET variance_cents = -50 WHERE shop_id = $1 AND metric_date = (SELECT max(metric_date) FROM tm_daily_shop_metrics WHERE shop_id = $1)`, [second.shopId]);
    await database.db.pool.query('REFRESH MATERIALIZED VIEW tm_shop_daily; REFRESH MATERIALIZED VIEW tm_variance_days');
    await database.db.pool.query(`UPDATE refresh_jobs SET finished_at = now() + interval '1 second' WHERE view_name IN ('tm_shop_daily', 'tm_variance_days')`);

    const data = await dashboardData(ctx, dashboardId);
    const { from, to } = data.filters.range!;
    const own = await warehouseTotals([first.shopId], from, to);
    expect(kpi(data, 'Total sales')).toBeCloseTo(Number(own.sales) / 100, 2);
    expect(kpi(data, 'Car count')).toBe(own.cars);
    expect(kpi(data, "Days whose totals differ from Tekmetric's")).toBe(1);
    expect(widget(data, "Flagged: days whose totals differ from Tekmetric's").rows).toEqual([{ day: flagged.day, shop_name: first.name, total_sales: expect.any(Number), tekmetric_total_sales: expect.any(Number), variance: 1.23 }]);
    const names = (title: string) => new Set(widget(data, title).rows.map((row) => row.shop_name));
    expect(names('Technicians: hours sold, hours worked, efficiency')).toEqual(new Set([first.name]));
    expect(names('Open repair orders')).toEqual(new Set([first.name]));

    const stranger = await userContext(t.users.opsA.email);
    const theirs = await dashboardData(stranger, dashboardId);
    expect(kpi(theirs, 'Total sales')).toBe(0);
    expect(widget(theirs, 'Open repair orders').rows).toEqual([]);
  });
});
