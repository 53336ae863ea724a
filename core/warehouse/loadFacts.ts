import { randomBytes } from 'node:crypto';
import pg, { type PoolClient } from 'pg';
import { writeAudits } from '../auth/audit.js';
import type { Context } from '../context.js';
import { inTransaction, sqlOf, tryTransactionLock, withAdvisoryLock, withTransaction, type SqlQuery } from '../db/index.js';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import { markSourceChanged, WAREHOUSE_REFRESH_CHANGED_QUEUE } from './views.js';
import { stagingTable } from '../feeds/stage.js';
import type { RecordedDuplicates } from '../feeds/duplicates.js';

export type FeedStage = 'processing' | 'queued' | 'transforming' | 'transformed' | 'failed';

export interface FeedSummary {
  stage: FeedStage;
  processing_started_at?: string;
  /** While the commit stages the feed's rows: rows read so far, and the share of the file read. */
  progress?: { rows_read: number; percent: number };
  queued_at?: string;
  transform_started_at?: string;
  transform_finished_at?: string;
  updated_at?: string;
  /** The currency marks written beside the file's amounts ("$", "EUR"), as the commit found them. */
  currency_marks?: string[];
  /**
   * COGS and margin cover the lines whose product has a known cost; the margin percent is of those lines'
   * revenue. `products_without_cost` counts the feed's products with none (their lines have no COGS or margin).
   */
  metrics?: { records: number; gross_revenue: number; cogs_amount: number; gross_margin_amount: number; gross_margin_percent: number | null; products_without_cost?: number };
  issues?: { type: 'warning' | 'error'; code: string; message: string; [key: string]: unknown }[];
  error?: { code: string; message: string; trace_id: string } | null;
  /** What the commit found already loaded and the choice made (core/feeds/commit.ts `RecordedDuplicates`). */
  duplicates?: RecordedDuplicates;
}

/** A timestamp strictly after the previous one, so `updated_at` never goes backwards (clock skew between workers). */
export function monotonic(previous: string | undefined): string {
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
 * ProcessDataFeedJob: loads a committed feed's staging rows into the warehouse. What readers see changes in
 * one transaction that first removes the feed's earlier facts, so a rerun or a retry after a crash never
 * duplicates and never leaves half a load. Staging rows go on success (just after) and stay on failure.
 * One business's loads run one at a time (they share its customers).
 */
export async function processDataFeed(ctx: Context, queue: Pick<JobQueue, 'send'>, feedId: number, traceId: string, options: LoadOptions): Promise<FeedSummary> {
  const owner = await ctx.db.pool.query<{ business_id: string }>('SELECT business_id FROM data_feeds WHERE id = $1', [feedId]);
  if (!owner.rows[0]) throw new AppError('not_found', `Data feed ${feedId} was not found (deleted before it was loaded).`);
  const loaded = await withAdvisoryLock(ctx.db.pool, businessLoadLock(owner.rows[0].business_id), async (client) => {
    const feed = await client.query<LoadedFeed & { status: string; replaces: number[] | null }>(
      `SELECT id, business_id, data_type, status, record_count, summary->'duplicates'->'replaces' AS replaces FROM data_feeds WHERE id = $1`,
      [feedId],
    );
    const row = feed.rows[0];
    if (!row) throw new AppError('not_found', `Data feed ${feedId} was not found (deleted before it was loaded).`);
    if (row.status === 'transformed') {
      // Already loaded: a duplicate delivery of the job, or a retry after the worker stopped before the purge.
      return { dataType: row.data_type, summary: (await client.query<{ summary: FeedSummary }>('SELECT summary FROM data_feeds WHERE id = $1', [feedId])).rows[0]!.summary, loadedNow: false };
    }
    // Whether anything is staged; how much is the feed's record count (the commit's, or the load's a rerun restaged).
    const staged = await client.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${stagingTable(row.data_type)} WHERE data_feed_id = $1) AS any`, [feedId]);
    const hasStagedRows = staged.rows[0]!.any;
    await updateFeed(client, feedId, 'transforming', { stage: 'transforming', transform_started_at: new Date().toISOString(), error: null });
    let finished: FeedSummary;
    try {
      // Staging is unlogged: a database crash empties it. Loading nothing would replace the feed's facts or costs with none.
      if (!hasStagedRows) throw new AppError('gone', 'The staged rows of this feed are gone (the database restarted before they were loaded). Commit the upload again, or upload the file again.');
      if (row.record_count >= ANALYZE_STAGED_MIN_ROWS) await analyzeStaged(client, row.data_type);
      const finish = async (tx: PoolClient, summary: Partial<FeedSummary>) => {
        await removeReplacedFeeds(ctx, tx, row, row.replaces ?? []);
        const transformed = await updateFeed(tx, feedId, 'transformed', { ...summary, stage: 'transformed', transform_finished_at: new Date().toISOString(), error: null }, summary.metrics?.records);
        if (row.data_type === 'sales') await markSourceChanged((sql, params) => tx.query(sql, params), 'fact_sales');
        return transformed;
      };
      finished = row.data_type === 'sales' ? await loadSales(ctx, client, row, options, finish) : await inTransaction(client, async (tx) => finish(tx, await loadCosts(tx, row.business_id, feedId)));
      ctx.log.info({ feedId, metrics: finished.metrics }, 'data feed transformed');
    } catch (error) {
      const failure = explainLoadFailure(error);
      // On a connection of its own: the load's may be what broke.
      await updateFeed(ctx.db.pool, feedId, 'failed', { stage: 'failed', error: { ...failure, trace_id: traceId } }).catch(() => undefined);
      throw error;
    }
    return { dataType: row.data_type, summary: finished, loadedNow: true };
  });
  // Once the business's lock is given back: a delete of the feed just seen transformed must not find it held.
  // The sales views show the new facts once refreshed; the minute schedule would also find them.
  if (loaded.dataType === 'sales' && loaded.loadedNow) await queue.send(WAREHOUSE_REFRESH_CHANGED_QUEUE, {});
  // The staged rows go once the load has committed, off the feed's way to `transformed` (a million rows take
  // about a second) and after the business's next load may start. If this fails or the worker stops first,
  // the job's retry finds the feed transformed and purges them then.
  await purgeStagedRows(ctx, loaded.dataType, feedId);
  return loaded.summary;
}

/**
 * A load whose worker died on its last attempt (its job was given up): the feed is marked failed with what
 * happened, so that it can be re-run or deleted instead of reading `transforming` for ever. Nothing of the
 * load was kept (its transaction died with it); the staged rows stay for the re-run.
 */
export async function failAbandonedLoad(ctx: Context, feedId: number, traceId: string): Promise<void> {
  await withTransaction(ctx.db.pool, async (tx) => {
    const feed = await tx.query<{ status: string }>('SELECT status::text FROM data_feeds WHERE id = $1 FOR UPDATE', [feedId]);
    if (feed.rows[0]?.status !== 'queued' && feed.rows[0]?.status !== 'transforming') return;
    const message = 'The load stopped on every attempt: the worker running it ended (killed, or out of memory) before it finished. Nothing of it was kept. Re-run the feed; if it stops again, look at the workers\' logs and memory.';
    await updateFeed(tx, feedId, 'failed', { stage: 'failed', error: { code: 'load_interrupted', message, trace_id: traceId } });
  });
  ctx.log.warn({ feedId }, 'the load of a feed was given up after its worker died on every attempt: the feed is marked failed');
}

/**
 * Removes the earlier feeds a feed replaces (chosen at its commit: the same file, or its rows, loaded before),
 * in the transaction that makes the feed's own rows visible: readers see the earlier feeds or this one, never
 * both and never neither. A feed already gone is passed over. Each removal is audited.
 */
async function removeReplacedFeeds(ctx: Context, tx: PoolClient, feed: LoadedFeed, replaces: number[]): Promise<void> {
  const query = sqlOf(tx);
  for (const replacedId of replaces) {
    const replaced = await tx.query<{ filename: string; status: string; record_count: number }>(
      'SELECT filename, status::text AS status, record_count FROM data_feeds WHERE id = $1 AND business_id = $2 FOR UPDATE',
      [replacedId, feed.business_id],
    );
    const before = replaced.rows[0];
    if (!before) continue;
    // The business's load lock is this load's own (held by this connection), so this takes it at once.
    await removeFeedData(query, feed.business_id, replacedId);
    await tx.query('DELETE FROM data_feeds WHERE id = $1', [replacedId]);
    await writeAudits(ctx, [{ resource: 'feeds', recordId: String(replacedId), action: 'delete', businessId: feed.business_id, before, after: { replaced_by: feed.id } }], tx);
  }
}

/** What a failed load tells the feed's readers: the load's own errors as they are, the database's in words a person can act on. */
function explainLoadFailure(error: unknown): { code: string; message: string } {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  if ((error as { code?: string }).code === '22003') {
    return {
      code: 'amount_too_large',
      message:
        'Some figures of this feed are too large to store: a line\'s revenue or cost of goods reaches 10,000,000,000,000,000, or its margin percent passes ±9,999,999.99 % (costs that dwarf the price). Check its quantities and prices (and their decimal mark) and its products\' costs, then load it again.',
    };
  }
  return { code: 'load_failed', message: error instanceof Error ? error.message : String(error) };
}

interface LoadedFeed {
  id: number;
  business_id: string;
  data_type: 'sales' | 'costs';
  record_count: number;
}

/**
 * The lock a business's loads take turns under. A large load reserves ids for the feed's new customers
 * before the transaction that adds them (its pieces are written on other connections meanwhile), so no
 * other load of the business may add customers in between.
 */
const businessLoadLock = (businessId: string) => `backhouse.feeds.load:${businessId}`;

/**
 * Housekeeping: drops the working tables and unattached pieces of loads whose worker died and whose job then
 * ran out of retries (any later attempt, or the feed's delete, would have dropped them). A business with a
 * load running is skipped: every load drops its feed's leftovers itself, so under the business's lock
 * whatever is left is abandoned. Answers how many feeds had something dropped.
 */
export async function dropAbandonedLoadTables(ctx: Context): Promise<number> {
  const left = await ctx.db.pool.query<{ feed_id: number; business_id: string | null }>(
    `SELECT DISTINCT l.feed_id, f.business_id
     FROM (SELECT substring(c.relname FROM '^fact_sales_feed_([0-9]+)_')::int AS feed_id FROM pg_class c
           WHERE ${NOT_IN_WAREHOUSE} AND c.relname ~ '^fact_sales_feed_[0-9]+_') l
     LEFT JOIN data_feeds f ON f.id = l.feed_id`,
  );
  let cleaned = 0;
  for (const feed of left.rows) {
    const drop = async (client: PoolClient | pg.Pool) => {
      await dropLoadLeftovers((sql, params) => client.query(sql, params), feed.feed_id);
      return true;
    };
    // A deleted feed has no load to wait for; a business whose load is running is left for the next run.
    const dropped = feed.business_id === null ? await drop(ctx.db.pool) : await withAdvisoryLock(ctx.db.pool, businessLoadLock(feed.business_id), drop, { skipIfHeld: true });
    if (dropped) cleaned++;
  }
  return cleaned;
}

/**
 * Staged rows from which a load first tells the planner how many the feed has: below it, the nested loops
 * that a one-row estimate leads to cost less than the ~40 ms the statistics take.
 */
const ANALYZE_STAGED_MIN_ROWS = 1_000;

/**
 * Tells the planner how many staged rows each feed has before a load of some size. Statistics gathered
 * before the feed was staged do not know its id and make it one row: the load then ran its joins as nested
 * loops, each staged row scanning the feed's customers (a million rows ran for over ten minutes where
 * staging also held dead rows; a 20,000-row feed after a large one took 30 s instead of ~1 s).
 * A sample of 3,000 rows is enough to tell a large feed from a small one (~40 ms, against ~0.5 s for the
 * default 30,000); its own transaction keeps concurrent loads from queueing behind its lock.
 */
async function analyzeStaged(client: PoolClient, dataType: 'sales' | 'costs'): Promise<void> {
  await inTransaction(client, async (tx) => {
    await tx.query('SET LOCAL default_statistics_target = 10');
    await tx.query(`ANALYZE ${stagingTable(dataType)} (data_feed_id)`);
  });
}

/**
 * Removes a transformed feed's staged rows. The feed's row is locked first, and a feed queued again since
 * (a rerun, which reuses staged rows it finds) keeps them.
 */
async function purgeStagedRows(ctx: Context, dataType: 'sales' | 'costs', feedId: number): Promise<void> {
  await withTransaction(ctx.db.pool, async (tx) => {
    const feed = await tx.query<{ status: string }>('SELECT status::text FROM data_feeds WHERE id = $1 FOR UPDATE', [feedId]);
    if (feed.rows[0]?.status === 'transformed') await tx.query(`DELETE FROM ${stagingTable(dataType)} WHERE data_feed_id = $1`, [feedId]);
  });
}

export interface LoadOptions {
  /** Feeds with at least this many rows get a fact partition of their own (FEED_PARTITION_MIN_ROWS). */
  ownPartitionMinRows: number;
  /** Connections that write such a partition side by side, one piece each (FEED_LOAD_CONNECTIONS). */
  loadConnections: number;
}

/** The table holding a feed's own partition of fact_sales; feed ids are integers, so the name is safe SQL. */
export function feedPartitionName(feedId: number): string {
  if (!Number.isSafeInteger(feedId) || feedId <= 0) throw new Error(`Invalid feed id ${feedId}.`);
  return `fact_sales_feed_${feedId}`;
}

/** Runs one statement with positional parameters: a pg client's `query`, or Prisma's `$executeRawUnsafe` in a transaction. */
export type SqlRunner = (sql: string, params: unknown[]) => Promise<unknown>;

/** Removes a feed's facts wherever they are: its own partition (dropped whole, with its pieces) or rows of the shared one. */
export async function removeFeedFacts(run: SqlRunner, businessId: string, feedId: number): Promise<void> {
  await run(`DROP TABLE IF EXISTS ${feedPartitionName(feedId)}`, []);
  await run('DELETE FROM fact_sales WHERE business_id = $1::uuid AND segment = 0 AND data_feed_id = $2', [businessId, feedId]);
}

/** How long a feed's delete waits for a running load of its business before it is refused. */
const DELETE_WAITS_FOR_LOAD_MS = 2000;

/**
 * Everything a feed left in the warehouse and in staging, for deleting the feed (no foreign keys cascade
 * there), in the caller's transaction. Refused while a load of the business runs: loads add customers, and
 * the feed's customers are reconsidered here.
 */
export async function removeFeedData(query: SqlQuery, businessId: string, feedId: number): Promise<void> {
  // A load about to end (its feed already reads transformed) gives the lock back within moments.
  const deadline = Date.now() + DELETE_WAITS_FOR_LOAD_MS;
  for (;;) {
    if (await tryTransactionLock(query, businessLoadLock(businessId))) break;
    if (Date.now() >= deadline) throw new AppError('conflict', 'A feed of this business is loading right now; delete this one when it has finished (usually within a minute).');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const run: SqlRunner = (sql, params) => query(sql, params);
  await forgetFeedCustomers(run, businessId, feedId);
  await removeFeedFacts(run, businessId, feedId);
  await dropLoadLeftovers(run, feedId);
  await run('DELETE FROM staging_sales_items WHERE data_feed_id = $1', [feedId]);
  await run('DELETE FROM staging_costs WHERE data_feed_id = $1', [feedId]);
  await markSourceChanged(run, 'fact_sales');
}

/**
 * The feed's customers as the business's other facts know them: their first day from those facts, or gone
 * when only this feed had them (`vw_new_customers_daily` counts customers on their first day, and
 * `vw_returning_customers_daily` after it). Before the feed's facts go. Reads the business's facts whole
 * (no index leads with the customer), which a delete can afford.
 */
async function forgetFeedCustomers(run: SqlRunner, businessId: string, feedId: number): Promise<void> {
  await run(
    `WITH feed_customers AS (
       SELECT DISTINCT customer_id AS id FROM fact_sales
       WHERE business_id = $1::uuid AND segment IN (0, $2) AND data_feed_id = $2 AND customer_id IS NOT NULL),
     kept AS (
       SELECT f.customer_id AS id, min(f.date_key) AS first_seen FROM fact_sales f JOIN feed_customers c ON c.id = f.customer_id
       WHERE f.business_id = $1::uuid AND f.data_feed_id IS DISTINCT FROM $2 GROUP BY f.customer_id),
     gone AS (
       DELETE FROM dim_customer cu USING feed_customers c
       WHERE cu.business_id = $1::uuid AND cu.id = c.id AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.id = c.id))
     UPDATE dim_customer cu SET first_seen = k.first_seen FROM kept k
     WHERE cu.business_id = $1::uuid AND cu.id = k.id AND cu.first_seen <> k.first_seen`,
    [businessId, feedId],
  );
}

/**
 * The tables a sales load works with besides staging and the warehouse: the feed's distinct customers,
 * channels and days; its customers with their ids; per-product totals of the rows written. Regular
 * (unlogged) tables, because the pieces of a large feed are written on other connections.
 */
function loadTables(feedId: number) {
  const prefix = feedPartitionName(feedId);
  return { dimensions: `${prefix}_dimensions`, customers: `${prefix}_customers`, totals: `${prefix}_totals`, piece: (index: number, attempt: string) => `${prefix}_p${index}_${attempt}` };
}

/** A table `c` of pg_class that no reader of fact_sales sees: not attached as a partition. */
const NOT_IN_WAREHOUSE = `c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND NOT c.relispartition`;

/**
 * Drops what a load of the feed left that is not part of the warehouse: its working tables, and pieces
 * written by an attempt that never attached them (the worker died, or the load failed). Attached pieces
 * are partitions and stay.
 */
async function dropLoadLeftovers(run: SqlRunner, feedId: number): Promise<void> {
  // Underscores escaped: LIKE would take them for any character.
  const pattern = `${feedPartitionName(feedId)}_%`.replaceAll('_', '\\_');
  await run(
    `DO $$DECLARE leftover regclass; BEGIN
       FOR leftover IN SELECT c.oid::regclass FROM pg_class c
         WHERE ${NOT_IN_WAREHOUSE} AND c.relname LIKE '${pattern}'
       LOOP EXECUTE format('DROP TABLE %s', leftover); END LOOP;
     END$$`,
    [],
  );
}

/**
 * A sales feed into fact_sales. First, outside the final transaction: the feed's distinct dimension values
 * are gathered, days and channels added (shared, harmless if the load fails), and each customer given its
 * id (new ones reserved from the sequence). A large feed's facts are then written in pieces, side by side
 * on their own connections, into tables of their own, each indexed as it is written. The final transaction
 * removes the feed's earlier facts, adds its new customers, attaches the pieces as the feed's partition
 * (PostgreSQL keeps their indexes and, thanks to CHECK constraints, skips scanning them) or inserts a small
 * feed's facts into the shared partition, and marks the feed transformed. Until it commits, readers see
 * the feed's earlier facts or none; pieces of an attempt that fails or dies are dropped by the next.
 */
async function loadSales(
  ctx: Context,
  client: PoolClient,
  feed: LoadedFeed,
  options: LoadOptions,
  finish: (tx: PoolClient, summary: Partial<FeedSummary>) => Promise<FeedSummary>,
): Promise<FeedSummary> {
  const run: SqlRunner = (sql, params) => client.query(sql, params);
  const tables = loadTables(feed.id);
  await dropLoadLeftovers(run, feed.id);
  try {
    await resolveDimensions(client, feed);
    const rows = await factRowsQuery(client, feed);
    const ownPartition = feed.record_count >= options.ownPartitionMinRows;
    const pieces = ownPartition ? await writePieces(ctx, feed, rows, options.loadConnections) : [];
    return await inTransaction(client, async (tx) => {
      await removeFeedFacts((sql, params) => tx.query(sql, params), feed.business_id, feed.id);
      await addNewCustomers(tx, feed);
      if (ownPartition) {
        const partition = feedPartitionName(feed.id);
        await tx.query(`CREATE TABLE ${partition} (LIKE fact_sales INCLUDING DEFAULTS) PARTITION BY RANGE (source_row)`);
        for (const piece of pieces) await tx.query(`ALTER TABLE ${partition} ATTACH PARTITION ${piece.table} FOR VALUES FROM (${piece.from ?? 'MINVALUE'}) TO (${piece.to ?? 'MAXVALUE'})`);
        await tx.query(`ALTER TABLE fact_sales ATTACH PARTITION ${partition} FOR VALUES IN (${feed.id})`);
      } else {
        await tx.query(`SET LOCAL work_mem = '64MB'`);
        await tx.query(`INSERT INTO fact_sales ${rows.select('')}`, [...rows.params, 0]);
        await sumWrittenRows(tx, tables.totals, 'fact_sales WHERE business_id = $1 AND segment = 0 AND data_feed_id = $2', [feed.business_id, feed.id]);
      }
      return finish(tx, await salesSummary(tx, feed.id));
    });
  } finally {
    // Left for the next attempt (or the feed's delete) if this fails too, rather than hiding why the load stopped.
    await dropLoadLeftovers(run, feed.id).catch((error: unknown) => ctx.log.warn({ err: error, feedId: feed.id }, 'could not drop what the load worked with'));
  }
}

/**
 * The feed's distinct customers (with their first day), channels and days, in one pass over its rows: the
 * dimensions are resolved for these few values instead of for every row. Days and channels are added at
 * once; customers get their id, existing or reserved, which the final transaction makes real.
 */
async function resolveDimensions(client: PoolClient, feed: LoadedFeed): Promise<void> {
  const tables = loadTables(feed.id);
  await client.query(
    `CREATE UNLOGGED TABLE ${tables.dimensions} AS
     SELECT customer, channel, transaction_date, min(transaction_date) AS first_seen, GROUPING(customer, channel, transaction_date) AS grouping_set
     FROM staging_sales_items WHERE data_feed_id = ${Number(feed.id)}
     GROUP BY GROUPING SETS ((customer), (channel), (transaction_date))`,
  );
  // Without statistics the planner takes the feed's ~50,000 customers for a few hundred and hashes the
  // million staged rows instead, spilling them to disk.
  await client.query(`ANALYZE ${tables.dimensions}`);
  await client.query(
    `INSERT INTO dim_date (date_key, year, quarter, month, day, iso_week, day_of_week)
     SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), extract(day FROM d), extract(week FROM d), extract(isodow FROM d)
     FROM (SELECT transaction_date AS d FROM ${tables.dimensions} WHERE grouping_set = 6) s
     ON CONFLICT (date_key) DO NOTHING`,
  );
  await client.query(
    `INSERT INTO dim_channel (name)
     SELECT DISTINCT initcap(trim(channel)) FROM ${tables.dimensions} WHERE grouping_set = 5 AND channel IS NOT NULL AND trim(channel) <> ''
     ON CONFLICT (name) DO NOTHING`,
  );
  await client.query(`CREATE UNLOGGED TABLE ${tables.customers} (customer text NOT NULL, customer_key text NOT NULL, first_seen date NOT NULL, id bigint NOT NULL, is_new boolean NOT NULL)`);
  // One id per customer key (the same customer written with other case or spaces), new ones from the sequence.
  await client.query(
    `INSERT INTO ${tables.customers} (customer, customer_key, first_seen, id, is_new)
     WITH feed_keys AS (
       SELECT lower(trim(customer)) AS customer_key, min(first_seen) AS first_seen FROM ${tables.dimensions}
       WHERE grouping_set = 3 AND customer IS NOT NULL AND trim(customer) <> '' GROUP BY 1
     ), resolved AS (
       SELECT k.customer_key, k.first_seen, cu.id IS NULL AS is_new,
              CASE WHEN cu.id IS NULL THEN nextval(pg_get_serial_sequence('dim_customer', 'id')) ELSE cu.id END AS id
       FROM feed_keys k LEFT JOIN dim_customer cu ON cu.business_id = $1 AND cu.customer_key = k.customer_key
     )
     SELECT d.customer, r.customer_key, r.first_seen, r.id, r.is_new
     FROM ${tables.dimensions} d JOIN resolved r ON r.customer_key = lower(trim(d.customer)) WHERE d.grouping_set = 3`,
    [feed.business_id],
  );
  await client.query(`ANALYZE ${tables.customers}`);
  await client.query(
    `CREATE UNLOGGED TABLE ${tables.totals} (product_id uuid, records bigint NOT NULL, gross_revenue numeric NOT NULL, revenue_with_cost numeric NOT NULL, cogs_amount numeric NOT NULL, gross_margin_amount numeric NOT NULL, without_cost boolean NOT NULL)`,
  );
}

/**
 * Adds the feed's new customers with the ids reserved for them and moves existing customers' first day
 * earlier where the feed saw them earlier. The business's load lock keeps other loads from adding the
 * same customers meanwhile; should one have, the load fails and its job is retried rather than pointing
 * facts at ids that are not there.
 */
async function addNewCustomers(tx: PoolClient, feed: LoadedFeed): Promise<void> {
  const { customers } = loadTables(feed.id);
  const expected = await tx.query<{ n: number }>(`SELECT count(DISTINCT customer_key)::int AS n FROM ${customers} WHERE is_new`);
  const added = await tx.query(
    `INSERT INTO dim_customer (id, business_id, customer_key, first_seen)
     SELECT DISTINCT ON (customer_key) id, $1, customer_key, first_seen FROM ${customers} WHERE is_new
     ON CONFLICT (business_id, customer_key) DO NOTHING`,
    [feed.business_id],
  );
  if ((added.rowCount ?? 0) !== expected.rows[0]!.n) {
    throw new AppError('conflict', 'Another load added some of this feed\'s customers at the same time. The load is retried; nothing needs doing unless this repeats.');
  }
  await tx.query(
    `UPDATE dim_customer cu SET first_seen = c.first_seen
     FROM (SELECT DISTINCT customer_key, first_seen FROM ${customers} WHERE NOT is_new) c
     WHERE cu.business_id = $1 AND cu.customer_key = c.customer_key AND cu.first_seen > c.first_seen`,
    [feed.business_id],
  );
}

interface FactRowsQuery {
  /** The feed's fact rows (with `extraWhere` on its staged rows `s`), given `params` then the segment as the last parameter. */
  select(extraWhere: string): string;
  params: unknown[];
}

/** The SELECT that turns the feed's staged rows into fact rows: dimensions joined, money computed. */
async function factRowsQuery(client: PoolClient, feed: LoadedFeed): Promise<FactRowsQuery> {
  const tables = loadTables(feed.id);
  // Unit cost: the product's cost price plus, per production-cost type, the latest cost in force that day;
  // unknown (null) when the product's cost price is, and then so are the line's COGS and margin.
  // Most businesses have no production costs: then the per-row lookup is skipped altogether.
  const production = await client.query('SELECT 1 FROM product_costs WHERE business_id = $1 AND cost_type <> $2 LIMIT 1', [feed.business_id, 'purchase']);
  const unitCost =
    production.rowCount === 0
      ? 'CROSS JOIN LATERAL (SELECT p.cost_price AS unit_cost) c'
      : `CROSS JOIN LATERAL (
       SELECT p.cost_price + coalesce((
         SELECT sum(latest.amount) FROM (
           SELECT DISTINCT ON (pc.cost_type) pc.amount FROM product_costs pc
           WHERE pc.business_id = s.business_id AND pc.product_id = s.product_id AND pc.cost_type <> 'purchase' AND pc.effective_from <= s.transaction_date
           ORDER BY pc.cost_type, pc.effective_from DESC, pc.id DESC
         ) latest), 0) AS unit_cost
     ) c`;
  // Each row's money is computed once in the inner select (kept from being inlined into the outer one, where
  // every reference would compute it again).
  const select = (extraWhere: string) =>
    `(business_id, segment, data_feed_id, source_row, date_key, product_id, channel_id, customer_id, order_id,
      quantity, unit_price, unit_cost, discount, gross_revenue, cogs_amount, gross_margin_amount, gross_margin_percent)
     SELECT business_id, $3, data_feed_id, row_number, transaction_date, product_id, channel_id, customer_id, order_id,
            quantity, unit_price, unit_cost, discount, revenue, cogs, revenue - cogs - discount,
            round(100 * (revenue - cogs - discount) / NULLIF(revenue, 0), 2)
     FROM (
       SELECT s.business_id, s.data_feed_id, s.row_number, s.transaction_date, p.id AS product_id, ch.id AS channel_id, cu.id AS customer_id, s.order_id,
              s.quantity, s.unit_price, c.unit_cost, s.discount, round(s.quantity * s.unit_price, 2) AS revenue, round(s.quantity * c.unit_cost, 2) AS cogs
       FROM staging_sales_items s
       LEFT JOIN (SELECT id, business_id, cost_price_cents / 100.0 AS cost_price FROM products WHERE business_id = $2) p ON p.id = s.product_id AND p.business_id = s.business_id
       LEFT JOIN (SELECT f.channel, ch.id FROM ${tables.dimensions} f JOIN dim_channel ch ON ch.name = initcap(trim(f.channel)) WHERE f.grouping_set = 5) ch ON ch.channel = s.channel
       LEFT JOIN ${tables.customers} cu ON cu.customer = s.customer
       ${unitCost}
       WHERE s.data_feed_id = $1 ${extraWhere}
       OFFSET 0
     ) computed`;
  return { select, params: [feed.id, feed.business_id] };
}

interface Piece {
  table: string;
  /** The piece's source rows: from (inclusive; null for the lowest) to (exclusive; null for the highest). */
  from: number | null;
  to: number | null;
}

/**
 * Writes a large feed's facts in up to `connections` pieces, each on a connection of its own (not the
 * pool's, which the job's own connection may be waiting on) and committed on its own: a table checked to
 * hold the feed's segment and a range of source rows, its indexes those of fact_sales, its per-product
 * totals recorded. Nothing reads the pieces until the final transaction attaches them.
 */
async function writePieces(ctx: Context, feed: LoadedFeed, rows: FactRowsQuery, connections: number): Promise<Piece[]> {
  const tables = loadTables(feed.id);
  const attempt = randomBytes(3).toString('hex');
  // fact_sales's indexes as they are defined ("USING btree (…)"), to build the same on each piece.
  const definitions = await ctx.db.pool.query<{ definition: string }>(`SELECT substring(pg_get_indexdef(indexrelid) FROM ' (USING .*)$') AS definition FROM pg_index WHERE indrelid = 'fact_sales'::regclass`);
  // Row numbers run from 2 (after the header) and skipped rows leave gaps: even ranges are close enough. No
  // more pieces than rows, so that the bounds go strictly up (a range cannot be empty).
  const count = Math.min(connections, feed.record_count);
  const bounds = Array.from({ length: count - 1 }, (_, index) => 2 + Math.round(((index + 1) * feed.record_count) / count));
  const pieces: Piece[] = Array.from({ length: count }, (_, index) => ({ table: tables.piece(index, attempt), from: bounds[index - 1] ?? null, to: bounds[index] ?? null }));
  const written = await Promise.allSettled(
    pieces.map(async (piece) => {
      const connection = new pg.Client({ connectionString: ctx.db.url, application_name: 'backhouse-feed-load' });
      // A connection lost mid-piece fails its query, which fails the load; unheard, the event would end the process.
      connection.on('error', () => undefined);
      await connection.connect();
      try {
        await inTransaction(connection, async (tx) => {
          const inRange = (column: string) => [piece.from === null ? '' : `${column} >= ${piece.from}`, piece.to === null ? '' : `${column} < ${piece.to}`].filter((condition) => condition !== '');
          const checks = [`CONSTRAINT ${piece.table}_segment CHECK (segment = ${feed.id})`, ...inRange('source_row').map((condition, index) => `CONSTRAINT ${piece.table}_rows${index} CHECK (${condition})`)];
          // Room for the customers' hash table in memory (the default 4 MB splits it into batches on disk).
          await tx.query(`SET LOCAL work_mem = '64MB'`);
          // The pieces already keep the cores busy: an index build's extra worker only contends with them.
          await tx.query(`SET LOCAL max_parallel_maintenance_workers = 0`);
          await tx.query(`CREATE TABLE ${piece.table} (LIKE fact_sales INCLUDING DEFAULTS, ${checks.join(', ')})`);
          await tx.query(`ALTER TABLE ${piece.table} ALTER COLUMN source_row SET NOT NULL`);
          await tx.query(`INSERT INTO ${piece.table} ${rows.select(inRange('s.row_number').map((condition) => `AND ${condition}`).join(' '))}`, [...rows.params, feed.id]);
          for (const { definition } of definitions.rows) await tx.query(`CREATE INDEX ON ${piece.table} ${definition}`);
          await sumWrittenRows(tx, tables.totals, piece.table, []);
        });
      } finally {
        await connection.end();
      }
    }),
  );
  const failed = written.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return pieces;
}

/** Records per-product totals of rows just written (`from` is a table, optionally with its WHERE). */
async function sumWrittenRows(tx: pg.ClientBase, totals: string, from: string, params: unknown[]): Promise<void> {
  await tx.query(
    `INSERT INTO ${totals} (product_id, records, gross_revenue, revenue_with_cost, cogs_amount, gross_margin_amount, without_cost)
     SELECT product_id, count(*), sum(gross_revenue), coalesce(sum(gross_revenue) FILTER (WHERE cogs_amount IS NOT NULL), 0), coalesce(sum(cogs_amount), 0), coalesce(sum(gross_margin_amount), 0), bool_or(unit_cost IS NULL)
     FROM ${from} GROUP BY product_id`,
    params,
  );
}

/** The feed's metrics and warnings from the recorded totals of its written rows. */
async function salesSummary(tx: PoolClient, feedId: number): Promise<Partial<FeedSummary>> {
  const totals = await tx.query<{ records: string; gross_revenue: string; revenue_with_cost: string; cogs_amount: string; gross_margin_amount: string; missing_cost: string }>(
    `SELECT coalesce(sum(records), 0) AS records, coalesce(sum(gross_revenue), 0) AS gross_revenue, coalesce(sum(revenue_with_cost), 0) AS revenue_with_cost, coalesce(sum(cogs_amount), 0) AS cogs_amount,
            coalesce(sum(gross_margin_amount), 0) AS gross_margin_amount, count(*) FILTER (WHERE product_id IS NOT NULL AND without_cost) AS missing_cost
     FROM (SELECT product_id, sum(records) AS records, sum(gross_revenue) AS gross_revenue, sum(revenue_with_cost) AS revenue_with_cost, sum(cogs_amount) AS cogs_amount,
                  sum(gross_margin_amount) AS gross_margin_amount, bool_or(without_cost) AS without_cost
           FROM ${loadTables(feedId).totals} GROUP BY product_id) per_product`,
  );
  const t = totals.rows[0]!;
  const revenue = Number(t.gross_revenue);
  const revenueWithCost = Number(t.revenue_with_cost);
  const margin = Number(t.gross_margin_amount);
  const missingCost = Number(t.missing_cost);
  const previous = await tx.query<{ summary: FeedSummary }>('SELECT summary FROM data_feeds WHERE id = $1', [feedId]);
  const carried = (previous.rows[0]?.summary.issues ?? []).filter((issue) => issue.code !== 'missing_product_cost');
  return {
    metrics: {
      records: Number(t.records),
      gross_revenue: revenue,
      cogs_amount: Number(t.cogs_amount),
      gross_margin_amount: margin,
      gross_margin_percent: revenueWithCost === 0 ? null : Math.round((10000 * margin) / revenueWithCost) / 100,
      products_without_cost: missingCost,
    },
    issues: [
      ...carried,
      ...(missingCost > 0 ? [{ type: 'warning' as const, code: 'missing_product_cost', message: marginIncomplete(missingCost) }] : []),
    ],
  };
}

/** The words every reader of a margin shows when products lack a cost. */
export function marginIncomplete(productsWithoutCost: number): string {
  const products = `${productsWithoutCost} product${productsWithoutCost === 1 ? '' : 's'}`;
  return `Margin incomplete: ${products} without cost. COGS and margin cover only the sales of products with a cost; set the missing costs (Products, or a cost feed) and load the feed again.`;
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
