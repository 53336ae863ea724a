import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../core/db/index.js';
import { afterRepairOrdersWritten, rebuildShopMetrics, recomputeShopDays, repairOrderStates, takeManualSnapshot } from '../../core/tekmetric/metrics.js';
import { contextFor, systemContext } from '../../core/context.js';
import { loadConfig } from '../../core/config.js';
import { startFakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { shopLocalDate } from '../../core/tekmetric/api-types.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { executeSyncRun } from '../../core/tekmetric/sync/execute.js';
import { requestSyncRun } from '../../core/tekmetric/sync/runs.js';
import { createLogger } from '../../core/log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
const business = randomUUID();
const otherBusiness = randomUUID();
const shopA = 100;
const shopB = 200;

async function sql(text: string, params: unknown[] = []) {
  return (await database.db.pool.query(text, params)).rows;
}

/**
 * A hand-built day (2026-12-01, shop 100) whose figures are worked out by hand in the comments below:
 * tech 11 paid 40.00/h, tech 12 30.00/h, tech 13 without a rate (shop average 35.00/h).
 */
async function buildShops() {
  await sql(`INSERT INTO businesses (id, name) VALUES ($1, 'Garage Group'), ($2, 'Other Group')`, [business, otherBusiness]);
  const [ourShopA] = await sql(`INSERT INTO shops (business_id, name) VALUES ($1, 'JJ Auto') RETURNING id`, [business]);
  const [ourShopB] = await sql(`INSERT INTO shops (business_id, name) VALUES ($1, 'Other Auto') RETURNING id`, [otherBusiness]);
  await sql(
    `INSERT INTO tm_shops (id, business_id, backhouse_shop_id, name, timezone, default_pay_rate_cents) VALUES
       ($1, $3, $4, 'JJ Auto', 'America/Chicago', 2500), ($2, $5, $6, 'Other Auto', 'America/Chicago', 2500)`,
    [shopA, shopB, business, ourShopA.id, otherBusiness, ourShopB.id],
  );
  await sql(
    `INSERT INTO tm_employees (shop_id, id, business_id, first_name, role_id, can_perform_work, pay_rate_cents) VALUES
       (100, 11, $1, 'Ann', 3, true, 4000), (100, 12, $1, 'Ben', 3, true, 3000), (100, 13, $1, 'Cy', 3, true, NULL),
       (200, 21, $2, 'Dee', 3, true, NULL)`,
    [business, otherBusiness],
  );
  const ro = (shop: number, id: number, bizId: string, status: number, vehicle: number, tech: number, posted: string | null, taxes: number, tmTotal: number, deleted = false) =>
    sql(
      `INSERT INTO tm_repair_orders (shop_id, id, business_id, repair_order_number, status_id, vehicle_id, technician_id, taxes_cents, total_sales_cents, posted_date, posted_at, deleted_at)
       VALUES ($1, $2::bigint, $3, $2::integer, $4, $5, $6, $7, $8, $9::date, $9::date + time '17:00', CASE WHEN $10 THEN now() END)`,
      [shop, id, bizId, status, vehicle, tech, taxes, tmTotal, posted, deleted],
    );
  const job = (shop: number, id: number, bizId: string, order: number, authorized: boolean | null, tech: number, subtotal: number, logged: number) =>
    sql(
      `INSERT INTO tm_jobs (shop_id, id, business_id, repair_order_id, name, authorized, technician_id, subtotal_cents, logged_hours)
       VALUES ($1, $2::bigint, $3, $4, 'Job ' || $2::text, $5, $6, $7, $8)`,
      [shop, id, bizId, order, authorized, tech, subtotal, logged],
    );
  const labor = (shop: number, id: number, bizId: string, order: number, jobId: number, rate: number, hours: number) =>
    sql(`INSERT INTO tm_job_labor (shop_id, id, business_id, repair_order_id, job_id, name, rate_cents, hours) VALUES ($1, $2, $3, $4, $5, 'Labor', $6, $7)`, [shop, id, bizId, order, jobId, rate, hours]);
  const part = (id: number, order: number, jobId: number, quantity: number, cost: number, retail: number) =>
    sql(`INSERT INTO tm_job_parts (shop_id, id, business_id, repair_order_id, job_id, name, quantity, cost_cents, retail_cents) VALUES (100, $1, $2, $3, $4, 'Part', $5, $6, $7)`, [id, business, order, jobId, quantity, cost, retail]);

  // RO 1001, posted: job 1 (authorized, tech 11): labor 150.00 × 1.5 h = 225.00, parts 2 × 40.00 (cost 25.00), a
  // 5.00 fee; job 2 (authorized, tech 13): labor 150.00 × 0.4 h = 60.00, a 10.00 discount; job 3 declined (tech 12):
  // labor 300.00, a 120.00 part; an authorized sublet 99.00 (cost 60.00); the order's own 3.50 fee; tax 6.60.
  // Ours: 285.00 + 80.00 + 99.00 + 8.50 - 10.00 + 6.60 = 469.10, as Tekmetric says.
  await ro(100, 1001, business, 5, 501, 11, '2026-12-01', 660, 46910);
  await job(100, 1, business, 1001, true, 11, 31000, 1.2);
  await labor(100, 101, business, 1001, 1, 15000, 1.5);
  await part(201, 1001, 1, 2, 2500, 4000);
  await sql(`INSERT INTO tm_fees (shop_id, id, business_id, repair_order_id, job_id, name, total_cents) VALUES (100, 301, $1, 1001, 1, 'Shop Supplies', 500), (100, 302, $1, 1001, NULL, 'Disposal', 350)`, [business]);
  await job(100, 2, business, 1001, true, 13, 5000, 0.5);
  await labor(100, 102, business, 1001, 2, 15000, 0.4);
  await sql(`INSERT INTO tm_discounts (shop_id, id, business_id, repair_order_id, job_id, name, total_cents) VALUES (100, 401, $1, 1001, 2, 'Labor discount', 1000)`, [business]);
  await job(100, 3, business, 1001, false, 12, 42000, 0);
  await labor(100, 103, business, 1001, 3, 15000, 2.0);
  await part(202, 1001, 3, 1, 7000, 12000);
  await sql(`INSERT INTO tm_sublets (shop_id, id, business_id, repair_order_id, name, authorized, price_cents, cost_cents) VALUES (100, 501, $1, 1001, 'Glass', true, 9900, 6000)`, [business]);

  // RO 1002, on account: job 4 (authorized, tech 12): labor 120.00 × 2.5 h = 300.00, parts 4 × 15.00 (cost 9.00);
  // the order's 20.00 discount. Ours: 340.00; Tekmetric says 341.00 (a variance of -1.00).
  await ro(100, 1002, business, 6, 502, 12, '2026-12-01', 0, 34100);
  await job(100, 4, business, 1002, true, 12, 36000, 2.0);
  await labor(100, 104, business, 1002, 4, 12000, 2.5);
  await part(203, 1002, 4, 4, 900, 1500);
  await sql(`INSERT INTO tm_discounts (shop_id, id, business_id, repair_order_id, job_id, name, total_cents) VALUES (100, 402, $1, 1002, NULL, 'Coupon', 2000)`, [business]);

  // Not in the day: posted the next day; still in progress; deleted.
  await ro(100, 1003, business, 5, 503, 11, '2026-12-02', 0, 15000);
  await job(100, 5, business, 1003, true, 11, 15000, 1.0);
  await labor(100, 105, business, 1003, 5, 15000, 1.0);
  await ro(100, 1004, business, 2, 504, 11, null, 0, 7500);
  await job(100, 6, business, 1004, true, 11, 7500, 0.5);
  await labor(100, 106, business, 1004, 6, 15000, 0.5);
  await ro(100, 1005, business, 5, 505, 11, '2026-12-01', 0, 99900, true);
  await job(100, 7, business, 1005, true, 11, 99900, 1);

  // Shop 200: its only technician has no rate and nobody else does: the default 25.00/h.
  await ro(200, 2001, otherBusiness, 5, 601, 21, '2026-12-01', 0, 10000);
  await job(200, 21, otherBusiness, 2001, true, 21, 10000, 1.0);
  await labor(200, 121, otherBusiness, 2001, 21, 10000, 1.0);
}

beforeAll(async () => {
  database = await createTestDatabase();
  await buildShops();
});
afterAll(async () => database?.drop());

describe('Tekmetric daily metrics', () => {
  it('a hand-built day: shop and technician metrics equal the hand-computed values, for the days asked only', async () => {
    const written = await withTransaction(database.db.pool, (client) => recomputeShopDays(client, shopA, ['2026-12-01']));
    expect(written).toBe(1);
    const days = await sql(`SELECT metric_date::text AS day FROM tm_daily_shop_metrics WHERE shop_id = 100`);
    expect(days).toEqual([{ day: '2026-12-01' }]);
    const [day] = await sql(`SELECT * FROM tm_daily_shop_metrics WHERE shop_id = 100 AND metric_date = '2026-12-01'`);
    expect(day).toMatchObject({
      business_id: business,
      car_count: 2,
      ro_count: 2,
      total_sales_cents: '80910',
      labor_sales_cents: '58500',
      parts_sales_cents: '14000',
      sublet_sales_cents: '9900',
      fee_total_cents: '850',
      discount_total_cents: '3000',
      taxes_cents: '660',
      parts_cost_cents: '8600',
      // 1.5 h × 40.00 (assigned) + 0.4 h × 35.00 (shop average) + 2.5 h × 30.00 (assigned)
      labor_cost_cents: '14900',
      sublet_cost_cents: '6000',
      parts_gross_profit_cents: '5400',
      labor_gross_profit_cents: '43600',
      sublet_gross_profit_cents: '3900',
      gross_profit_cents: '50750',
      average_ro_cents: '40455',
      authorized_cents: '81900',
      presented_cents: '123900',
      labor_hours_sold: '4.40',
      tm_total_sales_cents: '81010',
      variance_cents: '-100',
    });

    const techs = await sql(
      `SELECT technician_id::int AS tech, hours_sold, hours_worked, efficiency_percent, labor_sales_cents, labor_cost_cents, pay_rate_cents, rate_source, job_count, ro_count
       FROM tm_tech_daily_metrics WHERE shop_id = 100 ORDER BY technician_id`,
    );
    expect(techs).toEqual([
      { tech: 11, hours_sold: '1.50', hours_worked: '1.20', efficiency_percent: '125.00', labor_sales_cents: '22500', labor_cost_cents: '6000', pay_rate_cents: '4000', rate_source: 'assigned', job_count: 1, ro_count: 1 },
      { tech: 12, hours_sold: '2.50', hours_worked: '2.00', efficiency_percent: '125.00', labor_sales_cents: '30000', labor_cost_cents: '7500', pay_rate_cents: '3000', rate_source: 'assigned', job_count: 1, ro_count: 1 },
      { tech: 13, hours_sold: '0.40', hours_worked: '0.50', efficiency_percent: '80.00', labor_sales_cents: '6000', labor_cost_cents: '1400', pay_rate_cents: '3500', rate_source: 'shop_avg', job_count: 1, ro_count: 1 },
    ]);

    await withTransaction(database.db.pool, (client) => recomputeShopDays(client, shopB, ['2026-12-01']));
    const [fallback] = await sql(`SELECT labor_cost_cents, pay_rate_cents, rate_source FROM tm_tech_daily_metrics WHERE shop_id = 200`);
    expect(fallback).toEqual({ labor_cost_cents: '2500', pay_rate_cents: '2500', rate_source: 'default' });
  });

  it('takes a snapshot when a repair order is posted or completed, and updates only the days that changed', async () => {
    await withTransaction(database.db.pool, (client) => rebuildShopMetrics(client, shopA));
    const [untouched] = await sql(`SELECT computed_at FROM tm_daily_shop_metrics WHERE shop_id = 100 AND metric_date = '2026-12-01'`);
    await sql(`INSERT INTO tm_repair_orders (shop_id, id, business_id, status_id, vehicle_id, technician_id, total_sales_cents) VALUES (100, 1006, $1, 2, 506, 12, 0)`, [business]);

    // The sync's upsert: read the states, write the orders (1004 posted on 12-02, 1006 completed), then tell metrics.
    const result = await withTransaction(database.db.pool, async (client) => {
      const before = await repairOrderStates(client, shopA, [1004, 1006]);
      expect(before).toEqual([
        { repairOrderId: 1004, statusId: 2, postedDate: null },
        { repairOrderId: 1006, statusId: 2, postedDate: null },
      ]);
      await client.query(`UPDATE tm_repair_orders SET status_id = 5, posted_date = '2026-12-02' WHERE shop_id = 100 AND id = 1004`);
      await client.query(`UPDATE tm_repair_orders SET status_id = 3, completed_date = '2026-12-02' WHERE shop_id = 100 AND id = 1006`);
      return afterRepairOrdersWritten(client, shopA, [1004, 1006], before);
    });
    expect(result).toEqual({ snapshots: 2, days: ['2026-12-02'] });

    const snapshots = await sql(`SELECT repair_order_id::int AS ro, trigger, status_id, snapshot_date::text AS day, total_sales_cents, labor_cost_cents, gross_profit_cents, details->'jobs'->0->>'id' AS first_job FROM tm_ro_snapshots ORDER BY repair_order_id`);
    expect(snapshots).toEqual([
      // 0.5 h at 150.00 = 75.00; cost 0.5 h × 40.00 = 20.00.
      { ro: 1004, trigger: 'posted', status_id: 5, day: '2026-12-02', total_sales_cents: '7500', labor_cost_cents: '2000', gross_profit_cents: '5500', first_job: '6' },
      { ro: 1006, trigger: 'completed', status_id: 3, day: '2026-12-02', total_sales_cents: '0', labor_cost_cents: '0', gross_profit_cents: '0', first_job: null },
    ]);
    const [nextDay] = await sql(`SELECT ro_count, total_sales_cents FROM tm_daily_shop_metrics WHERE shop_id = 100 AND metric_date = '2026-12-02'`);
    expect(nextDay).toEqual({ ro_count: 2, total_sales_cents: '22500' });
    const [sameDay] = await sql(`SELECT computed_at FROM tm_daily_shop_metrics WHERE shop_id = 100 AND metric_date = '2026-12-01'`);
    expect(sameDay.computed_at).toEqual(untouched.computed_at);

    // Written again unchanged: no new snapshot. Unposted: its old day is recomputed and loses it.
    const again = await withTransaction(database.db.pool, async (client) => {
      const before = await repairOrderStates(client, shopA, [1004]);
      await client.query(`UPDATE tm_repair_orders SET status_id = 2, posted_date = NULL WHERE shop_id = 100 AND id = 1004`);
      return afterRepairOrdersWritten(client, shopA, [1004], before);
    });
    expect(again).toEqual({ snapshots: 0, days: ['2026-12-02'] });
    const [reverted] = await sql(`SELECT ro_count, total_sales_cents FROM tm_daily_shop_metrics WHERE shop_id = 100 AND metric_date = '2026-12-02'`);
    expect(reverted).toEqual({ ro_count: 1, total_sales_cents: '15000' });
  });

  it('a manual snapshot is audited, and refused outside the person\'s scope', async () => {
    const log = createLogger('silent');
    const ops = contextFor({ kind: 'user', id: randomUUID(), email: 'ops@garage.test', name: 'Ops', role: 'ops', businessId: business, shopIds: [] }, database.db, log);
    expect(await takeManualSnapshot(ops, shopA, 1001)).toBe(1);
    const [snapshot] = await sql(`SELECT trigger, total_sales_cents, details->>'variance_cents' AS variance FROM tm_ro_snapshots WHERE repair_order_id = 1001`);
    expect(snapshot).toEqual({ trigger: 'manual', total_sales_cents: '46910', variance: '0' });
    const [audit] = await sql(`SELECT action, record_id FROM audit_log WHERE resource = 'tm_ro_snapshots'`);
    expect(audit).toEqual({ action: 'snapshot', record_id: '100/1001' });

    const stranger = contextFor({ kind: 'user', id: randomUUID(), email: 'ops@other.test', name: 'Other', role: 'ops', businessId: otherBusiness, shopIds: [] }, database.db, log);
    await expect(takeManualSnapshot(stranger, shopA, 1001)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('Tekmetric metrics kept current by the sync', () => {
  it('a sync from the fake fills every posted day with Tekmetric\'s totals (no variance), and a repair order posted upstream is snapshotted and counted', async () => {
    const fake = await startFakeTekmetric({ seed: 23, shops: 1, repairOrdersPerShop: 150, days: 20 });
    try {
      forgetTekmetricTokens();
      const config = loadConfig({ TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
      const ctx = systemContext('test', database.db, createLogger('silent'));
      const sync = async () => executeSyncRun(ctx, config, (await requestSyncRun(ctx, null, { kind: 'incremental', trigger: 'cli' })).id);
      await sync();
      const shop = fake.shops[0]!;
      const [{ timezone }] = await sql(`SELECT timezone FROM tm_shops WHERE id = $1`, [shop.shop.id]);
      const expected = new Map<string, { count: number; total: number }>();
      for (const order of shop.repairOrders) {
        if (![5, 6].includes(order.repairOrderStatus.id) || order.deletedDate || !order.postedDate) continue;
        const day = shopLocalDate(order.postedDate, timezone);
        const entry = expected.get(day) ?? { count: 0, total: 0 };
        entry.count += 1;
        entry.total += order.totalSales;
        expected.set(day, entry);
      }
      const rows = await sql(`SELECT metric_date::text AS day, ro_count, total_sales_cents, tm_total_sales_cents, variance_cents FROM tm_daily_shop_metrics WHERE shop_id = $1 ORDER BY metric_date`, [shop.shop.id]);
      expect(rows.length).toBe(expected.size);
      for (const row of rows) {
        const want = expected.get(row.day)!;
        expect({ day: row.day, count: row.ro_count, ours: Number(row.total_sales_cents), theirs: Number(row.tm_total_sales_cents), variance: Number(row.variance_cents) }).toEqual({ day: row.day, count: want.count, ours: want.total, theirs: want.total, variance: 0 });
      }
      const [{ techs }] = await sql(`SELECT count(DISTINCT technician_id)::int AS techs FROM tm_tech_daily_metrics WHERE shop_id = $1`, [shop.shop.id]);
      expect(techs).toBe(shop.technicians.length);

      const open = shop.repairOrders.find((order) => order.repairOrderStatus.id === 2 && !order.deletedDate)!;
      fake.data.postRepairOrder(open.id);
      await sync();
      const snapshots = await sql(`SELECT trigger, snapshot_date::text AS day, total_sales_cents FROM tm_ro_snapshots WHERE shop_id = $1 AND repair_order_id = $2`, [shop.shop.id, open.id]);
      const postedDay = shopLocalDate(open.postedDate!, timezone);
      expect(snapshots).toEqual([{ trigger: 'posted', day: postedDay, total_sales_cents: String(open.totalSales) }]);
      const [today] = await sql(`SELECT ro_count, tm_total_sales_cents FROM tm_daily_shop_metrics WHERE shop_id = $1 AND metric_date = $2`, [shop.shop.id, postedDay]);
      const want = expected.get(postedDay) ?? { count: 0, total: 0 };
      expect(today).toEqual({ ro_count: want.count + 1, tm_total_sales_cents: String(want.total + open.totalSales) });
    } finally {
      await fake.close();
    }
  });
});
