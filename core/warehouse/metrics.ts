import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { callerBusiness } from '../auth/business.js';
import { AppError } from '../errors.js';
import { marginIncomplete } from './loadFacts.js';
import { comparedRange, fitGrouping, periodStart, resolveRange, todayIn, type Comparison, type DateRange, type Grouping, type RangeName } from './ranges.js';

export interface MetricsQuery {
  businessId?: string;
  range: RangeName;
  from?: string;
  to?: string;
  groupBy: Grouping;
  productId?: string;
  /** What the KPIs are compared with (the period before, by default). */
  compare?: Comparison;
}

export interface Kpi {
  records: number;
  quantity: number;
  orders: number;
  gross_revenue: number;
  discount: number;
  cogs_amount: number;
  gross_margin_amount: number;
  gross_margin_percent: number | null;
  avg_order_value: number | null;
}

/**
 * The business the metrics are about (a scoped user's own; an admin names one), its date range ("all
 * time" from its first day of sales) and today in its time zone.
 */
async function resolve(ctx: Context, query: MetricsQuery): Promise<{ businessId: string; range: DateRange; today: string }> {
  assertCan(ctx.user, 'metrics', 'view');
  const business = await callerBusiness(ctx, query.businessId, { refused: 'You can only see your own business’s metrics.', missing: 'Say which business: business_id is required for admins.' });
  const firstDay = query.range === 'all_time' ? (await ctx.db.pool.query<{ day: string | null }>('SELECT min(date_key)::text AS day FROM fact_sales WHERE business_id = $1', [business.id])).rows[0]!.day : null;
  const today = todayIn(business.timezone);
  const range = resolveRange(query.range, today, { from: query.from, to: query.to, firstDay });
  if (query.productId) {
    // Another business's product is not found, as any of its records (not an answer of zeros).
    const product = await ctx.db.pool.query('SELECT 1 FROM products WHERE id = $1 AND business_id = $2', [query.productId, business.id]);
    if (product.rowCount === 0) throw new AppError('not_found', 'This product was not found in the business.');
  }
  return { businessId: business.id, range, today };
}

const num = (value: string | null | undefined) => (value === null || value === undefined ? 0 : Number(value));

async function kpiFor(ctx: Context, businessId: string, range: DateRange, productId?: string): Promise<Kpi> {
  const result = await ctx.db.pool.query<Record<string, string | null>>(
    `SELECT count(*) AS records, sum(quantity) AS quantity, count(DISTINCT order_id) AS orders, sum(gross_revenue) AS gross_revenue, sum(discount) AS discount,
            sum(cogs_amount) AS cogs_amount, sum(gross_margin_amount) AS gross_margin_amount,
            round(100 * sum(gross_margin_amount) / NULLIF(sum(gross_revenue) FILTER (WHERE cogs_amount IS NOT NULL), 0), 2) AS gross_margin_percent,
            round(sum(gross_revenue) / NULLIF(count(DISTINCT order_id), 0), 2) AS avg_order_value
     FROM fact_sales WHERE business_id = $1 AND date_key BETWEEN $2 AND $3 AND ($4::uuid IS NULL OR product_id = $4)`,
    [businessId, range.from, range.to, productId ?? null],
  );
  const row = result.rows[0]!;
  return {
    records: num(row.records),
    quantity: num(row.quantity),
    orders: num(row.orders),
    gross_revenue: num(row.gross_revenue),
    discount: num(row.discount),
    cogs_amount: num(row.cogs_amount),
    gross_margin_amount: num(row.gross_margin_amount),
    gross_margin_percent: row.gross_margin_percent === null ? null : Number(row.gross_margin_percent),
    avg_order_value: row.avg_order_value === null ? null : Number(row.avg_order_value),
  };
}

/**
 * KPI cards: totals for the range, and the same for the period it is compared with (none for all time).
 * `in_progress`: the range runs to today, whose sales are still coming in. `margin_incomplete`: the range's
 * sales of products without a cost, which its margin leaves out.
 */
export async function kpiSummary(
  ctx: Context,
  query: MetricsQuery,
): Promise<{ success: true; range: DateRange; in_progress: boolean; kpi: Kpi; previous: (Kpi & { range: DateRange; comparison: Comparison }) | null; margin_incomplete: MarginIncomplete | null }> {
  const { businessId, range, today } = await resolve(ctx, query);
  const comparison = query.compare ?? 'previous_period';
  const previous = comparedRange(range, comparison);
  const [kpi, before, incomplete] = await Promise.all([
    kpiFor(ctx, businessId, range, query.productId),
    previous ? kpiFor(ctx, businessId, previous, query.productId) : null,
    marginIncompleteIn(ctx, businessId, range),
  ]);
  return { success: true, range, in_progress: range.to >= today, kpi, previous: before && previous ? { ...before, range: previous, comparison } : null, margin_incomplete: incomplete };
}

/** Products sold in a range whose cost is unknown: their sales have no COGS or margin. */
export interface MarginIncomplete {
  products_without_cost: number;
  /** Their revenue, left out of the margin percent. */
  revenue_without_cost: number;
  message: string;
}

/** Whether a range's margin leaves out sales of products without a cost (null when it leaves out none). */
export async function marginIncompleteIn(ctx: Pick<Context, 'db'>, businessId: string, range: { from: string; to: string }): Promise<MarginIncomplete | null> {
  const result = await ctx.db.pool.query<{ products: number; revenue: string | null }>(
    `SELECT count(DISTINCT product_id)::int AS products, sum(gross_revenue) AS revenue FROM fact_sales
     WHERE business_id = $1 AND date_key BETWEEN $2 AND $3 AND cogs_amount IS NULL`,
    [businessId, range.from, range.to],
  );
  const row = result.rows[0]!;
  if (row.revenue === null) return null;
  return { products_without_cost: row.products, revenue_without_cost: Number(row.revenue), message: marginIncomplete(row.products) };
}

/** The best-selling products of the range, by revenue (with `productId`, that product's line alone). */
export async function topProducts(ctx: Context, query: MetricsQuery & { limit: number }) {
  const { businessId, range } = await resolve(ctx, query);
  const result = await ctx.db.pool.query<Record<string, string>>(
    `SELECT f.product_id, coalesce(p.name, '(unknown product)') AS product_name, sum(f.quantity) AS quantity, sum(f.gross_revenue) AS gross_revenue,
            coalesce(sum(f.gross_margin_amount), 0) AS gross_margin_amount, round(100 * sum(f.gross_margin_amount) / NULLIF(sum(f.gross_revenue) FILTER (WHERE f.cogs_amount IS NOT NULL), 0), 2) AS gross_margin_percent
     FROM fact_sales f LEFT JOIN products p ON p.id = f.product_id
     WHERE f.business_id = $1 AND f.date_key BETWEEN $2 AND $3 AND ($5::uuid IS NULL OR f.product_id = $5)
     GROUP BY f.product_id, p.name ORDER BY sum(f.gross_revenue) DESC, p.name LIMIT $4`,
    [businessId, range.from, range.to, query.limit, query.productId ?? null],
  );
  return {
    success: true as const,
    range,
    products: result.rows.map((row) => ({
      product_id: row.product_id ?? null,
      product_name: row.product_name!,
      quantity: Number(row.quantity),
      gross_revenue: Number(row.gross_revenue),
      gross_margin_amount: Number(row.gross_margin_amount),
      gross_margin_percent: row.gross_margin_percent === null ? null : Number(row.gross_margin_percent),
    })),
  };
}

/**
 * A time series over the range, one point per day, week or month, with empty periods as zeros. A grouping
 * with too many points for the range is made coarser (`grouping_note` says so); the point holding today
 * is marked `in_progress`.
 */
export async function trend(ctx: Context, query: MetricsQuery) {
  const { businessId, range, today } = await resolve(ctx, query);
  const grouping = fitGrouping(range, query.groupBy);
  const current = range.to >= today && range.from <= today ? periodStart(today, grouping.group_by) : null;
  const result = await ctx.db.pool.query<Record<string, string>>(
    `WITH periods AS (
       SELECT generate_series(date_trunc($4, $2::date), date_trunc($4, $3::date), ('1 ' || $4)::interval)::date AS period
     ), sales AS (
       SELECT date_trunc($4, date_key)::date AS period, sum(quantity) AS quantity, sum(gross_revenue) AS gross_revenue,
              sum(cogs_amount) AS cogs_amount, sum(gross_margin_amount) AS gross_margin_amount
       FROM fact_sales WHERE business_id = $1 AND date_key BETWEEN $2 AND $3 AND ($5::uuid IS NULL OR product_id = $5)
       GROUP BY 1
     )
     SELECT p.period::text AS period, coalesce(s.quantity, 0) AS quantity, coalesce(s.gross_revenue, 0) AS gross_revenue,
            coalesce(s.cogs_amount, 0) AS cogs_amount, coalesce(s.gross_margin_amount, 0) AS gross_margin_amount
     FROM periods p LEFT JOIN sales s ON s.period = p.period ORDER BY p.period`,
    [businessId, range.from, range.to, grouping.group_by, query.productId ?? null],
  );
  return {
    success: true as const,
    range,
    group_by: grouping.group_by,
    grouping_note: grouping.note,
    product_id: query.productId ?? null,
    points: result.rows.map((row) => ({
      period: row.period!,
      quantity: Number(row.quantity),
      gross_revenue: Number(row.gross_revenue),
      cogs_amount: Number(row.cogs_amount),
      gross_margin_amount: Number(row.gross_margin_amount),
      in_progress: row.period === current,
    })),
  };
}
