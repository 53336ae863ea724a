import { z } from 'zod';
import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';
import { readAsReporter, type ReaderScope } from '../warehouse/reporting.js';

/**
 * Reads of the Tekmetric warehouse for people (the metrics endpoints, the admin's status screens), made as the
 * reporting role with the reader's business and shops set, so PostgreSQL's row-level security decides what
 * comes back, on top of the scope checks here.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

export const metricsRange = z
  .object({
    shopId: z.coerce.number().int().positive().optional(),
    businessId: z.string().uuid().optional(),
    from: isoDate,
    to: isoDate,
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 3 * 366 * 86_400_000, { message: 'the range may cover at most three years', path: ['to'] });
export type MetricsRange = z.infer<typeof metricsRange>;

/** The reporting scope of a reader, narrowed to one Tekmetric shop when named. Admins name a shop or a business. */
export async function tekmetricReaderScope(ctx: Context, request: { shopId?: number; businessId?: string }): Promise<ReaderScope> {
  let business: string | undefined;
  let shops: string[] | null = null;
  if (request.shopId !== undefined) {
    const row = (await ctx.db.pool.query<{ business_id: string; backhouse_shop_id: string }>(`SELECT business_id, backhouse_shop_id FROM tm_shops WHERE id = $1`, [request.shopId])).rows[0];
    const visible = row && (ctx.scope.kind === 'all' || (row.business_id === ctx.scope.businessId && (!ctx.scope.shopIds || ctx.scope.shopIds.includes(row.backhouse_shop_id))));
    if (!row || !visible) throw new AppError('not_found', `Tekmetric shop ${request.shopId} was not found.`);
    business = row.business_id;
    shops = [row.backhouse_shop_id];
  } else if (ctx.scope.kind === 'business') {
    if (request.businessId && request.businessId !== ctx.scope.businessId) throw new AppError('not_found', `Business ${request.businessId} was not found.`);
    business = ctx.scope.businessId;
    shops = ctx.scope.shopIds;
  } else {
    if (!request.businessId) throw new AppError('bad_request', 'Name the shop (shop_id) or the business (business_id) to read.');
    business = request.businessId;
  }
  return { businessId: business, shopIds: shops, showsPersonalData: false };
}

export interface DailyShopMetricRow {
  shopId: number;
  metricDate: string;
  carCount: number;
  roCount: number;
  totalSalesCents: number;
  partsSalesCents: number;
  laborSalesCents: number;
  subletSalesCents: number;
  grossProfitCents: number;
  averageRoCents: number;
  authorizedCents: number;
  presentedCents: number;
  tmTotalSalesCents: number;
  varianceCents: number;
}

/** Daily shop metrics over a range of shop-local days. */
export async function listDailyShopMetrics(ctx: Context, range: MetricsRange): Promise<DailyShopMetricRow[]> {
  assertCan(ctx.user, 'tekmetric', 'list');
  const scope = await tekmetricReaderScope(ctx, range);
  return readAsReporter(ctx.db.pool, scope, async (client) => {
    const result = await client.query<DailyShopMetricRow>(
      `SELECT shop_id::int AS "shopId", metric_date::text AS "metricDate", car_count AS "carCount", ro_count AS "roCount",
              total_sales_cents::float8 AS "totalSalesCents", parts_sales_cents::float8 AS "partsSalesCents", labor_sales_cents::float8 AS "laborSalesCents",
              sublet_sales_cents::float8 AS "subletSalesCents", gross_profit_cents::float8 AS "grossProfitCents", average_ro_cents::float8 AS "averageRoCents",
              authorized_cents::float8 AS "authorizedCents", presented_cents::float8 AS "presentedCents", tm_total_sales_cents::float8 AS "tmTotalSalesCents",
              variance_cents::float8 AS "varianceCents"
       FROM tm_daily_shop_metrics WHERE metric_date BETWEEN $1::date AND $2::date AND ($3::bigint IS NULL OR shop_id = $3)
       ORDER BY metric_date, shop_id`,
      [range.from, range.to, range.shopId ?? null],
    );
    return result.rows;
  });
}

export interface TechDailyMetricRow {
  shopId: number;
  metricDate: string;
  technicianId: number;
  hoursSold: string;
  hoursWorked: string;
  efficiencyPercent: string | null;
  laborSalesCents: number;
  laborCostCents: number;
  rateSource: string;
}

/** Technicians' daily metrics over a range of shop-local days. */
export async function listTechDailyMetrics(ctx: Context, range: MetricsRange): Promise<TechDailyMetricRow[]> {
  assertCan(ctx.user, 'tekmetric', 'list');
  const scope = await tekmetricReaderScope(ctx, range);
  return readAsReporter(ctx.db.pool, scope, async (client) => {
    const result = await client.query<TechDailyMetricRow>(
      `SELECT shop_id::int AS "shopId", metric_date::text AS "metricDate", technician_id::int AS "technicianId", hours_sold::text AS "hoursSold", hours_worked::text AS "hoursWorked",
              efficiency_percent::text AS "efficiencyPercent", labor_sales_cents::float8 AS "laborSalesCents", labor_cost_cents::float8 AS "laborCostCents", rate_source AS "rateSource"
       FROM tm_tech_daily_metrics WHERE metric_date BETWEEN $1::date AND $2::date AND ($3::bigint IS NULL OR shop_id = $3)
       ORDER BY metric_date, shop_id, technician_id`,
      [range.from, range.to, range.shopId ?? null],
    );
    return result.rows;
  });
}

export interface ShopSyncStatus {
  shopId: number;
  name: string;
  entity: string;
  /** The incremental cursor: every change up to it is synced (null before the first incremental sync). */
  cursor: Date | null;
  lastSuccessAt: Date | null;
  /** Rows inserted, changed or removed by every run so far. */
  rowsSynced: number;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/** Each visible shop's sync status per entity: last success, cursor, rows synced, the last error since. */
export async function listSyncStatus(ctx: Context, request: { shopId?: number; businessId?: string }): Promise<ShopSyncStatus[]> {
  assertCan(ctx.user, 'tekmetricSync', 'list');
  const scope = await tekmetricReaderScope(ctx, request);
  return readAsReporter(ctx.db.pool, scope, async (client) => {
    const result = await client.query<ShopSyncStatus>(
      `SELECT s.id::int AS "shopId", s.name, e.entity, c.updated_through AS "cursor", ok.finished_at AS "lastSuccessAt", coalesce(total.rows, 0)::int AS "rowsSynced",
              bad.error AS "lastError", bad.finished_at AS "lastErrorAt"
       FROM tm_shops s
       CROSS JOIN unnest(ARRAY['employees', 'customers', 'vehicles', 'repair_orders', 'appointments']) AS e(entity)
       LEFT JOIN tm_sync_cursors c ON c.shop_id = s.id AND c.stream = e.entity
       LEFT JOIN LATERAL (SELECT max(finished_at) AS finished_at FROM tm_sync_log l WHERE l.shop_id = s.id AND l.entity = e.entity AND l.status = 'succeeded') ok ON true
       LEFT JOIN LATERAL (SELECT sum(written + deleted) AS rows FROM tm_sync_log l WHERE l.shop_id = s.id AND l.entity = e.entity) total ON true
       LEFT JOIN LATERAL (SELECT error, finished_at FROM tm_sync_log l WHERE l.shop_id = s.id AND l.entity = e.entity AND l.status = 'failed'
                          AND (ok.finished_at IS NULL OR l.finished_at > ok.finished_at) ORDER BY l.id DESC LIMIT 1) bad ON true
       WHERE ($1::bigint IS NULL OR s.id = $1)
       ORDER BY s.id, e.entity`,
      [request.shopId ?? null],
    );
    return result.rows;
  });
}
