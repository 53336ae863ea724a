import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropAbandonedLoadTables } from '../../core/warehouse/loadFacts.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { analyzeStagingWithoutFeed, callJson, feedPieces, feedsKnownToPlanner, loadLeftovers, uploadPreview, waitForFeed } from '../helpers/feeds.js';

/**
 * Large feeds load into a fact partition of their own (here from 4 rows, FEED_PARTITION_MIN_ROWS), small ones
 * into the shared partition. Either way the facts, reruns, double commits and deletes must come out the same.
 */
let app: TestApp;
let t: Tenants;
let ops: string;
let admin: string;

beforeAll(async () => {
  app = await startTestApp({ FEED_PARTITION_MIN_ROWS: '4' });
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
  admin = (await apiClient(app.url, t.users.admin.email)).token;
});
afterAll(async () => app?.close());

// Croissant is seeded at a cost of 0.90.
const large = [
  'product_name,quantity,price,transaction_date,discount,customer,channel,order_id',
  'Croissant,10,2.95,2025-09-01,0,alice@example.com,Offline,R-1',
  'croissant,2,2.95,2025-09-01,0.50,bob@example.com,online,R-2',
  'Croissant,1,3.10,2025-09-02,,alice@example.com,Offline,R-3',
  'Croissant,4,2.50,2025-09-03,1.00,,Online,R-4',
].join('\n');
// Independently: revenue 29.50 + 5.90 + 3.10 + 10.00; COGS 0.90 × 17 units; margin = revenue − COGS − discounts.
const expected = { records: 4, revenue: '48.50', cogs: '15.30', margin: '31.70' };
const small = ['product_name,quantity,price,transaction_date', 'Croissant,3,2.95,2025-09-04'].join('\n');

async function commit(csv: string): Promise<number> {
  const preview = await uploadPreview(app.url, ops, { name: 'feed.csv', bytes: Buffer.from(csv) });
  const res = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway' });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const done = await waitForFeed(app.url, ops, res.body!.feed_id as number);
  expect(done.status, JSON.stringify(done.summary)).toBe('transformed');
  return res.body!.feed_id as number;
}

const totals = async (feedId: number) =>
  (
    await app.db.pool.query(
      `SELECT count(*)::int AS records, sum(gross_revenue)::text AS revenue, sum(cogs_amount)::text AS cogs, sum(gross_margin_amount)::text AS margin
       FROM fact_sales WHERE data_feed_id = $1`,
      [feedId],
    )
  ).rows[0];

/** Which partitions of fact_sales hold a feed's facts, as PostgreSQL sees it (a large feed's is made of pieces). */
const partitionsOf = async (feedId: number) =>
  (
    await app.db.pool.query<{ partition: string }>(
      `SELECT DISTINCT a.relid::regclass::text AS partition
       FROM (SELECT DISTINCT tableoid FROM fact_sales WHERE data_feed_id = $1) f
       CROSS JOIN LATERAL pg_partition_ancestors(f.tableoid) a
       JOIN pg_inherits i ON i.inhrelid = a.relid AND i.inhparent = 'fact_sales'::regclass`,
      [feedId],
    )
  ).rows.map((r) => r.partition);
const piecesOf = (feedId: number) => feedPieces(app.db.pool, feedId);
const leftoversOf = (feedId: number) => loadLeftovers(app.db.pool, feedId);
const tableExists = async (name: string) => ((await app.db.pool.query('SELECT 1 FROM pg_class WHERE relname = $1', [name])).rowCount ?? 0) > 0;

describe('fact partitions', () => {
  let first: number;

  it('loads a large feed into its own indexed partition and a small one into the shared partition', async () => {
    first = await commit(large);
    expect(await totals(first)).toEqual(expected);
    expect(await partitionsOf(first)).toEqual([`fact_sales_feed_${first}`]);
    const indexes = await app.db.pool.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname', [`fact_sales_feed_${first}`]);
    expect(indexes.rows.map((r) => r.indexdef.replace(/^.* USING /, ''))).toEqual(['btree (business_id, date_key, product_id)']);
    // Written side by side in two pieces (FEED_LOAD_CONNECTIONS), each indexed as fact_sales is, then attached.
    expect(await piecesOf(first)).toEqual([
      { rows: 2, indexes: ['btree (business_id, date_key, product_id)'] },
      { rows: 2, indexes: ['btree (business_id, date_key, product_id)'] },
    ]);
    expect(await leftoversOf(first)).toEqual([]);
    const smallFeed = await commit(small);
    expect(await partitionsOf(smallFeed)).toEqual(['fact_sales_shared']);
    expect((await totals(smallFeed)).revenue).toBe('8.85');
  });

  it('gives the same facts for the same file committed twice, and a rerun replaces the partition without doubling', async () => {
    const second = await commit(large);
    expect(await totals(second)).toEqual(expected);
    const rerun = await callJson(app.url, admin, 'POST', `/dashboard/data-feeds/${first}/rerun`);
    expect(rerun.status).toBe(202);
    expect((await waitForFeed(app.url, admin, first)).status).toBe('transformed');
    expect(await totals(first)).toEqual(expected);
    expect(await partitionsOf(first)).toEqual([`fact_sales_feed_${first}`]);
  });

  it('keeps a feed\'s facts as they were, and leaves no pieces behind, when a rerun fails in one piece of its partition', async () => {
    // A production cost from 2025-09-02 so high that the margin percent of rows 4 and 5 (the second piece) overflows its column.
    const product = await app.db.pool.query<{ id: string }>(`SELECT id FROM products WHERE business_id = $1 AND name = 'Croissant'`, [t.businessA]);
    await app.db.pool.query(`INSERT INTO product_costs (business_id, product_id, cost_type, amount, effective_from) VALUES ($1, $2, 'packaging', 99999999, '2025-09-02')`, [t.businessA, product.rows[0]!.id]);
    try {
      expect((await callJson(app.url, admin, 'POST', `/dashboard/data-feeds/${first}/rerun`)).status).toBe(202);
      const failed = await waitForFeed(app.url, admin, first);
      expect(failed.status).toBe('failed');
      expect(failed.summary.error).toMatchObject({ code: 'amount_too_large', message: expect.stringMatching(/margin percent passes/) });
      expect(await totals(first)).toEqual(expected);
      expect(await partitionsOf(first)).toEqual([`fact_sales_feed_${first}`]);
      expect(await leftoversOf(first)).toEqual([]);
    } finally {
      await app.db.pool.query(`DELETE FROM product_costs WHERE business_id = $1 AND cost_type = 'packaging'`, [t.businessA]);
    }
    expect((await callJson(app.url, admin, 'POST', `/dashboard/data-feeds/${first}/rerun`)).status).toBe(202);
    expect((await waitForFeed(app.url, admin, first)).status).toBe('transformed');
    expect(await totals(first)).toEqual(expected);
    expect(await piecesOf(first)).toHaveLength(2);
  });

  it('housekeeping drops what dead loads left, except where a load of the business is running', async () => {
    const feedId = await commit(large);
    // Pieces a dead worker wrote and never attached: for this feed, and for a feed deleted since.
    await app.db.pool.query(`CREATE TABLE fact_sales_feed_${feedId}_p1_dead01 (LIKE fact_sales)`);
    await app.db.pool.query(`CREATE TABLE fact_sales_feed_${feedId}_customers (customer text)`);
    await app.db.pool.query('CREATE TABLE fact_sales_feed_999999_p0_dead02 (LIKE fact_sales)');
    // A load of business A is running: its feeds' tables may be in use.
    const running = await app.db.pool.connect();
    try {
      await running.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`backhouse.feeds.load:${t.businessA}`]);
      expect(await dropAbandonedLoadTables(app.system)).toBe(1);
      expect(await leftoversOf(feedId)).toEqual([`fact_sales_feed_${feedId}_customers`, `fact_sales_feed_${feedId}_p1_dead01`]);
      expect(await leftoversOf(999999)).toEqual([]);
      await running.query('SELECT pg_advisory_unlock_all()');
    } finally {
      running.release();
    }
    expect(await dropAbandonedLoadTables(app.system)).toBe(1);
    expect(await leftoversOf(feedId)).toEqual([]);
    // The feed's own partition and its pieces are the warehouse's, not leftovers.
    expect(await totals(feedId)).toEqual(expected);
    expect(await piecesOf(feedId)).toHaveLength(2);
    expect((await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${feedId}`)).status).toBeLessThan(300);
  });

  it('tells the planner about a large feed\'s staged rows before loading them (statistics from before the feed made it one row, and nested loops)', async () => {
    await analyzeStagingWithoutFeed(app.db.pool, t.businessA);
    const rows = Array.from({ length: 1_200 }, (_, i) => `Croissant,1,2.95,2025-09-05,0,planner-${i}@example.com`);
    const feedId = await commit(['product_name,quantity,price,transaction_date,discount,customer', ...rows].join('\n'));
    expect(await totals(feedId)).toEqual({ records: 1_200, revenue: '3540.00', cogs: '1080.00', margin: '2460.00' });
    expect(await feedsKnownToPlanner(app.db.pool)).toContain(feedId);
    await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${feedId}`);
  });

  it('shows partitioned facts in the metrics like any other', async () => {
    const kpi = await callJson(app.url, ops, 'GET', '/dashboard/metrics/kpi?range=custom&from=2025-09-01&to=2025-09-03');
    expect(kpi.status).toBe(200);
    // Two loads of the large file (the first rerun in place), nothing else in those days.
    expect(kpi.body!.kpi).toMatchObject({ records: 8, gross_revenue: 97 });
  });

  it('drops a deleted feed\'s partition whole, leaving other feeds alone', async () => {
    // A piece a dead worker wrote and never attached.
    await app.db.pool.query(`CREATE TABLE fact_sales_feed_${first}_p0_dead00 (LIKE fact_sales)`);
    const res = await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${first}`);
    expect(res.status).toBeLessThan(300);
    expect(await tableExists(`fact_sales_feed_${first}`)).toBe(false);
    expect(await leftoversOf(first)).toEqual([]);
    expect((await totals(first)).records).toBe(0);
    const others = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM fact_sales');
    expect(others.rows[0]!.n).toBe(5);
  });

  it('removes what a failed load left in staging when its feed is deleted', async () => {
    const feedId = await commit(small);
    // What a load that failed leaves behind: its staged rows (no foreign key cascades them away).
    await app.db.pool.query(
      `INSERT INTO staging_sales_items (data_feed_id, row_number, business_id, product_name, quantity, unit_price, transaction_date) VALUES ($1, 2, $2, 'Croissant', 1, 2.95, '2025-09-05')`,
      [feedId, t.businessA],
    );
    expect((await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${feedId}`)).status).toBeLessThan(300);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items WHERE data_feed_id = $1', [feedId])).rows[0].n).toBe(0);
    expect((await totals(feedId)).records).toBe(0);
  });
});
