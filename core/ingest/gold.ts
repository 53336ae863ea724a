import type pg from 'pg';
import { foldIntoAggregate, type AggregateCheck, type IncrementalAggregate, alertOnDifferences, recomputeAggregates } from '../warehouse/aggregates.js';
import type { Context } from '../context.js';
import { forbidden } from '../errors.js';

/**
 * Gold: silver's transactions summed per store and local hour and day, per product and day, and by basket
 * size, with `simulated` as a dimension (prisma/migrations/*_gold). Each aggregate's rows come from one
 * SELECT over the silver transactions a filter picks: the transactions of a batch for a fold, all of
 * them for the nightly recompute, so that the two can never disagree by construction of the SQL.
 */

/** Transactions with their business's time zone and their units (sum of their lines' quantities). */
const transactionsWhere = (filter: string) => `
  SELECT t.id, t.business_id, t.shop_id, t.simulated, t.total_cents, t.item_count,
         (t.occurred_at AT TIME ZONE b.timezone) AS local_time,
         coalesce((SELECT sum(i.qty) FROM transaction_items i WHERE i.transaction_pk = t.id), 0) AS units
    FROM transactions t JOIN businesses b ON b.id = t.business_id
   WHERE ${filter}`;

const salesHourly = (filter: string) => `
  SELECT business_id, shop_id, simulated, date_trunc('hour', local_time)::timestamp(0) AS hour,
         1::bigint AS transactions, item_count::bigint AS lines, units, total_cents AS sales_cents
    FROM (${transactionsWhere(filter)}) t`;

const salesDaily = (filter: string) => `
  SELECT business_id, shop_id, simulated, local_time::date AS day,
         1::bigint AS transactions, item_count::bigint AS lines, units, total_cents AS sales_cents
    FROM (${transactionsWhere(filter)}) t`;

const basketSizes = (filter: string) => `
  SELECT business_id, shop_id, simulated, local_time::date AS day, gold_basket_bucket(units) AS size_bucket,
         1::bigint AS transactions, total_cents AS sales_cents
    FROM (${transactionsWhere(filter)}) t`;

const productMix = (filter: string) => `
  SELECT t.business_id, t.shop_id, t.simulated, (t.occurred_at AT TIME ZONE b.timezone)::date AS day,
         i.product_id, CASE WHEN i.product_id IS NULL THEN i.product_name END AS unlinked_name,
         1::bigint AS lines, i.qty AS units, i.line_amount_cents AS sales_cents
    FROM transactions t JOIN businesses b ON b.id = t.business_id JOIN transaction_items i ON i.transaction_pk = t.id
   WHERE ${filter}`;

const silverTables = ['transactions', 'transaction_items', 'businesses'] as const;
const batchFilter = 't.id = ANY($1::bigint[])';

interface GoldAggregate extends IncrementalAggregate {
  /** The aggregate's rows for the transactions a WHERE condition over `t` (silver transactions) picks. */
  rowsOf(filter: string): string;
}

const gold = (table: string, keys: string[], measures: string[], count: string, rowsOf: (filter: string) => string): GoldAggregate => ({
  table,
  keys,
  measures,
  count,
  rowsOf,
  source: rowsOf('true'),
  sources: silverTables,
});

/** Every gold aggregate, in the order folds and checks visit them. */
export const goldAggregates: readonly GoldAggregate[] = [
  gold('gold_sales_hourly', ['business_id', 'shop_id', 'simulated', 'hour'], ['transactions', 'lines', 'units', 'sales_cents'], 'transactions', salesHourly),
  gold('gold_sales_daily', ['business_id', 'shop_id', 'simulated', 'day'], ['transactions', 'lines', 'units', 'sales_cents'], 'transactions', salesDaily),
  gold('gold_product_mix_daily', ['business_id', 'shop_id', 'simulated', 'day', 'product_id', 'unlinked_name'], ['lines', 'units', 'sales_cents'], 'lines', productMix),
  gold('gold_basket_sizes_daily', ['business_id', 'shop_id', 'simulated', 'day', 'size_bucket'], ['transactions', 'sales_cents'], 'transactions', basketSizes),
];

/**
 * Adds `sign` × the measures of these silver transactions, as they are now (with their items), to every
 * gold aggregate, in the caller's transaction. The silver worker calls it with +1 after writing a batch;
 * whoever replaces or re-links a transaction calls -1 before the change and +1 after. An empty list folds
 * nothing. Costs what the transactions hold: each aggregate is one upsert over their keys.
 */
export async function foldTransactionsIntoGold(client: pg.ClientBase, transactionPks: readonly (bigint | string | number)[], sign: 1 | -1): Promise<void> {
  if (transactionPks.length === 0) return;
  const pks = transactionPks.map((pk) => String(pk));
  for (const aggregate of goldAggregates) await foldIntoAggregate(client, aggregate, { text: aggregate.rowsOf(batchFilter), values: [pks] }, sign);
}

export interface GoldCheck {
  checks: AggregateCheck[];
  /** Aggregates whose mismatch alert this check opened (warehouse_alerts, kind 'aggregate_mismatch'). */
  alerted: string[];
}

/**
 * The nightly check: recomputes every gold aggregate from silver, raises an alert in warehouse_alerts for
 * each that differs (closing it once one is clean again) and, with `repair`, folds the differences in so
 * that dashboards show silver's figures. Skips an aggregate when nothing was written to it or to silver
 * since its last clean check. System and administrators only: it reads every business.
 */
export async function recomputeGold(ctx: Context, options: { repair?: boolean; force?: boolean } = {}): Promise<GoldCheck> {
  if (ctx.scope.kind !== 'all') throw forbidden('Only administrators can recompute gold: it covers every business.');
  const checks = await recomputeAggregates(ctx.db.pool, goldAggregates, options);
  const alerted = await alertOnDifferences(ctx.db.pool, checks);
  for (const check of checks.filter((c) => c.differences.length > 0)) {
    ctx.log.error({ aggregate: check.aggregate, differences: check.differences.length, first: check.differences.slice(0, 3), repaired: check.repaired }, 'gold differs from its recomputation from silver');
  }
  ctx.log.info({ checks: checks.map((c) => ({ aggregate: c.aggregate, skipped: c.skipped, differences: c.differences.length, durationMs: c.durationMs })) }, 'gold recomputed from silver');
  return { checks, alerted };
}
