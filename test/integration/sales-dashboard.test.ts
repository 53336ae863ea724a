import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRecord } from '../../core/records/service.js';
import { widgetPlan, type ViewColumn } from '../../core/warehouse/dashboards.js';
import { todayIn } from '../../core/warehouse/ranges.js';
import { refreshChangedViews, viewsBehind } from '../../core/warehouse/views.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, daysFrom, loadSalesFile, uploadPreview, waitForFeed } from '../helpers/feeds.js';

/**
 * The Metrics page is the stored dashboard "Sales & margin": its widgets read materialized views over
 * fact_sales under the dashboard's filters (range, grouping, product, previous period). Its figures must
 * equal the metrics API's, which sums fact_sales directly; a load or a delete must bring the views up to
 * date; and a reader sees only their own business.
 */

let app: TestApp;
let t: Tenants;
let ops: string;
let opsB: string;
let manager: string;
let today: string;
let salesDashboard: string;
let ordersDashboard: string;
const day = (offset: number) => daysFrom(today, offset);
const loadFeed = (token: string, csv: string) => loadSalesFile(app.url, token, csv);

type Widget = { title: string; rows: Record<string, unknown>[]; decimal_measures: string[]; money_measures: string[]; current_period: string | null; previous: { range: { from: string; to: string }; comparison: string; rows: Record<string, unknown>[] } | null; filtered_by: { date: boolean; product: boolean }; error: string | null };
async function salesData(token: string, query: string): Promise<{ status: number; widgets: Record<string, Widget>; body: any }> {
  const res = await callJson(app.url, token, 'GET', `/api/dashboard/${salesDashboard}/data?${query}`);
  const widgets = Object.fromEntries(((res.body?.data?.widgets ?? []) as Widget[]).map((w) => [w.title, w]));
  return { status: res.status, widgets, body: res.body };
}
const kpi = (widget: Pick<Widget, 'rows'> | undefined) => widget?.rows[0] && Object.values(widget.rows[0])[0];

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
  opsB = (await apiClient(app.url, t.users.opsB.email)).token;
  manager = (await apiClient(app.url, t.users.managerA.email)).token;
  today = todayIn('Europe/London');
  await loadFeed(
    ops,
    [
      'product_name,quantity,price,transaction_date,discount,order_id,channel',
      `Croissant,10,3.00,${day(0)},1.00,A,Online`,
      `Croissant,5,3.00,${day(-1)},0,B,Offline`,
      `Tart,2,12.00,${day(-1)},0,B,Offline`,
      `Tart,1,12.00,${day(-10)},0,C,Online`,
      `Croissant,100,3.00,${day(-40)},0,D,Offline`,
    ].join('\n'),
  );
  // Business B keeps Chicago's time: from midnight in London until six, its today is London's yesterday.
  await loadFeed(opsB, `product_name,quantity,price,transaction_date\nOil change,9,49.00,${todayIn('America/Chicago')}\n`);
  await refreshChangedViews(app.system);
  const dashboards = (await callJson(app.url, ops, 'GET', '/api/dashboards')).body!.data as { id: string; slug: string | null }[];
  salesDashboard = dashboards.find((d) => d.slug === 'sales')!.id;
  ordersDashboard = dashboards.find((d) => d.slug === null)!.id;
}, 120_000);
afterAll(async () => app?.close());

/** Runs `change` while holding the refresh lock, so no worker refreshes before `check` has looked. */
async function withRefreshHeld<T>(change: () => Promise<T>, check: () => Promise<void>): Promise<T> {
  const client = await app.db.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', ['backhouse.warehouse.refresh']);
    const result = await change();
    await check();
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', ['backhouse.warehouse.refresh']);
    client.release();
  }
}
const revenueOfLast7Days = async () => kpi((await salesData(ops, 'range=last_7_days')).widgets['Revenue']);

describe('the sales views follow fact_sales', () => {
  it('a feed load marks them behind and its job has them refreshed; a delete marks them behind too', async () => {
    expect(await viewsBehind(app.system)).toEqual([]);
    const feedId = await withRefreshHeld(
      () => loadFeed(ops, `product_name,quantity,price,transaction_date,order_id\nCroissant,1,1000.00,${day(-2)},X\n`),
      async () => expect(await viewsBehind(app.system)).toEqual(['sales_daily', 'sales_product_daily']),
    );
    // The load's job asked a worker to refresh what changed: the dashboard shows the new feed by itself.
    await expect.poll(revenueOfLast7Days, { timeout: 30_000 }).toBe(1069);
    expect(await viewsBehind(app.system)).toEqual([]);

    await withRefreshHeld(
      () => deleteRecord(app.system, 'feeds', String(feedId)),
      async () => expect(await viewsBehind(app.system)).toEqual(['sales_daily', 'sales_product_daily']),
    );
    // The minute schedule would refresh them; here the same call runs at once.
    await refreshChangedViews(app.system);
    expect(await revenueOfLast7Days()).toBe(69);
    expect((await refreshChangedViews(app.system)).views).toEqual([]);
  });
});

describe('large amounts', () => {
  it('a day past 10^16 of one business refreshes the shared views (regression: numeric field overflow stopped them for every business)', async () => {
    // Two lines of 6·10^15 each, in business B, on a day long past: 1.2·10^16 for that day.
    const csv = 'product_name,quantity,price,transaction_date\nCroissant,100,60000000000000,2020-01-02\nCroissant,100,60000000000000,2020-01-02\n';
    const feedId = await loadFeed(opsB, csv);
    await refreshChangedViews(app.system);
    expect(await viewsBehind(app.system)).toEqual([]);
    const day = await app.db.pool.query(`SELECT gross_revenue::text FROM sales_daily WHERE business_id = $1 AND day = '2020-01-02'`, [t.businessB]);
    expect(day.rows).toEqual([{ gross_revenue: '12000000000000000.00' }]);
    await deleteRecord(app.system, 'feeds', String(feedId));
    await refreshChangedViews(app.system);
  });

  it('a number past what its column holds is refused with its row, at the preview and the commit; a line whose revenue would not fit fails its load with what to check', async () => {
    const preview = await uploadPreview(app.url, opsB, { name: 'huge.csv', bytes: Buffer.from('product_name,quantity,price,transaction_date\nCroissant,1,99999999999999999,2020-01-03\n') });
    expect(preview.status).toBe(200);
    expect(preview.body.rows[0].issues).toEqual([{ row: 2, column: 'price', value: '99999999999999999', reason: 'is too large (at most 100,000,000,000,000): check the decimal mark and that the columns are not swapped' }]);
    const commit = await callJson(app.url, opsB, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway' });
    expect(commit.status).toBe(422);

    const overflowing = await uploadPreview(app.url, opsB, { name: 'overflow.csv', bytes: Buffer.from('product_name,quantity,price,transaction_date\nCroissant,1000000,99999999999999,2020-01-04\n') });
    expect(overflowing.body.summary.valid_rows).toBe(1);
    const committed = await callJson(app.url, opsB, 'POST', '/dashboard/data-feeds/commit', { upload_token: overflowing.body.upload_token, duplicates: 'load_anyway' });
    const failed = await waitForFeed(app.url, opsB, committed.body!.feed_id as number);
    expect(failed.status).toBe('failed');
    expect(failed.summary.error).toMatchObject({ code: 'amount_too_large', message: expect.stringMatching(/too large to store.*Check its quantities and prices/) });
    await deleteRecord(app.system, 'feeds', String(committed.body!.feed_id));
  });
});

describe('the warehouse views for administrators', () => {
  it('lists each view’s freshness, and "refresh now" queues an audited refresh a worker runs; others are refused', async () => {
    const admin = await apiClient(app.url, t.users.admin.email);
    const opsClient = await apiClient(app.url, t.users.opsA.email);
    const listed = await admin.call('GET', '/api/warehouse/views');
    expect(listed.status).toBe(200);
    expect(listed.body!.data.map((v: { view: string }) => v.view)).toContain('sales_product_daily');
    expect((await opsClient.call('GET', '/api/warehouse/views')).status).toBe(403);
    expect((await opsClient.call('POST', '/api/warehouse/refresh', { views: ['sales_daily'] })).status).toBe(403);
    const unknown = await admin.call('POST', '/api/warehouse/refresh', { views: ['nope'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body!.error.message).toMatch(/Unknown warehouse view nope/);

    const asked = await admin.call('POST', '/api/warehouse/refresh', { views: ['sales_daily'] });
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(asked.body!.data.views).toEqual(['sales_daily']);
    const jobId = asked.body!.data.job_id as string;
    await expect
      .poll(async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM refresh_jobs WHERE view_name = 'sales_daily' AND trigger = 'manual' AND status = 'succeeded'`)).rows[0].n, { timeout: 30_000 })
      .toBe(1);
    const audit = await app.db.pool.query(`SELECT action, after FROM audit_log WHERE resource = 'warehouseViews' AND record_id = $1`, [jobId]);
    expect(audit.rows).toEqual([{ action: 'refresh', after: { views: ['sales_daily'] } }]);
  });
});

describe('GET /api/dashboard/:sales/data equals the metrics API', () => {
  it.each(['last_7_days', 'last_30_days', 'this_quarter'])('KPIs and their previous period, %s', async (range) => {
    const expected = (await callJson(app.url, ops, 'GET', `/dashboard/metrics/kpi?range=${range}`)).body!;
    const { status, widgets, body } = await salesData(ops, `range=${range}`);
    expect(status).toBe(200);
    expect(body.data.filters.range).toEqual(expected.range);
    const figures = (pick: (w: Widget) => unknown) => ({
      revenue: pick(widgets['Revenue']!),
      cogs: pick(widgets['COGS']!),
      margin: pick(widgets['Gross margin']!),
      marginPercent: pick(widgets['Margin %']!),
      orders: pick(widgets['Orders']!),
      aov: pick(widgets['Average order value']!),
    });
    expect(figures(kpi)).toEqual({
      revenue: expected.kpi.gross_revenue,
      cogs: expected.kpi.cogs_amount,
      margin: expected.kpi.gross_margin_amount,
      marginPercent: expected.kpi.gross_margin_percent,
      orders: expected.kpi.orders,
      aov: expected.kpi.avg_order_value,
    });
    // Amounts and ratios are shown with two decimals even when whole ("80.00"); counts are not.
    expect(figures((w) => w.decimal_measures.length > 0)).toEqual({ revenue: true, cogs: true, margin: true, marginPercent: true, orders: false, aov: true });
    expect(widgets['Revenue']!.previous!.range).toMatchObject({ from: expected.previous.range.from, to: expected.previous.range.to });
    expect(figures((w) => kpi({ ...w, rows: w.previous!.rows }))).toEqual({
      revenue: expected.previous.gross_revenue,
      cogs: expected.previous.cogs_amount,
      margin: expected.previous.gross_margin_amount,
      marginPercent: expected.previous.gross_margin_percent,
      orders: expected.previous.orders,
      aov: expected.previous.avg_order_value,
    });
  });

  it('the trend: one point per day, week or month of the range, empty ones as zeros', async () => {
    for (const groupBy of ['day', 'week', 'month']) {
      const expected = (await callJson(app.url, ops, 'GET', `/dashboard/metrics/trend?range=last_30_days&group_by=${groupBy}`)).body!.points as { period: string; gross_revenue: number; gross_margin_amount: number }[];
      const { widgets } = await salesData(ops, `range=last_30_days&group_by=${groupBy}`);
      expect(widgets['Revenue and margin']!.rows, groupBy).toEqual(expected.map((p) => ({ day: p.period, gross_revenue: p.gross_revenue, gross_margin_amount: p.gross_margin_amount })));
    }
  });

  it('top products by revenue, with the product id a click drills into; the channel split', async () => {
    const expected = (await callJson(app.url, ops, 'GET', '/dashboard/metrics/top-products?range=last_7_days')).body!.products as { product_id: string; product_name: string; gross_revenue: number }[];
    const { widgets } = await salesData(ops, 'range=last_7_days');
    expect(widgets['Top products by revenue (click one for its figures)']!.rows).toEqual(expected.map((p) => ({ product_name: p.product_name, product_id: p.product_id, gross_revenue: p.gross_revenue })));
    // 30 online (Croissant A); 15 + 24 offline (order B).
    expect(widgets['Revenue by channel']!.rows).toEqual([
      { channel: 'Offline', gross_revenue: 39 },
      { channel: 'Online', gross_revenue: 30 },
    ]);
  });

  it('a product filter keeps the widgets that opt in to that product, and says which do not', async () => {
    const top = (await salesData(ops, 'range=last_7_days')).widgets['Top products by revenue (click one for its figures)']!.rows;
    const tart = top.find((row) => row.product_name === 'Tart')!.product_id as string;
    const expected = (await callJson(app.url, ops, 'GET', `/dashboard/metrics/kpi?range=last_7_days&product_id=${tart}`)).body!;
    const { widgets, body } = await salesData(ops, `range=last_7_days&product_id=${tart}`);
    expect(body.data.filters.product_id).toBe(tart);
    expect(kpi(widgets['Revenue'])).toBe(expected.kpi.gross_revenue);
    expect(kpi(widgets['Revenue'])).toBe(24);
    expect(widgets['Revenue']!.filtered_by).toEqual({ date: true, product: true });
    // Orders are counted per day over all products (sales_daily): this widget does not follow the product.
    expect(widgets['Orders']!.filtered_by).toEqual({ date: true, product: false });
    expect(kpi(widgets['Orders'])).toBe(2);
    expect(widgets['Top products by revenue (click one for its figures)']!.rows).toHaveLength(2);
  });
});

describe('scope and filter errors', () => {
  it('a reader sees their own business only: another business’s id is refused, another business’s product shows nothing', async () => {
    const mine = await salesData(opsB, 'range=last_7_days');
    expect(kpi(mine.widgets['Revenue'])).toBe(441);
    expect((await salesData(opsB, `range=last_7_days&business_id=${t.businessA}`)).status).toBe(403);
    const croissant = (await salesData(ops, 'range=last_7_days')).widgets['Top products by revenue (click one for its figures)']!.rows[0]!.product_id as string;
    const crossed = await salesData(opsB, `range=last_7_days&product_id=${croissant}`);
    expect(crossed.status).toBe(200);
    expect(crossed.widgets['Revenue']!.rows).toEqual([{ gross_revenue: 0 }]);
    // A manager of business A sees A's whole sales (feeds have no teams).
    expect(kpi((await salesData(manager, 'range=last_7_days')).widgets['Revenue'])).toBe(69);
  });

  it('filters the dashboard does not offer, and bad ranges, are refused with what to do', async () => {
    const noFilters = await callJson(app.url, ops, 'GET', `/api/dashboard/${ordersDashboard}/data?range=last_7_days`);
    expect(noFilters.status).toBe(400);
    expect(noFilters.body!.error.message).toMatch(/no date filter/);
    const noFrom = await salesData(ops, 'range=custom&to=2025-09-30');
    expect(noFrom.status).toBe(400);
    expect(noFrom.body.error.message).toMatch(/from and to/);
    expect((await salesData(ops, 'group_by=year')).status).toBe(400);
  });

  it('the dashboard’s defaults apply when the reader names no filter', async () => {
    const { body } = await salesData(ops, '');
    expect(body.data.filters).toEqual({ range: { name: 'last_30_days', from: day(-29), to: day(0) }, group_by: 'day', grouping_note: null, product_id: null, compare: null, in_progress: true });
  });
});

describe('widget specs with dashboard filters', () => {
  const columns: ViewColumn[] = [
    { name: 'business_id', category: 'U', type: 'uuid' },
    { name: 'day', category: 'D', type: 'date' },
    { name: 'product_id', category: 'U', type: 'uuid' },
    { name: 'product_name', category: 'S', type: 'text' },
    { name: 'gross_revenue', category: 'N', type: 'numeric(18,2)' },
    { name: 'gross_margin_amount', category: 'N', type: 'numeric(18,2)' },
  ];
  const problems = (type: 'kpi' | 'line' | 'bar' | 'table' | 'donut', fields: unknown) => {
    const result = widgetPlan(type, fields, columns);
    return 'problems' in result ? result.problems.map((p) => `${p.field} ${p.reason}`) : [];
  };

  it('accepts ratios, a date, a product and a drill column where they make sense', () => {
    const result = widgetPlan('kpi', { value: 'pct', ratios: { pct: { numerator: 'gross_margin_amount', denominator: 'gross_revenue', percent: true } }, date: 'day', product: 'product_id', compare: 'previous_period' }, columns);
    expect(result).toMatchObject({ plan: { measures: ['pct'], ratios: { pct: { percent: true } }, date: 'day', product: 'product_id', compare: 'previous_period' } });
    expect(widgetPlan('bar', { x: 'product_name', y: ['gross_revenue'], drill: 'product_id' }, columns)).toMatchObject({ plan: { dimensions: ['product_name', 'product_id'] } });
  });

  it.each([
    ['kpi', { value: 'gross_revenue', date: 'product_name' }, 'fields.date "product_name" is not a date column'],
    ['kpi', { value: 'gross_revenue', compare: 'previous_period' }, 'fields.compare needs fields.date'],
    ['line', { x: 'day', y: ['gross_revenue'], date: 'day', compare: 'previous_period' }, 'fields.compare compares a KPI'],
    ['kpi', { value: 'gross_revenue', drill: 'product_id' }, 'fields.drill is not used by a kpi widget'],
    ['kpi', { value: 'r', ratios: { r: { numerator: 'product_name', denominator: 'gross_revenue' } } }, 'fields.ratios.r.numerator "product_name" is not a number column'],
    ['kpi', { value: 'gross_revenue', ratios: { gross_revenue: { numerator: 'gross_revenue', denominator: 'gross_margin_amount' } } }, 'fields.ratios.gross_revenue is a column of the view already'],
    ['kpi', { value: 'gross_revenue', product: 'nope' }, 'fields.product "nope" is not a column of the view'],
  ] as const)('%s %j is refused: %s', (type, fields, reason) => {
    expect(problems(type, fields).join('; ')).toContain(reason);
  });
});

describe('any period the business has data for (issue 16)', () => {
  // Business A's sales four years back and one year back, on top of the recent ones.
  const yearEarlier = (iso: string) => `${Number(iso.slice(0, 4)) - 1}${iso.slice(4)}`;
  let firstDay: string;
  beforeAll(async () => {
    firstDay = day(-1450);
    await loadFeed(ops, [
      'product_name,quantity,price,transaction_date,order_id',
      `Croissant,7,3.00,${firstDay},OLD1`,
      `Tart,3,12.00,${day(-800)},OLD2`,
      `Croissant,4,3.00,${yearEarlier(day(-2))},YEAR1`,
    ].join('\n'));
    await refreshChangedViews(app.system);
  });
  const kpis = async (query: string) => {
    const expected = await callJson(app.url, ops, 'GET', `/dashboard/metrics/kpi?${query}`);
    const { status, widgets, body } = await salesData(ops, query);
    return { expected, status, widgets, body };
  };
  const allRevenue = async () => Number((await app.db.pool.query('SELECT sum(gross_revenue) AS revenue FROM fact_sales WHERE business_id = $1', [t.businessA])).rows[0].revenue);

  it('a four-year custom range gives the totals of those four years in both APIs (regression: "at most three years")', async () => {
    const { expected, status, widgets, body } = await kpis(`range=custom&from=${day(-1460)}&to=${day(0)}`);
    expect(expected.status, JSON.stringify(expected.body)).toBe(200);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(expected.body!.kpi.gross_revenue).toBe(await allRevenue());
    expect(kpi(widgets['Revenue'])).toBe(expected.body!.kpi.gross_revenue);
    expect(kpi(widgets['Orders'])).toBe(expected.body!.kpi.orders);
    // 1,461 days by day are too many points: grouped by week, and the answer says so.
    expect(body.data.filters.group_by).toBe('week');
    expect(body.data.filters.grouping_note).toMatch(/^Grouped by week: 1,461 days are too many points/);
    const line = widgets['Revenue and margin']!.rows;
    expect(line.reduce((sum, row) => sum + Number(row.gross_revenue), 0)).toBeCloseTo(await allRevenue(), 2);
    const trend = (await callJson(app.url, ops, 'GET', `/dashboard/metrics/trend?range=custom&from=${day(-1460)}&to=${day(0)}&group_by=day`)).body!;
    expect(trend.group_by).toBe('week');
    expect(trend.points.map((p: { period: string; gross_revenue: number }) => ({ day: p.period, gross_revenue: p.gross_revenue }))).toEqual(line.map((row) => ({ day: row.day, gross_revenue: row.gross_revenue })));
  });

  it('all time runs from the first day with sales to today, with every sale, and nothing to compare with', async () => {
    const { expected, status, widgets, body } = await kpis('range=all_time&group_by=month');
    expect(expected.status, JSON.stringify(expected.body)).toBe(200);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(expected.body!.range).toEqual({ name: 'all_time', from: firstDay, to: today });
    expect(body.data.filters.range).toEqual({ name: 'all_time', from: firstDay, to: today });
    expect(expected.body!.kpi.gross_revenue).toBe(await allRevenue());
    expect(kpi(widgets['Revenue'])).toBe(expected.body!.kpi.gross_revenue);
    expect(expected.body!.previous).toBeNull();
    expect(widgets['Revenue']!.previous).toBeNull();
    expect(widgets['Revenue and margin']!.rows[0]!.day).toBe(`${firstDay.slice(0, 7)}-01`);
  });

  it('year to date and the last 12 months, compared with the same period a year earlier', async () => {
    for (const range of ['year_to_date', 'last_12_months']) {
      const { expected, status, widgets } = await kpis(`range=${range}&compare=previous_year`);
      expect(status).toBe(200);
      expect(expected.body!.previous.range).toMatchObject({ from: yearEarlier(expected.body!.range.from), to: yearEarlier(today) });
      expect(widgets['Revenue']!.previous).toMatchObject({ comparison: 'previous_year', range: { from: expected.body!.previous.range.from, to: expected.body!.previous.range.to } });
      expect(kpi({ rows: widgets['Revenue']!.previous!.rows })).toBe(expected.body!.previous.gross_revenue);
      expect(kpi({ rows: widgets['Orders']!.previous!.rows })).toBe(expected.body!.previous.orders);
    }
    // The last 7 days a year earlier hold the one sale of YEAR1.
    const week = await kpis('range=last_7_days&compare=previous_year');
    expect(kpi({ rows: week.widgets['Revenue']!.previous!.rows })).toBe(12);
    expect(week.expected.body!.previous.gross_revenue).toBe(12);
  });

  it('the period still in progress is marked: the trend point and the chart period holding today', async () => {
    const { widgets, body } = await salesData(ops, 'range=last_30_days&group_by=month');
    expect(body.data.filters.in_progress).toBe(true);
    expect(widgets['Revenue and margin']!.current_period).toBe(`${today.slice(0, 7)}-01`);
    const trend = (await callJson(app.url, ops, 'GET', '/dashboard/metrics/trend?range=last_30_days&group_by=month')).body!.points as { period: string; in_progress: boolean }[];
    expect(trend.filter((p) => p.in_progress).map((p) => p.period)).toEqual([`${today.slice(0, 7)}-01`]);
    const past = await salesData(ops, `range=custom&from=${day(-60)}&to=${day(-31)}`);
    expect(past.body.data.filters.in_progress).toBe(false);
    expect(past.widgets['Revenue and margin']!.current_period).toBeNull();
  });

  it('money measures are marked, in the business\'s currency', async () => {
    const { widgets, body } = await salesData(ops, 'range=last_7_days');
    expect(body.data.currency).toBe('GBP');
    expect(widgets['Revenue']!.money_measures).toEqual(['gross_revenue']);
    expect(widgets['Average order value']!.money_measures).toEqual(['average_order_value']);
    expect(widgets['Margin %']!.money_measures).toEqual([]);
    expect(widgets['Orders']!.money_measures).toEqual([]);
  });
});

describe('the currency a file’s amounts are written in (issue 16)', () => {
  const dollarsFile = () => `product_name,quantity,price,transaction_date,discount\nCroissant,2,"$1,234.50",${day(-3)},$0.50\nTart,1,$12.00,${day(-3)},0\n`;

  it('the preview notes "$" and warns when the business keeps GBP; a business in USD gets no warning', async () => {
    const inGbp = await uploadPreview(app.url, ops, { name: 'dollars.csv', bytes: Buffer.from(dollarsFile()) });
    expect(inGbp.status).toBe(200);
    expect(inGbp.body.rows[0].normalized.price).toBe('1234.50');
    expect(inGbp.body.summary.currency_marks).toEqual(['$']);
    expect(inGbp.body.summary.currency_warning).toMatch(/written in "\$", but the business keeps its figures in GBP: nothing is converted/);
    const inUsd = await uploadPreview(app.url, opsB, { name: 'dollars.csv', bytes: Buffer.from(dollarsFile().replaceAll('Croissant', 'Oil change').replaceAll('Tart', 'Oil change')) });
    expect(inUsd.body.summary.currency_marks).toEqual(['$']);
    expect(inUsd.body.summary.currency_warning).toBeNull();
    const plain = await uploadPreview(app.url, ops, { name: 'plain.csv', bytes: Buffer.from(`product_name,quantity,price,transaction_date\nCroissant,1,3.00,${day(-3)}\n`) });
    expect(plain.body.summary).toMatchObject({ currency_marks: [], currency_warning: null });
  });

  it('the committed feed records the marks it saw and keeps the warning with its issues', async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'dollars.csv', bytes: Buffer.from(dollarsFile()) });
    const committed = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token });
    expect(committed.status, JSON.stringify(committed.body)).toBe(202);
    const feed = await waitForFeed(app.url, ops, committed.body!.feed_id as number);
    expect(feed.status).toBe('transformed');
    expect(feed.summary.currency_marks).toEqual(['$']);
    expect(feed.summary.issues).toContainEqual({ type: 'warning', code: 'currency_mismatch', message: expect.stringMatching(/written in "\$".*GBP/) });
    await deleteRecord(app.system, 'feeds', String(committed.body!.feed_id));
  });
});
