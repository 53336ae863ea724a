import type pg from 'pg';
import type { Context } from '../context.js';
import { withAdvisoryLock } from '../db/index.js';
import { forbidden } from '../errors.js';
import { alertOnDifferences, type AggregateCheck, type AggregateDifference } from '../warehouse/aggregates.js';
import { markSourceChanged } from '../warehouse/views.js';
import { recomputeShopDays } from './metrics.js';

/** How many shop-local days back (today included) the nightly check recomputes by default. */
export const METRICS_CHECK_DAYS = 7;

const checkedTables = ['tm_daily_shop_metrics', 'tm_tech_daily_metrics'] as const;
type CheckedTable = (typeof checkedTables)[number];

export interface ShopMetricsCheck {
  checks: AggregateCheck[];
  /** Shops not checked because a sync of theirs was running (it recomputes the days it touches itself). */
  skippedShops: number[];
  /** Tables whose mismatch alert this check opened (warehouse_alerts, kind 'aggregate_mismatch'). */
  alerted: string[];
}

interface MetricRow {
  table: CheckedTable;
  key: { shop_id: string; metric_date: string; technician_id: string | null };
  row: Record<string, number | string>;
}

/** Both metric tables' rows of a shop's days, as jsonb (numbers compare by value), without when they were computed. */
async function metricRows(client: pg.ClientBase, shopId: number, days: string[]): Promise<MetricRow[]> {
  const { rows } = await client.query<{ tbl: CheckedTable; metric_date: string; technician_id: string | null; row: Record<string, number | string> }>(
    `SELECT 'tm_daily_shop_metrics' AS tbl, metric_date::text, NULL::text AS technician_id, to_jsonb(m) - 'computed_at' AS row
       FROM tm_daily_shop_metrics m WHERE shop_id = $1 AND metric_date = ANY ($2::date[])
     UNION ALL
     SELECT 'tm_tech_daily_metrics', metric_date::text, technician_id::text, to_jsonb(t) - 'computed_at'
       FROM tm_tech_daily_metrics t WHERE shop_id = $1 AND metric_date = ANY ($2::date[])`,
    [shopId, days],
  );
  return rows.map((r) => ({ table: r.tbl, key: { shop_id: String(shopId), metric_date: r.metric_date, technician_id: r.technician_id }, row: r.row }));
}

const keyOf = (row: MetricRow) => `${row.table}|${row.key.metric_date}|${row.key.technician_id ?? ''}`;

/** Stored and recomputed rows side by side: every key where they differ (a row missing on either side included). */
function differencesOf(stored: MetricRow[], expected: MetricRow[]): Map<CheckedTable, AggregateDifference[]> {
  const before = new Map(stored.map((row) => [keyOf(row), row]));
  const after = new Map(expected.map((row) => [keyOf(row), row]));
  const found = new Map<CheckedTable, AggregateDifference[]>(checkedTables.map((table) => [table, []]));
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(key);
    const is = after.get(key);
    // jsonb prints its keys in one order, so equal rows print the same.
    if (was && is && JSON.stringify(was.row) === JSON.stringify(is.row)) continue;
    const one = (was ?? is)!;
    const reported = one.table === 'tm_tech_daily_metrics' ? one.key : { shop_id: one.key.shop_id, metric_date: one.key.metric_date };
    found.get(one.table)!.push({ key: reported, stored: was?.row ?? null, expected: is?.row ?? null });
  }
  return found;
}

/**
 * The nightly check of the metrics the sync keeps incrementally: for each shop, the last `days` shop-local
 * days of `tm_daily_shop_metrics` and `tm_tech_daily_metrics` are recomputed from the warehouse and compared
 * with what was stored. Differences raise an alert in warehouse_alerts (kind 'aggregate_mismatch', one open
 * per table, closed by a clean check) and, with `repair`, the recomputed rows are kept (without, rolled back).
 * A shop whose sync is running is skipped: its pages recompute the days they touch. System and
 * administrators only: it reads every business.
 */
export async function checkShopMetrics(ctx: Context, options: { days?: number; repair?: boolean } = {}): Promise<ShopMetricsCheck> {
  if (ctx.scope.kind !== 'all') throw forbidden('Only administrators can check the Tekmetric metrics: the check covers every business.');
  const days = options.days ?? METRICS_CHECK_DAYS;
  const started = performance.now();
  const shops = await ctx.db.pool.query<{ id: string; days: string[] }>(
    `SELECT s.id::text, array_agg(((now() AT TIME ZONE s.timezone)::date - g)::text ORDER BY g) AS days
       FROM tm_shops s CROSS JOIN generate_series(0, $1 - 1) AS g WHERE s.deleted_at IS NULL GROUP BY s.id ORDER BY s.id`,
    [days],
  );
  const differences = new Map<CheckedTable, AggregateDifference[]>(checkedTables.map((table) => [table, []]));
  const skippedShops: number[] = [];
  for (const shop of shops.rows) {
    const shopId = Number(shop.id);
    // The sync's own lock: a page being written cannot change the stored rows between reading and recomputing them.
    const checked = await withAdvisoryLock(
      ctx.db.pool,
      `tekmetric-sync:${shopId}`,
      async (client) => {
        await client.query('BEGIN');
        try {
          const stored = await metricRows(client, shopId, shop.days);
          await recomputeShopDays(client, shopId, shop.days);
          const found = differencesOf(stored, await metricRows(client, shopId, shop.days));
          const any = [...found.values()].some((list) => list.length > 0);
          if (any && options.repair) {
            for (const source of checkedTables) await markSourceChanged((text, params) => client.query(text, params), source);
            await client.query('COMMIT');
          } else {
            await client.query('ROLLBACK');
          }
          return found;
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      },
      { skipIfHeld: true },
    );
    if (!checked) {
      skippedShops.push(shopId);
      continue;
    }
    for (const [table, list] of checked) differences.get(table)!.push(...list);
  }
  const durationMs = Math.round(performance.now() - started);
  const checks: AggregateCheck[] = checkedTables.map((table) => ({ aggregate: table, skipped: null, differences: differences.get(table)!, repaired: Boolean(options.repair) && differences.get(table)!.length > 0, durationMs }));
  // Recorded beside gold's checks, where the alert says to look for the stored and expected figures.
  for (const check of checks) {
    await ctx.db.pool.query(
      `INSERT INTO aggregate_checks (aggregate, started_at, write_version, differences, repaired, sample, duration_ms)
       VALUES ($1, now() - make_interval(secs => $2::float8 / 1000), $3, $4, $5, $6, $2)`,
      [check.aggregate, durationMs, `last ${days} days of ${shops.rows.length - skippedShops.length} shop(s)`, check.differences.length, check.repaired, JSON.stringify(check.differences.slice(0, 20))],
    );
  }
  const alerted = await alertOnDifferences(ctx.db.pool, checks);
  for (const check of checks.filter((c) => c.differences.length > 0)) {
    ctx.log.error({ table: check.aggregate, differences: check.differences.length, first: check.differences.slice(0, 3), repaired: check.repaired }, 'Tekmetric metrics differ from their recomputation from the warehouse');
  }
  return { checks, skippedShops, alerted };
}
