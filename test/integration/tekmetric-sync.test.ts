import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { systemContext, type Context } from '../../core/context.js';
import { recalculate, startFakeTekmetric, type FakeShop, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createLogger } from '../../core/log.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { createConnection } from '../../core/tekmetric/connections.js';
import { executeSyncRun, type SyncConfig } from '../../core/tekmetric/sync/execute.js';
import { requestSyncRun } from '../../core/tekmetric/sync/runs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * The whole sync against the fake Tekmetric server (real client, real HTTP, real PostgreSQL): every entity
 * and child line arrives with the fake's totals, a second sync writes nothing, changes upstream come in
 * incrementally.
 */
let database: TestDatabase;
let fake: FakeTekmetric;
let ctx: Context;
let config: SyncConfig;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeTekmetric({ seed: 19, shops: 2, repairOrdersPerShop: 140, days: 30 });
  forgetTekmetricTokens();
  config = loadConfig({ TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
  ctx = systemContext('test', database.db, createLogger('silent'));
});
afterAll(async () => {
  await fake?.close();
  await database?.drop();
});

async function syncAll(shopId?: number) {
  const run = await requestSyncRun(ctx, null, { kind: 'incremental', shopId, trigger: 'cli' });
  const counts = await executeSyncRun(ctx, config, run.id);
  return { run, counts };
}

const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => (await database.db.pool.query(sql, params)).rows[0] as T;

/** What the fake holds for a shop, counted and summed as the warehouse should hold it. */
function expectedOf(shop: FakeShop) {
  const orders = shop.repairOrders;
  const jobs = orders.flatMap((o) => o.jobs);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    employees: shop.employees.length,
    customers: shop.customers.length,
    vehicles: shop.vehicles.length,
    appointments: shop.appointments.filter((a) => !a.deletedDate).length,
    repairOrders: orders.length,
    jobs: jobs.length,
    parts: jobs.flatMap((j) => j.parts).length,
    labor: jobs.flatMap((j) => j.labor).length,
    sublets: orders.flatMap((o) => o.sublets).length,
    fees: jobs.flatMap((j) => j.fees).length + orders.flatMap((o) => o.fees).length,
    discounts: jobs.flatMap((j) => j.discounts).length + orders.flatMap((o) => o.discounts).length,
    concerns: orders.flatMap((o) => o.customerConcerns).length,
    totalSales: sum(orders.map((o) => o.totalSales)),
    partsSales: sum(orders.map((o) => o.partsSales)),
    laborSales: sum(orders.map((o) => o.laborSales)),
    subletSales: sum(orders.map((o) => o.subletSales)),
    feeTotal: sum(orders.map((o) => o.feeTotal)),
    discountTotal: sum(orders.map((o) => o.discountTotal)),
    taxes: sum(orders.map((o) => o.taxes)),
    partRetail: sum(jobs.flatMap((j) => j.parts.map((p) => Math.round(p.quantity * p.retail)))),
    subletPrice: sum(orders.flatMap((o) => o.sublets.map((s) => s.price))),
    deletedOrders: orders.filter((o) => o.deletedDate).length,
  };
}

async function warehouseOf(shopId: number) {
  const count = async (table: string) => Number((await one<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE shop_id = $1`, [shopId])).n);
  const sums = await one<Record<string, string>>(
    `SELECT sum(total_sales_cents) AS "totalSales", sum(parts_sales_cents) AS "partsSales", sum(labor_sales_cents) AS "laborSales", sum(sublet_sales_cents) AS "subletSales",
            sum(fee_total_cents) AS "feeTotal", sum(discount_total_cents) AS "discountTotal", sum(taxes_cents) AS "taxes", count(*) FILTER (WHERE deleted_at IS NOT NULL) AS "deletedOrders"
     FROM tm_repair_orders WHERE shop_id = $1`,
    [shopId],
  );
  const partRetail = await one<{ v: string }>(`SELECT coalesce(sum(round(quantity * retail_cents)), 0) AS v FROM tm_job_parts WHERE shop_id = $1`, [shopId]);
  const subletPrice = await one<{ v: string }>(`SELECT coalesce(sum(price_cents), 0) AS v FROM tm_sublets WHERE shop_id = $1`, [shopId]);
  return {
    employees: await count('tm_employees'),
    customers: await count('tm_customers'),
    vehicles: await count('tm_vehicles'),
    appointments: await count('tm_appointments'),
    repairOrders: await count('tm_repair_orders'),
    jobs: await count('tm_jobs'),
    parts: await count('tm_job_parts'),
    labor: await count('tm_job_labor'),
    sublets: await count('tm_sublets'),
    fees: await count('tm_fees'),
    discounts: await count('tm_discounts'),
    concerns: await count('tm_concerns'),
    ...Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Number(v)])),
    partRetail: Number(partRetail.v),
    subletPrice: Number(subletPrice.v),
  };
}

describe('Tekmetric sync from the fake server', () => {
  it('a full sync links every shop to a business of its own and brings every entity and child line, with the fake totals in cents', async () => {
    const { counts, run } = await syncAll();
    expect(counts.shops).toBe(2);
    const shops = await database.db.pool.query<{ id: string; name: string; business_name: string }>(`SELECT s.id, s.name, b.name AS business_name FROM tm_shops s JOIN businesses b ON b.id = s.business_id ORDER BY s.id`);
    expect(shops.rows.map((s) => Number(s.id))).toEqual(fake.shops.map((s) => s.shop.id));
    for (const shop of fake.shops) {
      const expected = expectedOf(shop);
      expect(expected.repairOrders).toBeGreaterThan(100);
      expect(expected.parts).toBeGreaterThan(0);
      expect(expected.sublets).toBeGreaterThan(0);
      expect(await warehouseOf(shop.shop.id)).toEqual(expected);
    }
    const log = await database.db.pool.query<{ entity: string; status: string; written: number }>(`SELECT entity, status, written FROM tm_sync_log WHERE run_id = $1`, [run.id]);
    expect(log.rows).toHaveLength(2 * 5);
    expect(log.rows.every((line) => line.status === 'succeeded')).toBe(true);
    const finished = await one<{ status: string }>(`SELECT status FROM tm_sync_runs WHERE id = $1`, [run.id]);
    expect(finished.status).toBe('succeeded');
  });

  it('a job’s money adds up: subtotal = parts + labor + fees - discounts, and the repair order’s total equals its parts', async () => {
    const mismatched = await one<{ n: string }>(
      `SELECT count(*) AS n FROM tm_repair_orders WHERE total_sales_cents <> labor_sales_cents + parts_sales_cents + sublet_sales_cents + fee_total_cents - discount_total_cents + taxes_cents`,
    );
    expect(Number(mismatched.n)).toBe(0);
    const jobs = await one<{ n: string }>(`SELECT count(*) AS n FROM tm_jobs WHERE subtotal_cents <> parts_total_cents + labor_total_cents + fee_total_cents - discount_total_cents`);
    expect(Number(jobs.n)).toBe(0);
  });

  it('a second sync with nothing changed upstream writes nothing', async () => {
    const before = await one<{ xmin: string }>(`SELECT max(xmin::text::bigint)::text AS xmin FROM tm_repair_orders`);
    const { counts } = await syncAll();
    for (const entity of Object.values(counts.entities)) expect({ written: entity.written, removed: entity.removed }).toEqual({ written: 0, removed: 0 });
    const after = await one<{ xmin: string }>(`SELECT max(xmin::text::bigint)::text AS xmin FROM tm_repair_orders`);
    expect(after.xmin).toBe(before.xmin);
  });

  it('a repair order posted, a job added and a customer deleted upstream are picked up incrementally', async () => {
    const shop = fake.shops[0]!;
    const open = shop.repairOrders.filter((o) => !o.deletedDate && [1, 2, 3].includes(o.repairOrderStatus.id));
    const toPost = open.find((o) => o.repairOrderStatus.id === 3) ?? open[0]!;
    const toExtend = open.find((o) => o.id !== toPost.id && o.repairOrderStatus.id === 2) ?? open.find((o) => o.id !== toPost.id)!;
    const customer = shop.customers.find((c) => !c.deletedDate)!;
    fake.data.postRepairOrder(toPost.id);
    const job = fake.data.addJob(toExtend.id);
    fake.data.deleteCustomer(customer.id);

    const { counts } = await syncAll(shop.shop.id);
    expect(counts.entities.repair_orders!.written).toBeGreaterThan(0);
    // Only the changed records were fetched again (plus the cursor's overlap), not the whole shop.
    expect(counts.entities.repair_orders!.fetched).toBeLessThan(10);

    const posted = await one<{ status_id: number; posted_date: string | null }>(`SELECT status_id, posted_date::text FROM tm_repair_orders WHERE shop_id = $1 AND id = $2`, [shop.shop.id, toPost.id]);
    expect(posted.status_id).toBe(5);
    expect(posted.posted_date).not.toBeNull();
    const added = await one<{ n: string }>(`SELECT count(*) AS n FROM tm_jobs WHERE shop_id = $1 AND id = $2 AND repair_order_id = $3`, [shop.shop.id, job.id, toExtend.id]);
    expect(Number(added.n)).toBe(1);
    const lines = await one<{ n: string }>(`SELECT count(*) AS n FROM tm_job_parts WHERE shop_id = $1 AND job_id = $2`, [shop.shop.id, job.id]);
    expect(Number(lines.n)).toBe(job.parts.length);
    const deleted = await one<{ deleted_at: Date | null }>(`SELECT deleted_at FROM tm_customers WHERE shop_id = $1 AND id = $2`, [shop.shop.id, customer.id]);
    expect(deleted.deleted_at).not.toBeNull();
    expect(await warehouseOf(shop.shop.id)).toEqual(expectedOf(shop));
  });

  it('a job removed upstream is removed here with its lines, and time going by upstream is followed', async () => {
    const shop = fake.shops[1]!;
    const order = shop.repairOrders.find((o) => !o.deletedDate && o.jobs.length >= 2 && o.jobs.some((j) => j.parts.length > 0))!;
    const [removed] = order.jobs.splice(order.jobs.findIndex((j) => j.parts.length > 0), 1);
    recalculate(order, shop.taxRateBasisPoints);
    order.updatedDate = new Date(fake.data.nowMs()).toISOString().replace(/\.\d+Z$/, 'Z');
    await syncAll(shop.shop.id);
    const left = await one<{ jobs: string; parts: string }>(
      `SELECT (SELECT count(*) FROM tm_jobs WHERE shop_id = $1 AND id = $2) AS jobs, (SELECT count(*) FROM tm_job_parts WHERE shop_id = $1 AND job_id = $2) AS parts`,
      [shop.shop.id, removed!.id],
    );
    expect({ jobs: Number(left.jobs), parts: Number(left.parts) }).toEqual({ jobs: 0, parts: 0 });
    const total = await one<{ total_sales_cents: string }>(`SELECT total_sales_cents FROM tm_repair_orders WHERE shop_id = $1 AND id = $2`, [shop.shop.id, order.id]);
    expect(Number(total.total_sales_cents)).toBe(order.totalSales);

    fake.data.advance(240);
    await syncAll();
    for (const one of fake.shops) expect(await warehouseOf(one.shop.id)).toEqual(expectedOf(one));
  });

  it('a connection stored with its own credentials keeps the secret sealed, refuses a wrong one, and syncs', async () => {
    const admin = { ...ctx, user: { kind: 'user' as const, id: '00000000-0000-0000-0000-000000000000', email: 'a@b.c', name: null, role: 'admin' as const, businessId: null, shopIds: [] } };
    forgetTekmetricTokens();
    await expect(createConnection(admin, { name: 'Wrong', baseUrl: fake.url, clientId: fake.clientId, clientSecret: 'not-the-secret' })).rejects.toThrow(/refused the client id and secret/);
    const stored = await createConnection(ctx, { name: 'Stored', baseUrl: `${fake.url}/`, clientId: fake.clientId, clientSecret: fake.clientSecret });
    expect(stored.shops.map((s) => s.shopId)).toEqual(fake.shops.map((s) => s.shop.id));
    const row = await one<{ client_secret_sealed: string; from_environment: boolean }>(`SELECT client_secret_sealed, from_environment FROM tekmetric_connections WHERE id = $1`, [stored.connection.id]);
    expect(row.from_environment).toBe(false);
    expect(row.client_secret_sealed).not.toContain(fake.clientSecret);
    const run = await requestSyncRun(ctx, null, { kind: 'incremental', shopId: fake.shops[0]!.shop.id, connectionId: stored.connection.id });
    const counts = await executeSyncRun(ctx, { ...config, TEKMETRIC_CLIENT_SECRET: undefined }, run.id);
    expect(counts.requests).toBeGreaterThan(0);
  });

  it('a sync asked for a board, days back and a limit reads only those repair orders and leaves the cursors alone', async () => {
    const shop = fake.shops[0]!;
    const before = await one<{ updated_through: Date }>(`SELECT updated_through FROM tm_sync_cursors WHERE shop_id = $1 AND stream = 'repair_orders'`, [shop.shop.id]);
    const requestsBefore = fake.stats.byRoute['GET /api/v1/repair-orders'] ?? 0;
    const run = await requestSyncRun(ctx, null, { kind: 'entities', shopId: shop.shop.id, params: { entities: ['repair_orders'], board: 'POSTED', daysBack: 30, limit: 5 } });
    const counts = await executeSyncRun(ctx, config, run.id);
    expect(counts.entities.repair_orders).toMatchObject({ fetched: 5, pages: 1 });
    expect((fake.stats.byRoute['GET /api/v1/repair-orders'] ?? 0) - requestsBefore).toBe(1);
    const after = await one<{ updated_through: Date }>(`SELECT updated_through FROM tm_sync_cursors WHERE shop_id = $1 AND stream = 'repair_orders'`, [shop.shop.id]);
    expect(after.updated_through).toEqual(before.updated_through);
    await expect(requestSyncRun(ctx, null, { kind: 'entities', shopId: 999, params: { entities: ['customers'] } })).rejects.toThrow(/not connected/);
  });
});
