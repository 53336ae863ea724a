import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { analyzeStagingWithoutFeed, callJson, feedsKnownToPlanner, uploadPreview, waitForFeed } from '../helpers/feeds.js';
import { processDataFeed } from '../../core/warehouse/loadFacts.js';

let app: TestApp;
let t: Tenants;
let ops: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => app?.close());

/** Exact cents arithmetic for the expected totals, independent of the product's SQL. */
const cents = (decimal: string) => Math.round(Number(decimal) * 100);

async function factTotals(feedId: number) {
  const result = await app.db.pool.query(
    `SELECT count(*)::int AS records, sum(gross_revenue)::text AS revenue, sum(cogs_amount)::text AS cogs, sum(gross_margin_amount)::text AS margin
     FROM fact_sales WHERE data_feed_id = $1`,
    [feedId],
  );
  return result.rows[0] as { records: number; revenue: string; cogs: string; margin: string };
}

async function previewAndCommit(file: string | Buffer, commit: Record<string, unknown> = {}, token = ops, name = 'feed.csv') {
  const preview = await uploadPreview(app.url, token, { name, bytes: Buffer.from(file) });
  expect(preview.status, JSON.stringify(preview.body)).toBe(200);
  return callJson(app.url, token, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', data_type: preview.body.data_type, ...commit });
}

const salesCsv = [
  'product_name,quantity,price,transaction_date,discount,customer,channel,order_id',
  'Croissant,10,2.95,2025-09-01,0,alice@example.com,Offline,R-1',
  'croissant,2,2.95,2025-09-01,0.50,bob@example.com,online,R-2',
  'Croisant,1,2.95,2025-09-02,,alice@example.com,Offline,R-3',
  'Cold Brew,3,4.50,2025-09-02,0,,Online,R-4',
].join('\n');

describe('commit and load', () => {
  it('refuses a commit with products missing from the catalog, naming each row, and keeps nothing', async () => {
    const before = await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds');
    const res = await previewAndCommit(salesCsv);
    expect(res.status).toBe(422);
    expect(res.body!.error.details.errors).toEqual([expect.objectContaining({ row: 5, column: 'product_name', value: 'Cold Brew' })]);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds')).rows[0].n).toBe(before.rows[0].n);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items')).rows[0].n).toBe(0);
  });

  it('commits with auto-created products, moves queued → transforming → transformed, and loads revenue, COGS and margin', async () => {
    const res = await previewAndCommit(salesCsv, { auto_create_products: true });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, record_count: 4, status: 'queued', created_products: { 'Cold Brew': expect.any(String) } });
    const feedId = res.body!.feed_id as number;
    const done = await waitForFeed(app.url, ops, feedId);
    expect(done.status).toBe('transformed');
    // Croissant costs 0.90 (seeded); Cold Brew was created with no cost: its line has no COGS or margin (not a
    // COGS of 0), the margin covers the lines with a cost, and the feed says so.
    const lines = [
      { qty: 10, price: '2.95', cost: '0.90', discount: '0' },
      { qty: 2, price: '2.95', cost: '0.90', discount: '0.50' },
      { qty: 1, price: '2.95', cost: '0.90', discount: '0' },
      { qty: 3, price: '4.50', cost: null, discount: '0' },
    ];
    const revenue = lines.reduce((sum, l) => sum + l.qty * cents(l.price), 0);
    const withCost = lines.filter((l) => l.cost !== null);
    const revenueWithCost = withCost.reduce((sum, l) => sum + l.qty * cents(l.price), 0);
    const cogs = withCost.reduce((sum, l) => sum + l.qty * cents(l.cost!), 0);
    const margin = revenueWithCost - cogs - withCost.reduce((sum, l) => sum + cents(l.discount), 0);
    const totals = await factTotals(feedId);
    expect(totals).toEqual({ records: 4, revenue: (revenue / 100).toFixed(2), cogs: (cogs / 100).toFixed(2), margin: (margin / 100).toFixed(2) });
    expect(done.summary).toMatchObject({
      stage: 'transformed',
      metrics: { records: 4, gross_revenue: revenue / 100, cogs_amount: cogs / 100, gross_margin_amount: margin / 100, gross_margin_percent: Math.round((10000 * margin) / revenueWithCost) / 100, products_without_cost: 1 },
      issues: [{ type: 'warning', code: 'missing_product_cost', message: expect.stringMatching(/^Margin incomplete: 1 product without cost\. COGS and margin cover only the sales of products with a cost/) }],
      error: null,
    });
    for (const key of ['queued_at', 'transform_started_at', 'transform_finished_at', 'updated_at']) expect(done.summary[key]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(done.summary.transform_finished_at)).toBeGreaterThanOrEqual(Date.parse(done.summary.transform_started_at));
    // Lineage, dimensions, and staging purged.
    const facts = await app.db.pool.query(`SELECT source_row, c.name AS channel FROM fact_sales f LEFT JOIN dim_channel c ON c.id = f.channel_id WHERE data_feed_id = $1 ORDER BY source_row`, [feedId]);
    expect(facts.rows).toEqual([{ source_row: 2, channel: 'Offline' }, { source_row: 3, channel: 'Online' }, { source_row: 4, channel: 'Offline' }, { source_row: 5, channel: 'Online' }]);
    // Staging is purged just after the load commits.
    await expect.poll(async () => (await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items WHERE data_feed_id = $1', [feedId])).rows[0].n, { timeout: 10_000 }).toBe(0);
    const daily = await app.db.pool.query(`SELECT date_key::text, gross_revenue::text FROM vw_sales_daily WHERE business_id = $1 AND date_key BETWEEN '2025-09-01' AND '2025-09-02' ORDER BY date_key`, [t.businessA]);
    expect(daily.rows).toEqual([{ date_key: '2025-09-01', gross_revenue: '35.40' }, { date_key: '2025-09-02', gross_revenue: '16.45' }]);
    const newCustomers = await app.db.pool.query(`SELECT date_key::text, new_customers::int FROM vw_new_customers_daily WHERE business_id = $1 ORDER BY date_key`, [t.businessA]);
    expect(newCustomers.rows).toEqual([{ date_key: '2025-09-01', new_customers: 2 }]);
    const returning = await app.db.pool.query(`SELECT date_key::text, returning_customers::int FROM vw_returning_customers_daily WHERE business_id = $1`, [t.businessA]);
    expect(returning.rows).toEqual([{ date_key: '2025-09-02', returning_customers: 1 }]);
  });

  it('an upload is committed once: a second commit of its token, after or at the same moment, is a 409 that loads nothing (regression: each one loaded the rows again)', async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'once.csv', bytes: Buffer.from(salesCsv) });
    const commit = () => callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', auto_create_products: true });
    const first = await commit();
    expect(first.status).toBe(202);
    const feedId = first.body!.feed_id as number;
    const again = await commit();
    expect(again.status).toBe(409);
    expect(again.body!.error.message).toMatch(new RegExp(`^once\\.csv was already committed as feed #${feedId} \\(its status is (queued|transforming|transformed)\\), so it was not loaded again\\. To load the file once more as a new feed, upload it again\\.$`));
    expect(again.body!.error.details).toMatchObject({ feed_id: feedId });
    await waitForFeed(app.url, ops, feedId);
    expect((await commit()).body!.error.details).toEqual({ feed_id: feedId, status: 'transformed' });
    expect((await factTotals(feedId)).records).toBe(4);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds WHERE upload_token = $1', [preview.body.upload_token])).rows[0].n).toBe(1);

    // Two requests at once (a double submit, a client retrying): one feed.
    const racing = await uploadPreview(app.url, ops, { name: 'race.csv', bytes: Buffer.from(salesCsv) });
    const both = await Promise.all([1, 2].map(() => callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: racing.body.upload_token, duplicates: 'load_anyway', auto_create_products: true })));
    expect(both.map((res) => res.status).sort()).toEqual([202, 409]);
    const winner = both.find((res) => res.status === 202)!.body!.feed_id as number;
    expect(both.find((res) => res.status === 409)!.body!.error.details).toMatchObject({ feed_id: winner });
    await waitForFeed(app.url, ops, winner);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds WHERE upload_token = $1', [racing.body.upload_token])).rows[0].n).toBe(1);
  });

  it('is idempotent: the same file committed twice loads the same facts per feed, and a rerun does not double', async () => {
    const first = await previewAndCommit(salesCsv, { auto_create_products: true });
    const second = await previewAndCommit(salesCsv, { auto_create_products: true, duplicates: 'load_anyway' });
    const a = first.body!.feed_id as number;
    const b = second.body!.feed_id as number;
    await waitForFeed(app.url, ops, a);
    await waitForFeed(app.url, ops, b);
    const totalsA = await factTotals(a);
    expect(await factTotals(b)).toEqual(totalsA);
    expect(second.body!.created_products).toEqual({});

    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    expect((await callJson(app.url, ops, 'POST', `/dashboard/data-feeds/${a}/rerun`)).status).toBe(403);
    const rerun = await callJson(app.url, admin, 'POST', `/dashboard/data-feeds/${a}/rerun`);
    expect(rerun.status).toBe(202);
    const again = await waitForFeed(app.url, ops, a);
    expect(again.status).toBe('transformed');
    expect(await factTotals(a)).toEqual(totalsA);

    const otherOps = (await apiClient(app.url, t.users.opsB.email)).token;
    expect((await callJson(app.url, otherOps, 'DELETE', `/dashboard/data-feeds/${b}`)).status).toBe(404);
    expect((await callJson(app.url, ops, 'DELETE', `/dashboard/data-feeds/${b}`)).status).toBe(204);
    expect((await factTotals(b)).records).toBe(0);
    expect((await factTotals(a)).records).toBe(4);
    const audit = await app.db.prisma.auditLog.findMany({ where: { resource: 'feeds', recordId: { in: [String(a), String(b)] } }, orderBy: { id: 'asc' } });
    expect(audit.map((e) => e.action)).toEqual(['commit', 'commit', 'rerun', 'delete']);
  });

  it('deleting a feed takes out the customers only it had, and gives the others their first day from the facts left', async () => {
    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    const header = 'product_name,quantity,price,transaction_date,customer';
    const first = await previewAndCommit([header, 'Croissant,1,2.95,2025-10-01,carol@example.com', 'Croissant,1,2.95,2025-10-01,dave@example.com'].join('\n'));
    await waitForFeed(app.url, ops, first.body!.feed_id);
    const second = await previewAndCommit([header, 'Croissant,1,2.95,2025-10-05,Carol@example.com'].join('\n'));
    await waitForFeed(app.url, ops, second.body!.feed_id);
    const counts = async () => {
      const newOnes = await app.db.pool.query(`SELECT date_key::text, new_customers::int FROM vw_new_customers_daily WHERE business_id = $1 AND date_key >= '2025-10-01' ORDER BY date_key`, [t.businessA]);
      const returning = await app.db.pool.query(`SELECT date_key::text, returning_customers::int FROM vw_returning_customers_daily WHERE business_id = $1 AND date_key >= '2025-10-01'`, [t.businessA]);
      const known = await app.db.pool.query(`SELECT customer_key FROM dim_customer WHERE business_id = $1 AND customer_key IN ('carol@example.com', 'dave@example.com') ORDER BY 1`, [t.businessA]);
      return { newOnes: newOnes.rows, returning: returning.rows, known: known.rows.map((row) => row.customer_key) };
    };
    expect(await counts()).toEqual({ newOnes: [{ date_key: '2025-10-01', new_customers: 2 }], returning: [{ date_key: '2025-10-05', returning_customers: 1 }], known: ['carol@example.com', 'dave@example.com'] });

    // While a load of the business runs (it holds the business's load lock), a delete is refused and changes nothing.
    const load = await app.db.pool.connect();
    try {
      await load.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`backhouse.feeds.load:${t.businessA}`]);
      const refused = await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${first.body!.feed_id}`);
      expect(refused.status).toBe(409);
      expect(refused.body!.error.message).toMatch(/is loading right now; delete this one when it has finished/);
      expect((await factTotals(first.body!.feed_id)).records).toBe(2);
    } finally {
      await load.query('SELECT pg_advisory_unlock_all()');
      load.release();
    }

    // A load that ends within moments (its feed already reads transformed, its lock not yet given back): the
    // delete waits for it instead of being refused (regression: a delete just after `transformed` got 409).
    const ending = await app.db.pool.connect();
    try {
      await ending.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`backhouse.feeds.load:${t.businessA}`]);
      const deleting = callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${first.body!.feed_id}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await ending.query('SELECT pg_advisory_unlock_all()');
      expect((await deleting).status).toBe(204);
    } finally {
      await ending.query('SELECT pg_advisory_unlock_all()');
      ending.release();
    }
    expect(await counts()).toEqual({ newOnes: [{ date_key: '2025-10-05', new_customers: 1 }], returning: [], known: ['carol@example.com'] });
  });

  it('a delete that takes longer than five seconds still goes through (regression: Prisma ended its transaction at 5 s)', async () => {
    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    const res = await previewAndCommit(salesCsv, { auto_create_products: true });
    const feedId = res.body!.feed_id as number;
    await waitForFeed(app.url, ops, feedId);
    // A large business's delete reads all its facts; here a reader holding the feed's facts for 6 s stands in for that.
    const reader = await app.db.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT 1 FROM fact_sales WHERE data_feed_id = $1 FOR SHARE', [feedId]);
      const deleting = callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${feedId}`);
      await new Promise((resolve) => setTimeout(resolve, 6000));
      await reader.query('COMMIT');
      const deleted = await deleting;
      expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      reader.release();
    }
    expect((await factTotals(feedId)).records).toBe(0);
    expect(await app.db.prisma.dataFeed.findUnique({ where: { id: feedId } })).toBeNull();
  }, 20_000);

  it('a job delivered again after its load committed (the worker stopped before the purge) only purges staging', async () => {
    const res = await previewAndCommit(salesCsv, { auto_create_products: true });
    const feedId = res.body!.feed_id as number;
    const done = await waitForFeed(app.url, ops, feedId);
    const loaded = await factTotals(feedId);
    await expect.poll(async () => (await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items WHERE data_feed_id = $1', [feedId])).rows[0].n, { timeout: 10_000 }).toBe(0);
    // What the load had staged, left behind as if the worker had stopped between its commit and the purge.
    await app.db.pool.query(
      `INSERT INTO staging_sales_items (data_feed_id, row_number, business_id, product_name, quantity, unit_price, transaction_date) VALUES ($1, 2, $2, 'Croissant', 99, 2.95, '2025-09-01')`,
      [feedId, t.businessA],
    );
    const again = await processDataFeed(app.system, app.jobs, feedId, 'test-trace', { ownPartitionMinRows: 50_000, loadConnections: 2 });
    expect(again).toEqual(done.summary);
    expect(await factTotals(feedId)).toEqual(loaded);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items WHERE data_feed_id = $1', [feedId])).rows[0].n).toBe(0);
  });

  it('skip_invalid_rows loads the good rows and reports the others in the summary', async () => {
    const csv = 'product_name,quantity,price,transaction_date\nCroissant,ten,2.95,2025-09-03\nCroissant,2,2.95,2025-09-03\n';
    const refused = await previewAndCommit(csv);
    expect(refused.status).toBe(422);
    expect(refused.body!.error.details).toMatchObject({ invalid_rows: 1, errors: [{ row: 2, column: 'quantity', value: 'ten', reason: 'is not a number' }] });
    const res = await previewAndCommit(csv, { skip_invalid_rows: true });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ record_count: 1, skipped_rows: 1 });
    const done = await waitForFeed(app.url, ops, res.body!.feed_id);
    expect(done.summary.issues).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'rows_skipped', rows: [expect.objectContaining({ row: 2 })] })]));
  });

  it('an expired or unknown token is 410 Gone', async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'sales-basic.csv' });
    await app.db.pool.query(`UPDATE upload_files SET expires_at = now() - interval '1 second' WHERE token = $1`, [preview.body.upload_token]);
    const expired = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway' });
    expect(expired.status).toBe(410);
    expect(expired.body!.error.message).toMatch(/Upload the file again/);
    expect((await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: '00000000-0000-4000-8000-000000000000', duplicates: 'load_anyway' })).status).toBe(410);
  });

  it('nobody outside the business can commit, read or poll its feeds', async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'sales-basic.csv' });
    const other = (await apiClient(app.url, t.users.opsB.email)).token;
    expect((await callJson(app.url, other, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', auto_create_products: true })).status).toBe(410);
    const committed = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', auto_create_products: true });
    const feedId = committed.body!.feed_id as number;
    expect((await callJson(app.url, other, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`)).status).toBe(404);
    const otherList = await callJson(app.url, other, 'GET', '/dashboard/data-feeds');
    expect(otherList.body!.feeds.map((f: { id: number }) => f.id)).not.toContain(feedId);
    const manager = (await apiClient(app.url, t.users.managerA.email)).token;
    expect((await callJson(app.url, manager, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`)).status).toBe(403);
    expect((await callJson(app.url, manager, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway' })).status).toBe(403);
    expect((await callJson(app.url, manager, 'GET', '/dashboard/data-feeds')).status).toBe(403);
  });

  it('a cost feed sets purchase cost prices and adds production costs from their dates on', async () => {
    const costs = 'product_name,cost,cost_date,cost_type\nCroissant,1.10,2025-08-01,Purchase\nCroissant,0.15,2025-08-01,packaging\nCroissant,0.25,2025-09-03,labour\n';
    const preview = await uploadPreview(app.url, ops, { name: 'costs.csv', bytes: Buffer.from(costs) }, { data_type: 'costs' });
    expect(preview.status).toBe(200);
    const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', data_type: 'costs' });
    expect(commit.status).toBe(202);
    expect((await waitForFeed(app.url, ops, commit.body!.feed_id)).status).toBe('transformed');
    expect((await app.db.prisma.product.findUniqueOrThrow({ where: { id: t.productA } })).costPriceCents).toBe(110);
    // Before 3 September: 1.10 + 0.15 packaging; from then on also 0.25 labour.
    const sales = 'product_name,quantity,price,transaction_date\nCroissant,1,2.95,2025-09-02\nCroissant,1,2.95,2025-09-03\n';
    const res = await previewAndCommit(sales);
    await waitForFeed(app.url, ops, res.body!.feed_id);
    const unitCosts = await app.db.pool.query(`SELECT date_key::text, unit_cost::text FROM fact_sales WHERE data_feed_id = $1 ORDER BY date_key`, [res.body!.feed_id]);
    expect(unitCosts.rows).toEqual([{ date_key: '2025-09-02', unit_cost: '1.2500' }, { date_key: '2025-09-03', unit_cost: '1.5000' }]);
  });

  it('a cost feed whose staged rows are gone fails with what to do, and keeps the costs it had loaded', async () => {
    const costs = 'product_name,cost,cost_date,cost_type\nCroissant,0.05,2025-07-01,napkins\n';
    const preview = await uploadPreview(app.url, ops, { name: 'costs.csv', bytes: Buffer.from(costs) }, { data_type: 'costs' });
    const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', data_type: 'costs' });
    const feedId = commit.body!.feed_id as number;
    expect((await waitForFeed(app.url, ops, feedId)).status).toBe('transformed');
    await expect.poll(async () => (await app.db.pool.query('SELECT count(*)::int AS n FROM staging_costs WHERE data_feed_id = $1', [feedId])).rows[0].n, { timeout: 10_000 }).toBe(0);
    // As after a crash: the feed is to be loaded again, and its unlogged staging rows were lost.
    await app.db.pool.query(`UPDATE data_feeds SET status = 'queued' WHERE id = $1`, [feedId]);
    await expect(processDataFeed(app.system, app.jobs, feedId, 'test-trace', { ownPartitionMinRows: 50_000, loadConnections: 2 })).rejects.toMatchObject({ code: 'gone' });
    const feed = await app.db.pool.query(`SELECT status, summary->'error'->>'message' AS message FROM data_feeds WHERE id = $1`, [feedId]);
    expect(feed.rows[0]).toMatchObject({ status: 'failed', message: expect.stringContaining('upload the file again') });
    const kept = await app.db.pool.query(`SELECT count(*)::int AS n FROM product_costs WHERE data_feed_id = $1`, [feedId]);
    expect(kept.rows[0].n).toBe(1);
  });

  it('"Create missing" creates products for the business and answers name → id', async () => {
    const res = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/auto-create-products', { products: [{ name: 'Matcha Latte', category: 'Coffee', selling_price: '4.20', cost_price: '1,10' }, { name: 'croissant' }] });
    expect(res.status).toBe(200);
    expect(res.body!.created).toEqual(['Matcha Latte']);
    expect(res.body!.products.croissant).toBe(t.productA);
    const matcha = await app.db.prisma.product.findUniqueOrThrow({ where: { id: res.body!.products['Matcha Latte'] } });
    expect(matcha).toMatchObject({ businessId: t.businessA, sellingPriceCents: 420, costPriceCents: 110, category: 'Coffee' });

    // Amounts to the nearest cent (regression: 0.335 was cut to 33), a JSON number's point a decimal point
    // (1.125 is not 1,125), and no more than the price columns hold.
    const rounded = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/auto-create-products', { products: [{ name: 'Rounded Bun', selling_price: 1.125, cost_price: 0.335 }, { name: 'Half Cent Bun', selling_price: '1.005' }] });
    expect(rounded.status).toBe(200);
    const bun = await app.db.prisma.product.findUniqueOrThrow({ where: { id: rounded.body!.products['Rounded Bun'] } });
    expect(bun).toMatchObject({ sellingPriceCents: 113, costPriceCents: 34 });
    expect(await app.db.prisma.product.findUniqueOrThrow({ where: { id: rounded.body!.products['Half Cent Bun'] } })).toMatchObject({ sellingPriceCents: 101 });
    const tooDear = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/auto-create-products', { products: [{ name: 'Gold Bun', selling_price: 30_000_000 }] });
    expect(tooDear.status).toBe(400);
    expect(JSON.stringify(tooDear.body)).toContain('must be at most 20,000,000');
  });

  it('a feed id past PostgreSQL\'s integers is not found, whatever is asked of it (regression: 500)', async () => {
    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    for (const [method, path] of [['GET', '/dashboard/data-feeds/99999999999/transform-status'], ['POST', '/dashboard/data-feeds/2147483648/rerun'], ['DELETE', '/dashboard/data-feeds/2147483648']] as const) {
      const res = await callJson(app.url, admin, method, path);
      expect(res.status, path).toBe(404);
    }
  });

  it('a commit sent as anything but a JSON object is told what to send (regression: "upload_token … received undefined")', async () => {
    const send = (body: string, contentType?: string) =>
      fetch(`${app.url}/dashboard/data-feeds/commit`, { method: 'POST', headers: { authorization: `Bearer ${ops}`, ...(contentType ? { 'content-type': contentType } : {}) }, body }).then(async (res) => ({ status: res.status, body: (await res.json()) as { error: { message: string } } }));
    const plain = await send('upload_token=abc', 'application/x-www-form-urlencoded');
    expect(plain.status).toBe(415);
    expect(plain.body.error.message).toBe('Send the request body as JSON, with Content-Type: application/json (it came as application/x-www-form-urlencoded).');
    const nothing = await send('null', 'application/json');
    expect(nothing.status).toBe(400);
    expect(nothing.body.error.message).toMatch(/^The request body is not a JSON object/);
  });

  it('offers each data type’s template for download', async () => {
    const res = await fetch(`${app.url}/dashboard/data-feeds/templates/sales.csv`, { headers: { authorization: `Bearer ${ops}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('sales-template.csv');
    expect((await res.text()).split('\r\n')[0]).toBe('product_name,quantity,price,transaction_date,discount,customer,channel,order_id');
    // Only those who may load feeds (regression: a manager could download them).
    const manager = (await apiClient(app.url, t.users.managerA.email)).token;
    expect((await fetch(`${app.url}/dashboard/data-feeds/templates/costs.csv`, { headers: { authorization: `Bearer ${manager}` } })).status).toBe(403);
    expect((await fetch(`${app.url}/dashboard/data-feeds/templates/costs.csv`)).status).toBe(401);
  });
});

describe('integrity around the loaded facts', () => {
  it('a workbook stored in many upload chunks commits every row of its first visible sheet', async () => {
    const book = new ExcelJS.Workbook();
    const notes = book.addWorksheet('Notes');
    notes.addRow(['not the feed']);
    notes.state = 'hidden';
    const sheet = book.addWorksheet('Sales');
    sheet.addRow(['Product Name', 'Quantity', 'Price', 'Transaction Date', 'Customer']);
    const rows = 6_000;
    for (let i = 0; i < rows; i++) sheet.addRow(['Croissant', (i % 7) + 1, 2.95, new Date(Date.UTC(2025, 10, 1 + (i % 28))), `workbook-customer-${i % 300}@example.com`]);
    const bytes = Buffer.from(await book.xlsx.writeBuffer());
    // Upload chunks are 32 KiB: the sheet's rows and the archive's directory sit in different chunks.
    expect(bytes.length).toBeGreaterThan(3 * 32 * 1024);
    const res = await previewAndCommit(bytes, {}, ops, 'sales.xlsx');
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body!.record_count).toBe(rows);
    expect((await waitForFeed(app.url, ops, res.body!.feed_id)).status).toBe('transformed');
    const quantity = Array.from({ length: rows }, (_, i) => (i % 7) + 1).reduce((sum, q) => sum + q, 0);
    expect(await factTotals(res.body!.feed_id)).toMatchObject({ records: rows, revenue: ((quantity * 295) / 100).toFixed(2) });
  });

  it('tells the planner about a feed of some size before loading it into the shared partition (regression: after a large feed, a 20,000-row one took 30 s in nested loops)', async () => {
    await analyzeStagingWithoutFeed(app.db.pool, t.businessA);
    const rows = Array.from({ length: 1_500 }, (_, i) => `Croissant,1,2.95,2025-12-01,planner-${i}@example.com`);
    const res = await previewAndCommit(['product_name,quantity,price,transaction_date,customer', ...rows].join('\n'));
    expect(res.status).toBe(202);
    expect((await waitForFeed(app.url, ops, res.body!.feed_id)).status).toBe('transformed');
    expect(await factTotals(res.body!.feed_id)).toMatchObject({ records: 1_500, revenue: '4425.00' });
    expect(await feedsKnownToPlanner(app.db.pool)).toContain(res.body!.feed_id);
  });

  it('a record longer than 1 MB is refused with its row at the preview (which reads the whole file), and nothing is kept', async () => {
    const oneLine = await uploadPreview(app.url, ops, { name: 'one-line.csv', bytes: Buffer.from(`product_name,quantity,price,transaction_date${',x'.repeat(600_000)}`) });
    expect(oneLine.status).toBe(422);
    expect(oneLine.body.error.message).toMatch(/^Row 1 of one-line\.csv is longer than 1 MB/);

    const good = Array.from({ length: 120 }, () => 'Croissant,1,2.95,2025-09-01');
    const csv = ['product_name,quantity,price,transaction_date', ...good, `Croissant${' '.repeat(1_200_000)},1,2.95,2025-09-01`, ...good].join('\n');
    const feedsBefore = (await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds')).rows[0].n;
    const res = await uploadPreview(app.url, ops, { name: 'long-row.csv', bytes: Buffer.from(csv) });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/^Row 122 of long-row\.csv is longer than 1 MB/);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files WHERE filename = $1', ['long-row.csv'])).rows[0].n).toBe(0);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds')).rows[0].n).toBe(feedsBefore);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items')).rows[0].n).toBe(0);
  });

  it('a product with sales cannot be deleted (deactivate it instead)', async () => {
    const res = await callJson(app.url, ops, 'DELETE', `/api/products/${t.productA}`);
    expect(res.status).toBe(409);
    expect(res.body!.error.message).toMatch(/has sales in the warehouse/);
  });

  it('text with backslashes reaches the warehouse unchanged (COPY escaping)', async () => {
    const csv = 'product_name,quantity,price,transaction_date,order_id\n"Back\\\\slash Bun",1,1.00,2025-09-09,"A\\\\B"\n';
    const res = await previewAndCommit(csv, { auto_create_products: true });
    expect(res.status).toBe(202);
    await waitForFeed(app.url, ops, res.body!.feed_id);
    const rows = await app.db.pool.query(`SELECT p.name, f.order_id FROM fact_sales f JOIN products p ON p.id = f.product_id WHERE f.data_feed_id = $1`, [res.body!.feed_id]);
    expect(rows.rows).toEqual([{ name: 'Back\\\\slash Bun', order_id: 'A\\\\B' }]);
  });
});
