import type { PoolClient } from 'pg';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';

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
 * duplicates and never leaves half a load. Staging rows go on success and stay on failure.
 */
export async function processDataFeed(ctx: Context, feedId: number, traceId: string): Promise<FeedSummary> {
  const feed = await ctx.db.pool.query<{ id: number; business_id: string; data_type: 'sales' | 'costs'; status: string }>('SELECT id, business_id, data_type, status FROM data_feeds WHERE id = $1', [feedId]);
  const row = feed.rows[0];
  if (!row) throw new AppError('not_found', `Data feed ${feedId} was not found (deleted before it was loaded).`);
  const staged = await ctx.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${row.data_type === 'sales' ? 'staging_sales_items' : 'staging_costs'} WHERE data_feed_id = $1`, [feedId]);
  if (Number(staged.rows[0]!.n) === 0 && row.status === 'transformed') {
    // Already loaded and purged: a duplicate delivery of the job.
    return (await ctx.db.pool.query<{ summary: FeedSummary }>('SELECT summary FROM data_feeds WHERE id = $1', [feedId])).rows[0]!.summary;
  }
  await updateFeed(ctx.db.pool, feedId, 'transforming', { stage: 'transforming', transform_started_at: new Date().toISOString(), error: null });
  const client = await ctx.db.pool.connect();
  try {
    await client.query('BEGIN');
    const summary = row.data_type === 'sales' ? await loadSales(client, row.business_id, feedId) : await loadCosts(client, row.business_id, feedId);
    const finished = await updateFeed(client, feedId, 'transformed', { ...summary, stage: 'transformed', transform_finished_at: new Date().toISOString(), error: null }, summary.metrics?.records);
    await client.query('COMMIT');
    ctx.log.info({ feedId, metrics: finished.metrics }, 'data feed transformed');
    return finished;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    await updateFeed(ctx.db.pool, feedId, 'failed', { stage: 'failed', error: { code: error instanceof AppError ? error.code : 'load_failed', message, trace_id: traceId } }).catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function loadSales(client: PoolClient, businessId: string, feedId: number): Promise<Partial<FeedSummary>> {
  await client.query('DELETE FROM fact_sales WHERE business_id = $1 AND data_feed_id = $2', [businessId, feedId]);
  await client.query(
    `INSERT INTO dim_date (date_key, year, quarter, month, day, iso_week, day_of_week)
     SELECT DISTINCT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), extract(day FROM d), extract(week FROM d), extract(isodow FROM d)
     FROM (SELECT transaction_date AS d FROM staging_sales_items WHERE data_feed_id = $1) s
     ON CONFLICT (date_key) DO NOTHING`,
    [feedId],
  );
  await client.query(
    `INSERT INTO dim_channel (name)
     SELECT DISTINCT initcap(trim(channel)) FROM staging_sales_items WHERE data_feed_id = $1 AND channel IS NOT NULL AND trim(channel) <> ''
     ON CONFLICT (name) DO NOTHING`,
    [feedId],
  );
  await client.query(
    `INSERT INTO dim_customer (business_id, customer_key, first_seen)
     SELECT $1, lower(trim(customer)), min(transaction_date) FROM staging_sales_items
     WHERE data_feed_id = $2 AND customer IS NOT NULL AND trim(customer) <> ''
     GROUP BY lower(trim(customer))
     ON CONFLICT (business_id, customer_key) DO UPDATE SET first_seen = least(dim_customer.first_seen, excluded.first_seen)`,
    [businessId, feedId],
  );
  // Unit cost: the product's cost price plus, per production-cost type, the latest cost in force that day.
  // Most businesses have no production costs: then the per-row lookup is skipped altogether.
  const production = await client.query('SELECT 1 FROM product_costs WHERE business_id = $1 AND cost_type <> $2 LIMIT 1', [businessId, 'purchase']);
  const unitCost =
    production.rowCount === 0
      ? 'CROSS JOIN LATERAL (SELECT coalesce(p.cost_price_cents, 0) / 100.0 AS unit_cost) c'
      : `CROSS JOIN LATERAL (
       SELECT coalesce(p.cost_price_cents, 0) / 100.0 + coalesce((
         SELECT sum(latest.amount) FROM (
           SELECT DISTINCT ON (pc.cost_type) pc.amount FROM product_costs pc
           WHERE pc.business_id = s.business_id AND pc.product_id = s.product_id AND pc.cost_type <> 'purchase' AND pc.effective_from <= s.transaction_date
           ORDER BY pc.cost_type, pc.effective_from DESC, pc.id DESC
         ) latest), 0) AS unit_cost
     ) c`;
  await client.query(
    `INSERT INTO fact_sales (business_id, data_feed_id, source_row, date_key, product_id, channel_id, customer_id, order_id,
                             quantity, unit_price, unit_cost, discount, gross_revenue, cogs_amount, gross_margin_amount, gross_margin_percent)
     SELECT s.business_id, s.data_feed_id, s.row_number, s.transaction_date, s.product_id, ch.id, cu.id, s.order_id,
            s.quantity, s.unit_price, c.unit_cost, s.discount, r.revenue, r.cogs, r.revenue - r.cogs - s.discount,
            round(100 * (r.revenue - r.cogs - s.discount) / NULLIF(r.revenue, 0), 2)
     FROM staging_sales_items s
     LEFT JOIN products p ON p.id = s.product_id AND p.business_id = s.business_id
     LEFT JOIN dim_channel ch ON ch.name = initcap(trim(s.channel))
     LEFT JOIN dim_customer cu ON cu.business_id = s.business_id AND cu.customer_key = lower(trim(s.customer))
     ${unitCost}
     CROSS JOIN LATERAL (SELECT round(s.quantity * s.unit_price, 2) AS revenue, round(s.quantity * c.unit_cost, 2) AS cogs) r
     WHERE s.data_feed_id = $1`,
    [feedId],
  );
  const totals = await client.query<{ records: string; gross_revenue: string; cogs_amount: string; gross_margin_amount: string }>(
    `SELECT count(*) AS records, coalesce(sum(gross_revenue), 0) AS gross_revenue, coalesce(sum(cogs_amount), 0) AS cogs_amount, coalesce(sum(gross_margin_amount), 0) AS gross_margin_amount
     FROM fact_sales WHERE business_id = $1 AND data_feed_id = $2`,
    [businessId, feedId],
  );
  const noCost = await client.query<{ n: string }>(
    `SELECT count(DISTINCT f.product_id) AS n FROM fact_sales f WHERE f.business_id = $1 AND f.data_feed_id = $2 AND f.unit_cost = 0`,
    [businessId, feedId],
  );
  await client.query('DELETE FROM staging_sales_items WHERE data_feed_id = $1', [feedId]);
  const t = totals.rows[0]!;
  const revenue = Number(t.gross_revenue);
  const margin = Number(t.gross_margin_amount);
  const missingCost = Number(noCost.rows[0]!.n);
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
     SELECT business_id, product_id, cost_type, cost, cost_date, data_feed_id FROM staging_costs WHERE data_feed_id = $1 AND product_id IS NOT NULL`,
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
  await client.query('DELETE FROM staging_costs WHERE data_feed_id = $1', [feedId]);
  return {
    metrics: { records: inserted.rowCount ?? 0, gross_revenue: 0, cogs_amount: 0, gross_margin_amount: 0, gross_margin_percent: null },
    issues: [{ type: 'warning', code: 'cost_prices_updated', message: `${updated.rowCount ?? 0} product cost price(s) updated from purchase costs; other cost types apply as production costs from their dates.` }],
  };
}
