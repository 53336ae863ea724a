import type { PoolClient } from 'pg';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import { markSourceChanged, WAREHOUSE_REFRESH_CHANGED_QUEUE } from './views.js';
import { stagingTable } from '../feeds/stage.js';

export type FeedStage = 'queued' | 'transforming' | 'transformed' | 'failed';

export interface FeedSummary {
  stage: FeedStage;
  queued_at?: string;
  transform_started_at?: string;
  transform_finished_at?: string;
  updated_at?: string;
  metrics?: { records: number; gross_revenue: number; cogs_amount: number; gross_margin_amount: number; gross_margin_percent: number | null };
  issues?: { type: 'warning' | 'error'; code: string; message: string; [key: string]: unknown }[];
  error?: { code: string; message: string; trace_id: string } | null;
}

/** A timestamp strictly after the previous one, so `updated_at` never goes backwards (clock skew between workers). */
function monotonic(previous: string | undefined): string {
  const now = Date.now();
  const last = previous ? Date.parse(previous) : 0;
  return new Date(Math.max(now, last + 1)).toISOString();
}

async function updateFeed(client: PoolClient | Context['db']['pool'], feedId: number, status: string, patch: Partial<FeedSummary>, recordCount?: number): Promise<FeedSummary> {
  const current = await client.query<{ summary: FeedSummary }>('SELECT summary FROM data_feeds WHERE id = $1 FOR UPDATE', [feedId]);
  const previous = current.rows[0]?.summary ?? ({} as FeedSummary);
  const summary: FeedSummary = { ...previous, ...patch, updated_at: monotonic(previous.updated_at) };
  await client.query('UPDATE data_feeds SET status = $2, summary = $3, record_count = COALESCE($4, record_count), updated_at = now() WHERE id = $1', [feedId, status, summary, recordCount ?? null]);
  return summary;
}

/**
 * ProcessDataFeedJob: loads a committed feed's staging rows into the warehouse. The load runs in one
 * transaction that first removes the feed's earlier facts, so a rerun or a retry after a crash never
 * duplicates and never leaves half a load. Staging rows go on success (just after) and stay on failure.
 */
export async function processDataFeed(ctx: Context, queue: Pick<JobQueue, 'send'>, feedId: number, traceId: string, options: LoadOptions): Promise<FeedSummary> {
  const feed = await ctx.db.pool.query<{ id: number; business_id: string; data_type: 'sales' | 'costs'; status: string; record_count: number }>(
    'SELECT id, business_id, data_type, status, record_count FROM data_feeds WHERE id = $1',
    [feedId],
  );
  const row = feed.rows[0];
  if (!row) throw new AppError('not_found', `Data feed ${feedId} was not found (deleted before it was loaded).`);
  if (row.status === 'transformed') {
    // Already loaded: a duplicate delivery of the job, or a retry after the worker stopped before the purge.
    await purgeStagedRows(ctx, row.data_type, feedId);
    return (await ctx.db.pool.query<{ summary: FeedSummary }>('SELECT summary FROM data_feeds WHERE id = $1', [feedId])).rows[0]!.summary;
  }
  // Whether anything is staged; how much is the feed's record count (the commit's, or the load's a rerun restaged).
  const staged = await ctx.db.pool.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${stagingTable(row.data_type)} WHERE data_feed_id = $1) AS any`, [feedId]);
  const hasStagedRows = staged.rows[0]!.any;
  await updateFeed(ctx.db.pool, feedId, 'transforming', { stage: 'transforming', transform_started_at: new Date().toISOString(), error: null });
  let finished: FeedSummary;
  try {
    // Staging is unlogged: a database crash empties it. Loading nothing would replace the feed's facts or costs with none.
    if (!hasStagedRows) throw new AppError('gone', 'The staged rows of this feed are gone (the database restarted before they were loaded). Commit the upload again, or upload the file again.');
    if (row.record_count >= options.ownPartitionMinRows) await analyzeStaged(ctx, row.data_type);
    finished = await withTransaction(ctx.db.pool, async (client) => {
      const summary = row.data_type === 'sales' ? await loadSales(client, row.business_id, feedId, row.record_count, options) : await loadCosts(client, row.business_id, feedId);
      const transformed = await updateFeed(client, feedId, 'transformed', { ...summary, stage: 'transformed', transform_finished_at: new Date().toISOString(), error: null }, summary.metrics?.records);
      if (row.data_type === 'sales') await markSourceChanged((sql, params) => client.query(sql, params), 'fact_sales');
      return transformed;
    });
    ctx.log.info({ feedId, metrics: finished.metrics }, 'data feed transformed');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await updateFeed(ctx.db.pool, feedId, 'failed', { stage: 'failed', error: { code: error instanceof AppError ? error.code : 'load_failed', message, trace_id: traceId } }).catch(() => undefined);
    throw error;
  }
  // The sales views show the new facts once refreshed; the minute schedule would also find them.
  if (row.data_type === 'sales') await queue.send(WAREHOUSE_REFRESH_CHANGED_QUEUE, {});
  // The staged rows go once the load has committed, off the feed's way to `transformed` (a million rows take
  // about a second). If this fails or the worker stops first, the job's retry finds the feed transformed and
  // purges them then.
  await purgeStagedRows(ctx, row.data_type, feedId);
  return finished;
}

/**
 * Tells the planner how many staged rows each feed has before a large load. Statistics gathered before the
 * feed was staged do not know its id and make it one row: the load then ran its joins as nested loops (a
 * million rows ran for over ten minutes where staging also held dead rows, instead of seconds). A sample of
 * 3,000 rows is enough to tell a large feed from a small one (~40 ms, against ~0.5 s for the default
 * 30,000); its own transaction keeps concurrent loads from queueing behind its lock.
 */
async function analyzeStaged(ctx: Context, dataType: 'sales' | 'costs'): Promise<void> {
  await withTransaction(ctx.db.pool, async (client) => {
    await client.query('SET LOCAL default_statistics_target = 10');
    await client.query(`ANALYZE ${stagingTable(dataType)} (data_feed_id)`);
  });
}

/**
 * Removes a transformed feed's staged rows. The feed's row is locked first, and a feed queued again since
 * (a rerun, which reuses staged rows it finds) keeps them.
 */
async function purgeStagedRows(ctx: Context, dataType: 'sales' | 'costs', feedId: number): Promise<void> {
  await withTransaction(ctx.db.pool, async (client) => {
    const feed = await client.query<{ status: string }>('SELECT status::text FROM data_feeds WHERE id = $1 FOR UPDATE', [feedId]);
    if (feed.rows[0]?.status === 'transformed') await client.query(`DELETE FROM ${stagingTable(dataType)} WHERE data_feed_id = $1`, [feedId]);
  });
}

export interface LoadOptions {
  /** Feeds with at least this many rows get a fact partition of their own (FEED_PARTITION_MIN_ROWS). */
  ownPartitionMinRows: number;
}

/** The table holding a feed's own partition of fact_sales; feed ids are integers, so the name is safe SQL. */
export function feedPartitionName(feedId: number): string {
  if (!Number.isSafeInteger(feedId) || feedId <= 0) throw new Error(`Invalid feed id ${feedId}.`);
  return `fact_sales_feed_${feedId}`;
}

/** Runs one statement with positional parameters: a pg client's `query`, or Prisma's `$executeRawUnsafe` in a transaction. */
export type SqlRunner = (sql: string, params: unknown[]) => Promise<unknown>;

/** Removes a feed's facts wherever they are: its own partition (dropped whole) or rows of the shared one. */
export async function removeFeedFacts(run: SqlRunner, businessId: string, feedId: number): Promise<void> {
  await run(`DROP TABLE IF EXISTS ${feedPartitionName(feedId)}`, []);
  await run('DELETE FROM fact_sales WHERE business_id = $1::uuid AND segment = 0 AND data_feed_id = $2', [businessId, feedId]);
}

/** Everything a feed left in the warehouse and in staging, for deleting the feed (no foreign keys cascade there). */
export async function removeFeedData(run: SqlRunner, businessId: string, feedId: number): Promise<void> {
  await removeFeedFacts(run, businessId, feedId);
  await run('DELETE FROM staging_sales_items WHERE data_feed_id = $1', [feedId]);
  await run('DELETE FROM staging_costs WHERE data_feed_id = $1', [feedId]);
  await markSourceChanged(run, 'fact_sales');
}

async function loadSales(client: PoolClient, businessId: string, feedId: number, staged: number, options: LoadOptions): Promise<Partial<FeedSummary>> {
  await removeFeedFacts((sql, params) => client.query(sql, params), businessId, feedId);
  // The feed's distinct customers (with their first day), channels and days, in one pass over its rows: the
  // dimensions are resolved for these few values instead of for every row.
  await client.query(
    `CREATE TEMP TABLE feed_dimensions ON COMMIT DROP AS
     SELECT customer, channel, transaction_date, min(transaction_date) AS first_seen, GROUPING(customer, channel, transaction_date) AS grouping_set
     FROM staging_sales_items WHERE data_feed_id = ${Number(feedId)}
     GROUP BY GROUPING SETS ((customer), (channel), (transaction_date))`,
  );
  // A temporary table has no statistics until analysed: without them the planner takes the feed's ~50,000
  // customers for a few hundred and hashes the million staged rows instead, spilling them to disk.
  await client.query('ANALYZE feed_dimensions');
  // Room for the customers' hash table in memory (the default 4 MB splits it into batches on disk).
  await client.query(`SET LOCAL work_mem = '64MB'`);
  const [customers, channels, days] = [3, 5, 6].map((set) => `(SELECT * FROM feed_dimensions WHERE grouping_set = ${set})`);
  await client.query(
    `INSERT INTO dim_date (date_key, year, quarter, month, day, iso_week, day_of_week)
     SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), extract(day FROM d), extract(week FROM d), extract(isodow FROM d)
     FROM (SELECT transaction_date AS d FROM ${days} s) s
     ON CONFLICT (date_key) DO NOTHING`,
  );
  await client.query(
    `INSERT INTO dim_channel (name)
     SELECT DISTINCT initcap(trim(channel)) FROM ${channels} s WHERE channel IS NOT NULL AND trim(channel) <> ''
     ON CONFLICT (name) DO NOTHING`,
  );
  await client.query(
    `INSERT INTO dim_customer (business_id, customer_key, first_seen)
     SELECT $1, lower(trim(customer)), min(first_seen) FROM ${customers} s
     WHERE customer IS NOT NULL AND trim(customer) <> ''
     GROUP BY lower(trim(customer))
     ON CONFLICT (business_id, customer_key) DO UPDATE SET first_seen = excluded.first_seen WHERE dim_customer.first_seen > excluded.first_seen`,
    [businessId],
  );
  // Unit cost: the product's cost price plus, per production-cost type, the latest cost in force that day.
  // Most businesses have no production costs: then the per-row lookup is skipped altogether.
  const production = await client.query('SELECT 1 FROM product_costs WHERE business_id = $1 AND cost_type <> $2 LIMIT 1', [businessId, 'purchase']);
  const unitCost =
    production.rowCount === 0
      ? 'CROSS JOIN LATERAL (SELECT coalesce(p.cost_price, 0) AS unit_cost) c'
      : `CROSS JOIN LATERAL (
       SELECT coalesce(p.cost_price, 0) + coalesce((
         SELECT sum(latest.amount) FROM (
           SELECT DISTINCT ON (pc.cost_type) pc.amount FROM product_costs pc
           WHERE pc.business_id = s.business_id AND pc.product_id = s.product_id AND pc.cost_type <> 'purchase' AND pc.effective_from <= s.transaction_date
           ORDER BY pc.cost_type, pc.effective_from DESC, pc.id DESC
         ) latest), 0) AS unit_cost
     ) c`;
  // A large feed's facts go into a new table without indexes, which is then attached as the feed's partition:
  // PostgreSQL builds its indexes in one sorted pass instead of a million single inserts, and the attach skips
  // checking the rows thanks to the CHECK constraint. All of it in this transaction, so a crash leaves nothing.
  const ownPartition = staged >= options.ownPartitionMinRows;
  const segment = ownPartition ? feedId : 0;
  const target = ownPartition ? feedPartitionName(feedId) : 'fact_sales';
  if (ownPartition) {
    await client.query(`CREATE TABLE ${target} (LIKE fact_sales INCLUDING DEFAULTS, CONSTRAINT ${target}_segment CHECK (segment = ${segment}))`);
  }
  // Each row's money is computed once in the inner select (kept from being inlined into the outer one, where
  // every reference would compute it again).
  await client.query(
    `INSERT INTO ${target} (business_id, segment, data_feed_id, source_row, date_key, product_id, channel_id, customer_id, order_id,
                              quantity, unit_price, unit_cost, discount, gross_revenue, cogs_amount, gross_margin_amount, gross_margin_percent)
       SELECT business_id, $2, data_feed_id, row_number, transaction_date, product_id, channel_id, customer_id, order_id,
              quantity, unit_price, unit_cost, discount, revenue, cogs, revenue - cogs - discount,
              round(100 * (revenue - cogs - discount) / NULLIF(revenue, 0), 2)
       FROM (
         SELECT s.business_id, s.data_feed_id, s.row_number, s.transaction_date, p.id AS product_id, ch.id AS channel_id, cu.id AS customer_id, s.order_id,
                s.quantity, s.unit_price, c.unit_cost, s.discount, round(s.quantity * s.unit_price, 2) AS revenue, round(s.quantity * c.unit_cost, 2) AS cogs
         FROM staging_sales_items s
         LEFT JOIN (SELECT id, business_id, coalesce(cost_price_cents, 0) / 100.0 AS cost_price FROM products WHERE business_id = $3) p ON p.id = s.product_id AND p.business_id = s.business_id
         LEFT JOIN (SELECT f.channel, ch.id FROM ${channels} f JOIN dim_channel ch ON ch.name = initcap(trim(f.channel))) ch ON ch.channel = s.channel
         LEFT JOIN (SELECT f.customer, cu.id FROM ${customers} f JOIN dim_customer cu ON cu.business_id = $3 AND cu.customer_key = lower(trim(f.customer))) cu ON cu.customer = s.customer
         ${unitCost}
         WHERE s.data_feed_id = $1
         OFFSET 0
       ) computed`,
    [feedId, segment, businessId],
  );
  // The totals from the rows just written (a scan of them is cheaper than collecting the insert's RETURNING),
  // summed per product first: unlike a count of distinct products, that splits over parallel workers. The
  // feed's own partition is read whole: a filter on it, unknown to the planner, made it sort a million rows.
  const written = ownPartition ? target : `${target} WHERE business_id = $1 AND segment = 0 AND data_feed_id = $2`;
  const totals = await client.query<{ records: string; gross_revenue: string; cogs_amount: string; gross_margin_amount: string; missing_cost: string }>(
    `SELECT coalesce(sum(records), 0) AS records, coalesce(sum(gross_revenue), 0) AS gross_revenue, coalesce(sum(cogs_amount), 0) AS cogs_amount,
            coalesce(sum(gross_margin_amount), 0) AS gross_margin_amount, count(*) FILTER (WHERE product_id IS NOT NULL AND without_cost) AS missing_cost
     FROM (SELECT product_id, count(*) AS records, sum(gross_revenue) AS gross_revenue, sum(cogs_amount) AS cogs_amount,
                  sum(gross_margin_amount) AS gross_margin_amount, bool_or(unit_cost = 0) AS without_cost
           FROM ${written} GROUP BY product_id) per_product`,
    ownPartition ? [] : [businessId, feedId],
  );
  if (ownPartition) {
    // The attach builds the partition's indexes; sorting a million keys in memory beats spilling to disk.
    await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    await client.query(`ALTER TABLE fact_sales ATTACH PARTITION ${target} FOR VALUES IN (${segment})`);
  }
  const t = totals.rows[0]!;
  const revenue = Number(t.gross_revenue);
  const margin = Number(t.gross_margin_amount);
  const missingCost = Number(t.missing_cost);
  const previous = await client.query<{ summary: FeedSummary }>('SELECT summary FROM data_feeds WHERE id = $1', [feedId]);
  const carried = (previous.rows[0]?.summary.issues ?? []).filter((issue) => issue.code !== 'missing_product_cost');
  return {
    metrics: {
      records: Number(t.records),
      gross_revenue: revenue,
      cogs_amount: Number(t.cogs_amount),
      gross_margin_amount: margin,
      gross_margin_percent: revenue === 0 ? null : Math.round((10000 * margin) / revenue) / 100,
    },
    issues: [
      ...carried,
      ...(missingCost > 0 ? [{ type: 'warning' as const, code: 'missing_product_cost', message: `${missingCost} product${missingCost > 1 ? 's' : ''} had no cost price; COGS assumed 0.` }] : []),
    ],
  };
}

async function loadCosts(client: PoolClient, businessId: string, feedId: number): Promise<Partial<FeedSummary>> {
  await client.query('DELETE FROM product_costs WHERE business_id = $1 AND data_feed_id = $2', [businessId, feedId]);
  const inserted = await client.query(
    `INSERT INTO product_costs (business_id, product_id, cost_type, amount, effective_from, data_feed_id)
     SELECT s.business_id, s.product_id, s.cost_type, s.cost, s.cost_date, s.data_feed_id FROM staging_costs s
     JOIN products p ON p.id = s.product_id AND p.business_id = s.business_id WHERE s.data_feed_id = $1`,
    [feedId],
  );
  // A purchase cost is the product's cost price from its date on: the latest one sets it.
  const updated = await client.query(
    `UPDATE products p SET cost_price_cents = round(latest.cost * 100), updated_at = now()
     FROM (SELECT DISTINCT ON (product_id) product_id, cost FROM staging_costs
           WHERE data_feed_id = $1 AND cost_type = 'purchase' AND product_id IS NOT NULL
           ORDER BY product_id, cost_date DESC, row_number DESC) latest
     WHERE p.id = latest.product_id AND p.business_id = $2`,
    [feedId, businessId],
  );
  return {
    metrics: { records: inserted.rowCount ?? 0, gross_revenue: 0, cogs_amount: 0, gross_margin_amount: 0, gross_margin_percent: null },
    issues: [{ type: 'warning', code: 'cost_prices_updated', message: `${updated.rowCount ?? 0} product cost price(s) updated from purchase costs; other cost types apply as production costs from their dates.` }],
  };
}
