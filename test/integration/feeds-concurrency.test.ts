import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processDataFeed } from '../../core/warehouse/loadFacts.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, feedPieces, uploadPreview } from '../helpers/feeds.js';

/**
 * Two large feeds of one business loaded at the same moment, sharing customers that neither has seen
 * before. A large load gives its new customers ids before the transaction that adds them (its pieces are
 * written meanwhile), so the business's loads must take turns: both load, each customer once, and every
 * fact points at a customer that exists. No worker runs here: the tests start the loads themselves.
 */
let app: TestApp;
let t: Tenants;
let ops: string;

beforeAll(async () => {
  app = await startTestApp({ FEED_PARTITION_MIN_ROWS: '4' }, 'web');
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => app?.close());

const csv = (order: string) =>
  [
    'product_name,quantity,price,transaction_date,discount,customer,channel,order_id',
    ...Array.from({ length: 40 }, (_, i) => `Croissant,${1 + (i % 3)},2.95,2025-10-${String(1 + (i % 20)).padStart(2, '0')},0,shared-${i % 12}@example.com,Online,${order}-${i}`),
  ].join('\n');

async function commit(file: string): Promise<number> {
  const preview = await uploadPreview(app.url, ops, { name: 'concurrent.csv', bytes: Buffer.from(file) });
  const res = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway' });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body!.feed_id as number;
}

describe('loads of one business at the same time', () => {
  it('take turns: both load, each new customer is added once, and every fact points at an existing customer', async () => {
    const [first, second] = [await commit(csv('A')), await commit(csv('B'))];
    const options = { ownPartitionMinRows: 4, loadConnections: 2 };
    const loaded = await Promise.all([first, second].map((feedId) => processDataFeed(app.system, app.jobs, feedId, 'test-trace', options)));
    expect(loaded.map((summary) => [summary.stage, summary.metrics?.records])).toEqual([
      ['transformed', 40],
      ['transformed', 40],
    ]);

    const customers = await app.db.pool.query<{ customer_key: string; first_seen: string }>(
      `SELECT customer_key, first_seen::text FROM dim_customer WHERE business_id = $1 AND customer_key LIKE 'shared-%' ORDER BY customer_key`,
      [t.businessA],
    );
    expect(customers.rows).toHaveLength(12);
    expect(customers.rows[0]).toEqual({ customer_key: 'shared-0@example.com', first_seen: '2025-10-01' });
    const dangling = await app.db.pool.query(
      `SELECT f.data_feed_id, f.customer_id FROM fact_sales f LEFT JOIN dim_customer cu ON cu.business_id = f.business_id AND cu.id = f.customer_id
       WHERE f.data_feed_id = ANY($1) AND (f.customer_id IS NULL OR cu.id IS NULL)`,
      [[first, second]],
    );
    expect(dangling.rows).toEqual([]);
  });
});

describe('the pieces of a large feed', () => {
  it('are no more than the feed has rows', async () => {
    const feedId = await commit(['product_name,quantity,price,transaction_date', 'Croissant,1,2.95,2025-10-01', 'Croissant,2,2.95,2025-10-02', 'Croissant,3,2.95,2025-10-03'].join('\n'));
    const loaded = await processDataFeed(app.system, app.jobs, feedId, 'test-trace', { ownPartitionMinRows: 1, loadConnections: 8 });
    expect(loaded.metrics).toMatchObject({ records: 3, gross_revenue: 17.7 });
    expect((await feedPieces(app.db.pool, feedId)).map(({ rows }) => ({ rows }))).toEqual([{ rows: 1 }, { rows: 1 }, { rows: 1 }]);
  });

  it('a piece whose connection is cut fails the load with the reason, keeps the process up, and a rerun loads it', async () => {
    const feedId = await commit(csv('C'));
    // Hold the pieces where they read the products, then cut their connections.
    const blocker = await app.db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      const load = processDataFeed(app.system, app.jobs, feedId, 'test-trace', { ownPartitionMinRows: 4, loadConnections: 2 });
      const failed = expect(load).rejects.toThrow(/terminat/);
      await expect.poll(async () => (await app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'backhouse-feed-load' AND wait_event_type = 'Lock'`)).rowCount, { timeout: 20_000 }).toBe(2);
      await app.db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'backhouse-feed-load'`);
      await blocker.query('ROLLBACK');
      await failed;
    } finally {
      blocker.release();
    }
    const feed = await app.db.pool.query(`SELECT status::text, summary->'error'->>'message' AS message FROM data_feeds WHERE id = $1`, [feedId]);
    expect(feed.rows[0]).toMatchObject({ status: 'failed', message: expect.stringMatching(/terminat/) });
    const again = await processDataFeed(app.system, app.jobs, feedId, 'test-trace', { ownPartitionMinRows: 4, loadConnections: 2 });
    expect(again.metrics?.records).toBe(40);
  });
});
