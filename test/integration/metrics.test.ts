import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { todayIn } from '../../core/warehouse/ranges.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, daysFrom, loadSalesFile } from '../helpers/feeds.js';

let app: TestApp;
let t: Tenants;
let ops: string;
let today: string;
const day = (offset: number) => daysFrom(today, offset);

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
  today = todayIn('Europe/London');
  // Croissant costs 0.90; Tart is created with its cost unknown, then given 2.00.
  const csv = [
    'product_name,quantity,price,transaction_date,discount,order_id',
    `Croissant,10,3.00,${day(0)},1.00,A`,
    `Croissant,5,3.00,${day(-1)},0,B`,
    `Tart,2,12.00,${day(-1)},0,B`,
    `Tart,1,12.00,${day(-10)},0,C`,
    `Croissant,100,3.00,${day(-40)},0,D`,
  ].join('\n');
  await loadSalesFile(app.url, ops, csv);
  // Business B has sales on the same days that must never show up for A.
  const b = (await apiClient(app.url, t.users.opsB.email)).token;
  // Business B keeps Chicago's time: from midnight in London until six, its today is London's yesterday.
  await loadSalesFile(app.url, b, `product_name,quantity,price,transaction_date\nOil change,9,49.00,${todayIn('America/Chicago')}\n`, 'b.csv');
});
afterAll(async () => app?.close());

describe('GET /dashboard/metrics/*', () => {
  it('kpi: totals of the range and of the period before', async () => {
    const res = await callJson(app.url, ops, 'GET', '/dashboard/metrics/kpi?range=last_7_days');
    expect(res.status).toBe(200);
    // Revenue 30 + 15 + 24 = 69; COGS 15 × 0.90 = 13.50; Tart's cost is unknown, so its 24 has no COGS or
    // margin: margin 45 − 13.50 − 1 = 30.50, 67.78 % of the 45 sold with a known cost (not 78.99 % of 69).
    expect(res.body!.range).toEqual({ name: 'last_7_days', from: day(-6), to: day(0) });
    expect(res.body!.kpi).toEqual({ records: 3, quantity: 17, orders: 2, gross_revenue: 69, discount: 1, cogs_amount: 13.5, gross_margin_amount: 30.5, gross_margin_percent: 67.78, avg_order_value: 34.5 });
    expect(res.body!.margin_incomplete).toMatchObject({ products_without_cost: 1, revenue_without_cost: 24 });
    expect(res.body!.previous).toMatchObject({ records: 1, gross_revenue: 12, range: { from: day(-13), to: day(-7) } });
    const last30 = await callJson(app.url, ops, 'GET', '/dashboard/metrics/kpi?range=last_30_days');
    expect(last30.body!.kpi.gross_revenue).toBe(81);
    const custom = await callJson(app.url, ops, 'GET', `/dashboard/metrics/kpi?range=custom&from=${day(-45)}&to=${day(-30)}`);
    expect(custom.body!.kpi).toMatchObject({ records: 1, gross_revenue: 300 });
  });

  it('top products by revenue, and a trend with empty days as zeros, also per product', async () => {
    const top = await callJson(app.url, ops, 'GET', '/dashboard/metrics/top-products?range=last_7_days');
    expect(top.body!.products.map((p: any) => [p.product_name, p.gross_revenue])).toEqual([['Croissant', 45], ['Tart', 24]]);
    const series = await callJson(app.url, ops, 'GET', '/dashboard/metrics/trend?range=last_7_days&group_by=day');
    expect(series.body!.points).toHaveLength(7);
    expect(series.body!.points.at(-1)).toEqual({ period: day(0), quantity: 10, gross_revenue: 30, cogs_amount: 9, gross_margin_amount: 20, in_progress: true });
    expect(series.body!.points.at(-2)).toMatchObject({ period: day(-1), gross_revenue: 39 });
    expect(series.body!.points.slice(0, 5).every((p: any) => p.gross_revenue === 0)).toBe(true);
    const croissant = top.body!.products[0].product_id as string;
    const drill = await callJson(app.url, ops, 'GET', `/dashboard/metrics/trend?range=last_7_days&group_by=day&product_id=${croissant}`);
    expect(drill.body!.points.at(-2)).toMatchObject({ gross_revenue: 15 });
    // Kept to one product, the top products are that product (regression: product_id was ignored here).
    const one = await callJson(app.url, ops, 'GET', `/dashboard/metrics/top-products?range=last_7_days&product_id=${croissant}`);
    expect(one.body!.products.map((p: any) => [p.product_name, p.gross_revenue])).toEqual([['Croissant', 45]]);
    const monthly = await callJson(app.url, ops, 'GET', '/dashboard/metrics/trend?range=last_30_days&group_by=month');
    expect(monthly.body!.points.reduce((sum: number, p: any) => sum + p.gross_revenue, 0)).toBe(81);
  });

  it('is scoped: a manager sees their own business, never another; bad queries are 400', async () => {
    const manager = (await apiClient(app.url, t.users.managerA.email)).token;
    const mine = await callJson(app.url, manager, 'GET', '/dashboard/metrics/kpi?range=last_7_days');
    expect(mine.body!.kpi.gross_revenue).toBe(69);
    expect((await callJson(app.url, manager, 'GET', `/dashboard/metrics/kpi?business_id=${t.businessB}`)).status).toBe(403);
    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    expect((await callJson(app.url, admin, 'GET', '/dashboard/metrics/kpi')).status).toBe(400);
    const b = await callJson(app.url, admin, 'GET', `/dashboard/metrics/kpi?range=last_7_days&business_id=${t.businessB}`);
    expect(b.body!.kpi.gross_revenue).toBe(441);
    expect((await callJson(app.url, manager, 'GET', '/dashboard/metrics/kpi?range=yesterday')).status).toBe(400);
    expect((await callJson(app.url, manager, 'GET', '/dashboard/metrics/trend?group_by=hour')).status).toBe(400);
    expect((await callJson(app.url, manager, 'GET', '/dashboard/metrics/kpi?range=custom&from=2025-02-30&to=2025-03-06')).status).toBe(400);
    // Another business's product is not found, on every metric (regression: answered 200 with zeros).
    const theirs = (await app.db.pool.query<{ id: string }>('SELECT id FROM products WHERE business_id = $1 LIMIT 1', [t.businessB])).rows[0]!.id;
    for (const path of ['kpi', 'top-products', 'trend']) {
      const res = await callJson(app.url, manager, 'GET', `/dashboard/metrics/${path}?range=last_7_days&product_id=${theirs}`);
      expect(res.status, path).toBe(404);
    }
  });
});
