import type pg from 'pg';
import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { notFound } from '../errors.js';
import { markSourceChanged } from '../warehouse/views.js';
import type { RepairOrdersChangedHook } from './sync/repair-orders.js';

/**
 * Daily shop and technician metrics, and repair-order snapshots, from the synced warehouse (tm_* tables).
 *
 * A repair order counts on its POSTED day (shop-local `posted_date`), while it is posted (5) or on account
 * (6) and not deleted. Our figures come from its lines, over AUTHORIZED jobs and sublets only:
 *   labor sales = Σ round(rate × hours) of the labor lines; parts sales = Σ round(quantity × retail);
 *   fees and discounts = the authorized jobs' and the order's own; sublet sales = authorized sublets' price;
 *   total sales = labor + parts + sublets + fees - discounts + Tekmetric's taxes (we do not compute tax).
 * Costs: parts Σ round(quantity × cost); sublets Σ cost; labor = per job round(labor hours × pay rate),
 * the rate being the technician's own (`assigned`), else the average of the shop's assigned rates
 * (`shop_avg`), else the shop's configured default (`default`): the "rate source".
 * Gross profit = sales without taxes - the three costs. Presented = the subtotals of every job that is not
 * archived plus every sublet's price; authorized = the same over authorized ones.
 * The variance is our total sales minus the sum of Tekmetric's own `totalSales` for the same orders: a
 * non-zero variance says the lines we hold do not add up to what Tekmetric reports (flagged on the
 * dashboard and by `metricVariances`).
 *
 * Everything here runs in the caller's transaction on the caller's connection (the sync's repair-order
 * upsert), as set-based statements over the shop and the days asked for.
 */

/** The status ids that count as sales (posted, accounts receivable). */
export const POSTED_STATUS_IDS = [5, 6];

/**
 * The per-job figures of the repair orders matching `where` (over `ro`), with each job's pay rate and its
 * source. $1 is the shop id; the caller adds its own parameters from $2.
 */
function jobFiguresSql(where: string): string {
  return `
    WITH rates AS (
      SELECT s.id AS shop_id, s.default_pay_rate_cents,
             (SELECT round(avg(e.pay_rate_cents))::bigint FROM tm_employees e
               WHERE e.shop_id = s.id AND e.pay_rate_cents IS NOT NULL AND e.deleted_at IS NULL) AS shop_avg_cents
      FROM tm_shops s WHERE s.id = $1
    )
    SELECT ro.shop_id, ro.id AS repair_order_id, ro.business_id, ro.posted_date, j.id AS job_id,
           coalesce(j.authorized, false) AS authorized, j.archived,
           coalesce(j.technician_id, ro.technician_id) AS technician_id,
           coalesce(l.labor_sales, 0)::bigint AS labor_sales, coalesce(l.hours, 0)::numeric AS hours,
           coalesce(p.parts_sales, 0)::bigint AS parts_sales, coalesce(p.parts_cost, 0)::bigint AS parts_cost,
           coalesce(f.fees, 0)::bigint AS fees, coalesce(d.discounts, 0)::bigint AS discounts,
           j.subtotal_cents AS subtotal, j.logged_hours,
           coalesce(e.pay_rate_cents, r.shop_avg_cents, r.default_pay_rate_cents) AS pay_rate,
           CASE WHEN e.pay_rate_cents IS NOT NULL THEN 'assigned' WHEN r.shop_avg_cents IS NOT NULL THEN 'shop_avg' ELSE 'default' END AS rate_source,
           round(coalesce(l.hours, 0) * coalesce(e.pay_rate_cents, r.shop_avg_cents, r.default_pay_rate_cents))::bigint AS labor_cost
    FROM tm_repair_orders ro
    JOIN rates r ON r.shop_id = ro.shop_id
    JOIN tm_jobs j ON j.shop_id = ro.shop_id AND j.repair_order_id = ro.id
    LEFT JOIN tm_employees e ON e.shop_id = ro.shop_id AND e.id = coalesce(j.technician_id, ro.technician_id)
    LEFT JOIN LATERAL (SELECT sum(round(x.rate_cents * x.hours)) AS labor_sales, sum(x.hours) AS hours
                       FROM tm_job_labor x WHERE x.shop_id = j.shop_id AND x.job_id = j.id) l ON true
    LEFT JOIN LATERAL (SELECT sum(round(x.quantity * x.retail_cents)) AS parts_sales, sum(round(x.quantity * x.cost_cents)) AS parts_cost
                       FROM tm_job_parts x WHERE x.shop_id = j.shop_id AND x.job_id = j.id) p ON true
    LEFT JOIN LATERAL (SELECT sum(x.total_cents) AS fees FROM tm_fees x WHERE x.shop_id = j.shop_id AND x.job_id = j.id) f ON true
    LEFT JOIN LATERAL (SELECT sum(x.total_cents) AS discounts FROM tm_discounts x WHERE x.shop_id = j.shop_id AND x.job_id = j.id) d ON true
    WHERE ro.shop_id = $1 AND (${where})`;
}

/**
 * One row per repair order matching `where`: our sales, costs, gross profit, authorized and presented
 * work, hours, and Tekmetric's own totals beside them.
 */
function repairOrderFiguresSql(where: string): string {
  return `
    WITH jobs AS (${jobFiguresSql(where)}),
    job_totals AS (
      SELECT repair_order_id,
             sum(labor_sales) FILTER (WHERE authorized) AS labor_sales,
             sum(parts_sales) FILTER (WHERE authorized) AS parts_sales,
             sum(parts_cost) FILTER (WHERE authorized) AS parts_cost,
             sum(labor_cost) FILTER (WHERE authorized) AS labor_cost,
             sum(fees) FILTER (WHERE authorized) AS fees,
             sum(discounts) FILTER (WHERE authorized) AS discounts,
             sum(hours) FILTER (WHERE authorized) AS hours,
             sum(labor_sales + parts_sales + fees - discounts) FILTER (WHERE authorized) AS authorized,
             sum(subtotal) FILTER (WHERE NOT archived) AS presented,
             count(*) FILTER (WHERE authorized) AS authorized_jobs,
             count(*) FILTER (WHERE NOT archived) AS presented_jobs
      FROM jobs GROUP BY repair_order_id
    )
    SELECT ro.shop_id, ro.id AS repair_order_id, ro.business_id, ro.status_id, ro.vehicle_id,
           ro.posted_date, ro.completed_date,
           coalesce(jt.labor_sales, 0)::bigint AS labor_sales,
           coalesce(jt.parts_sales, 0)::bigint AS parts_sales,
           coalesce(s.sublet_sales, 0)::bigint AS sublet_sales,
           (coalesce(jt.fees, 0) + coalesce(rf.fees, 0))::bigint AS fees,
           (coalesce(jt.discounts, 0) + coalesce(rd.discounts, 0))::bigint AS discounts,
           ro.taxes_cents AS taxes,
           coalesce(jt.parts_cost, 0)::bigint AS parts_cost,
           coalesce(jt.labor_cost, 0)::bigint AS labor_cost,
           coalesce(s.sublet_cost, 0)::bigint AS sublet_cost,
           (coalesce(jt.authorized, 0) + coalesce(s.sublet_sales, 0))::bigint AS authorized,
           (coalesce(jt.presented, 0) + coalesce(s.sublet_presented, 0))::bigint AS presented,
           coalesce(jt.hours, 0)::numeric(12,2) AS labor_hours,
           coalesce(jt.authorized_jobs, 0)::integer AS authorized_jobs,
           coalesce(jt.presented_jobs, 0)::integer AS presented_jobs,
           ro.total_sales_cents AS tm_total_sales
    FROM tm_repair_orders ro
    LEFT JOIN job_totals jt ON jt.repair_order_id = ro.id
    LEFT JOIN LATERAL (SELECT sum(x.price_cents) FILTER (WHERE x.authorized) AS sublet_sales,
                              sum(x.cost_cents) FILTER (WHERE x.authorized) AS sublet_cost,
                              sum(x.price_cents) AS sublet_presented
                       FROM tm_sublets x WHERE x.shop_id = ro.shop_id AND x.repair_order_id = ro.id) s ON true
    LEFT JOIN LATERAL (SELECT sum(x.total_cents) AS fees FROM tm_fees x
                       WHERE x.shop_id = ro.shop_id AND x.repair_order_id = ro.id AND x.job_id IS NULL) rf ON true
    LEFT JOIN LATERAL (SELECT sum(x.total_cents) AS discounts FROM tm_discounts x
                       WHERE x.shop_id = ro.shop_id AND x.repair_order_id = ro.id AND x.job_id IS NULL) rd ON true
    WHERE ro.shop_id = $1 AND (${where})`;
}

/** Our figures of one shop's repair orders (any status), as the metrics and snapshots compute them. */
export interface RepairOrderFigures {
  repair_order_id: string;
  labor_sales: string;
  parts_sales: string;
  sublet_sales: string;
  fees: string;
  discounts: string;
  taxes: string;
  parts_cost: string;
  labor_cost: string;
  sublet_cost: string;
  authorized: string;
  presented: string;
  labor_hours: string;
  tm_total_sales: string;
}

export async function repairOrderFigures(client: pg.ClientBase | pg.Pool, shopId: number, repairOrderIds: readonly number[]): Promise<RepairOrderFigures[]> {
  const { rows } = await client.query<RepairOrderFigures>(repairOrderFiguresSql('ro.id = ANY ($2::bigint[])'), [shopId, repairOrderIds]);
  return rows;
}

const postedOnDays = `ro.status_id IN (${POSTED_STATUS_IDS.join(', ')}) AND ro.deleted_at IS NULL AND ro.posted_date = ANY ($2::date[])`;

/**
 * Recomputes `tm_daily_shop_metrics` and `tm_tech_daily_metrics` of one shop for the given shop-local
 * days, from what the warehouse holds now, in the caller's transaction: those days' rows are replaced (a
 * day left with no posted repair order loses its row); no other day is read or written. Returns how many
 * shop-day rows were written.
 */
export async function recomputeShopDays(client: pg.ClientBase, shopId: number | string, days: string[]): Promise<number> {
  const unique = [...new Set(days.filter(Boolean))].sort();
  if (unique.length === 0) return 0;
  return withIndexPlans(client, () => writeShopDays(client, shopId, unique));
}

/**
 * Runs `work` with sequential scans discouraged, then puts the setting back (the caller's transaction goes
 * on). The metrics read a few repair orders' children by their indexes; while a sync is filling the tables
 * their statistics lag far behind (a first backfill), and the planner, taking them for nearly empty, chose a
 * sequential scan of every child table per job: 10 s instead of 0.4 s to recompute a year of one shop.
 */
async function withIndexPlans<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ previous: string }>(`SELECT current_setting('enable_seqscan') AS previous, set_config('enable_seqscan', 'off', true)`);
  try {
    return await work();
  } finally {
    await client.query(`SELECT set_config('enable_seqscan', $1, true)`, [rows[0]!.previous]);
  }
}

async function writeShopDays(client: pg.ClientBase, shopId: number | string, unique: string[]): Promise<number> {
  await client.query('DELETE FROM tm_daily_shop_metrics WHERE shop_id = $1 AND metric_date = ANY ($2::date[])', [shopId, unique]);
  await client.query('DELETE FROM tm_tech_daily_metrics WHERE shop_id = $1 AND metric_date = ANY ($2::date[])', [shopId, unique]);
  const shop = await client.query(
    `INSERT INTO tm_daily_shop_metrics (
       shop_id, metric_date, business_id, car_count, ro_count, total_sales_cents, labor_sales_cents, parts_sales_cents,
       sublet_sales_cents, fee_total_cents, discount_total_cents, taxes_cents, parts_cost_cents, labor_cost_cents,
       sublet_cost_cents, parts_gross_profit_cents, labor_gross_profit_cents, sublet_gross_profit_cents,
       gross_profit_cents, average_ro_cents, authorized_cents, presented_cents, labor_hours_sold,
       tm_total_sales_cents, variance_cents, computed_at)
     SELECT shop_id, posted_date, min(business_id::text)::uuid,
            count(DISTINCT coalesce(vehicle_id, -repair_order_id)), count(*),
            sum(labor_sales + parts_sales + sublet_sales + fees - discounts + taxes),
            sum(labor_sales), sum(parts_sales), sum(sublet_sales), sum(fees), sum(discounts), sum(taxes),
            sum(parts_cost), sum(labor_cost), sum(sublet_cost),
            sum(parts_sales - parts_cost), sum(labor_sales - labor_cost), sum(sublet_sales - sublet_cost),
            sum(labor_sales + parts_sales + sublet_sales + fees - discounts - parts_cost - labor_cost - sublet_cost),
            round(sum(labor_sales + parts_sales + sublet_sales + fees - discounts + taxes)::numeric / count(*)),
            sum(authorized), sum(presented), sum(labor_hours),
            sum(tm_total_sales),
            sum(labor_sales + parts_sales + sublet_sales + fees - discounts + taxes) - sum(tm_total_sales),
            now()
     FROM (${repairOrderFiguresSql(postedOnDays)}) figures
     GROUP BY shop_id, posted_date`,
    [shopId, unique],
  );
  await client.query(
    `INSERT INTO tm_tech_daily_metrics (
       shop_id, metric_date, technician_id, business_id, hours_sold, hours_worked, efficiency_percent,
       labor_sales_cents, labor_cost_cents, pay_rate_cents, rate_source, job_count, ro_count, computed_at)
     SELECT shop_id, posted_date, technician_id, min(business_id::text)::uuid,
            sum(hours), sum(logged_hours),
            CASE WHEN sum(logged_hours) > 0 THEN round(sum(hours) / sum(logged_hours) * 100, 2) END,
            sum(labor_sales), sum(labor_cost), max(pay_rate), min(rate_source), count(*), count(DISTINCT repair_order_id), now()
     FROM (${jobFiguresSql(postedOnDays)}) jobs
     WHERE authorized AND technician_id IS NOT NULL
     GROUP BY shop_id, posted_date, technician_id`,
    [shopId, unique],
  );
  return shop.rowCount ?? 0;
}

/**
 * Recomputes every day of a shop that has posted repair orders (the nightly check, the benchmark). The
 * tables' statistics are brought up to date first: after a backfill they lag, and a whole shop's days read
 * through stale statistics took 15× longer (5.9 s against 0.38 s for a year of 2,000 repair orders).
 */
export async function rebuildShopMetrics(client: pg.ClientBase, shopId: number | string): Promise<number> {
  await client.query('ANALYZE tm_repair_orders, tm_jobs, tm_job_labor, tm_job_parts, tm_fees, tm_discounts, tm_sublets, tm_employees');
  const { rows } = await client.query<{ day: string }>(
    `SELECT DISTINCT posted_date::text AS day FROM tm_repair_orders WHERE shop_id = $1 AND posted_date IS NOT NULL
     UNION SELECT metric_date::text FROM tm_daily_shop_metrics WHERE shop_id = $1`,
    [shopId],
  );
  return recomputeShopDays(client, shopId, rows.map((row) => row.day));
}

/** What a repair order was before a sync wrote it: read with `repairOrderStates` before the upsert. */
export interface RepairOrderState {
  repairOrderId: number;
  statusId: number;
  postedDate: string | null;
}

/** The status and posted day of the given repair orders of a shop as the warehouse holds them now. */
export async function repairOrderStates(client: pg.ClientBase, shopId: number | string, repairOrderIds: readonly (number | string)[]): Promise<RepairOrderState[]> {
  if (repairOrderIds.length === 0) return [];
  const { rows } = await client.query<{ id: string; status_id: number; posted_date: string | null }>(
    'SELECT id, status_id, posted_date::text AS posted_date FROM tm_repair_orders WHERE shop_id = $1 AND id = ANY ($2::bigint[]) AND deleted_at IS NULL',
    [shopId, repairOrderIds],
  );
  return rows.map((row) => ({ repairOrderId: Number(row.id), statusId: row.status_id, postedDate: row.posted_date }));
}

export interface RepairOrdersWritten {
  snapshots: number;
  days: string[];
}

/**
 * What the sync calls after upserting a batch of a shop's repair orders, in the same transaction:
 * `before` are their states read by `repairOrderStates` before the upsert (absent: new to us). Takes a
 * snapshot of each order that became posted (5, 6) or completed (3), and recomputes the metrics of the
 * days touched: each order's posted day before and after (an order unposted or deleted leaves its old day).
 */
export async function afterRepairOrdersWritten(client: pg.ClientBase, shopId: number | string, repairOrderIds: readonly (number | string)[], before: readonly RepairOrderState[]): Promise<RepairOrdersWritten> {
  const after = await repairOrderStates(client, shopId, repairOrderIds);
  const previous = new Map(before.map((state) => [state.repairOrderId, state]));
  const days = new Set<string>();
  for (const state of before) if (state.postedDate) days.add(state.postedDate);
  const posted: number[] = [];
  const completed: number[] = [];
  for (const state of after) {
    if (state.postedDate) days.add(state.postedDate);
    const was = previous.get(state.repairOrderId)?.statusId;
    const isPosted = POSTED_STATUS_IDS.includes(state.statusId);
    if (isPosted && (was === undefined || !POSTED_STATUS_IDS.includes(was))) posted.push(state.repairOrderId);
    else if (state.statusId === 3 && was !== 3) completed.push(state.repairOrderId);
  }
  let snapshots = 0;
  if (posted.length) snapshots += await takeSnapshots(client, shopId, posted, 'posted');
  if (completed.length) snapshots += await takeSnapshots(client, shopId, completed, 'completed');
  const touched = [...days].sort();
  await recomputeShopDays(client, shopId, touched);
  return { snapshots, days: touched };
}

/**
 * The sync's hook after each page of repair orders (`writeRepairOrders`'s `onChanged`, in the page's
 * transaction): snapshots of the orders that became posted or completed, then the metrics of the days the
 * page touched (each order's days before and after the change), and the Shop dashboard's sources marked changed.
 */
export const updateMetricsForRepairOrders: RepairOrdersChangedHook = async (client, change) => {
  const posted: number[] = [];
  const completed: number[] = [];
  for (const { repairOrderId, from, to } of change.statusChanges) {
    const wasPosted = from !== null && POSTED_STATUS_IDS.includes(from);
    if (POSTED_STATUS_IDS.includes(to) && !wasPosted) posted.push(repairOrderId);
    else if (to === 3 && from !== 3) completed.push(repairOrderId);
  }
  if (posted.length) await takeSnapshots(client, change.shop.shopId, posted, 'posted');
  if (completed.length) await takeSnapshots(client, change.shop.shopId, completed, 'completed');
  await recomputeShopDays(client, change.shop.shopId, change.days);
  // The Shop dashboard's views read these: the every-minute refresh picks them up after the commit.
  for (const source of ['tm_repair_orders', 'tm_daily_shop_metrics', 'tm_tech_daily_metrics']) await markSourceChanged((text, params) => client.query(text, params), source);
};

export type SnapshotTrigger = 'posted' | 'completed' | 'manual';

/**
 * Writes one `tm_ro_snapshots` row per repair order with its figures as they are now (our sales, costs,
 * gross profit, authorized and presented work, hours, Tekmetric's totals, and per-job details), dated on
 * its posted day, its completed day, or (manual) the shop's today.
 */
export async function takeSnapshots(client: pg.ClientBase, shopId: number | string, repairOrderIds: readonly (number | string)[], trigger: SnapshotTrigger): Promise<number> {
  if (repairOrderIds.length === 0) return 0;
  const { rowCount } = await withIndexPlans(client, () => client.query(
    `WITH figures AS (${repairOrderFiguresSql('ro.id = ANY ($2::bigint[])')})
     INSERT INTO tm_ro_snapshots (
       shop_id, repair_order_id, business_id, trigger, status_id, taken_at, snapshot_date,
       labor_sales_cents, parts_sales_cents, sublet_sales_cents, fee_total_cents, discount_total_cents, taxes_cents,
       total_sales_cents, parts_cost_cents, labor_cost_cents, sublet_cost_cents, gross_profit_cents,
       authorized_cents, presented_cents, labor_hours, details)
     SELECT f.shop_id, f.repair_order_id, f.business_id, $3, f.status_id, now(),
            CASE $3 WHEN 'posted' THEN coalesce(f.posted_date, (now() AT TIME ZONE s.timezone)::date)
                    WHEN 'completed' THEN coalesce(f.completed_date, (now() AT TIME ZONE s.timezone)::date)
                    ELSE (now() AT TIME ZONE s.timezone)::date END,
            f.labor_sales, f.parts_sales, f.sublet_sales, f.fees, f.discounts, f.taxes,
            f.labor_sales + f.parts_sales + f.sublet_sales + f.fees - f.discounts + f.taxes,
            f.parts_cost, f.labor_cost, f.sublet_cost,
            f.labor_sales + f.parts_sales + f.sublet_sales + f.fees - f.discounts - f.parts_cost - f.labor_cost - f.sublet_cost,
            f.authorized, f.presented, f.labor_hours,
            jsonb_build_object(
              'tm_total_sales_cents', f.tm_total_sales,
              'variance_cents', f.labor_sales + f.parts_sales + f.sublet_sales + f.fees - f.discounts + f.taxes - f.tm_total_sales,
              'authorized_jobs', f.authorized_jobs, 'presented_jobs', f.presented_jobs,
              'jobs', coalesce((SELECT jsonb_agg(jsonb_build_object('id', j.id, 'name', j.name, 'authorized', j.authorized,
                                                                   'technician_id', j.technician_id, 'subtotal_cents', j.subtotal_cents,
                                                                   'labor_hours', j.labor_hours, 'logged_hours', j.logged_hours) ORDER BY j.id)
                                FROM tm_jobs j WHERE j.shop_id = f.shop_id AND j.repair_order_id = f.repair_order_id), '[]'::jsonb))
     FROM figures f JOIN tm_shops s ON s.id = f.shop_id`,
    [shopId, repairOrderIds, trigger],
  ));
  return rowCount ?? 0;
}

/**
 * A snapshot taken by a person (the admin's "Take snapshot"): only of a repair order whose shop the
 * person's scope covers (ops and admins; managers read), audited in the snapshot's transaction.
 */
export async function takeManualSnapshot(ctx: Context, shopId: number, repairOrderId: number): Promise<number> {
  // Managers read snapshots; ops and admins take them.
  assertCan(ctx.user, 'tekmetric', 'edit');
  return withTransaction(ctx.db.pool, async (client) => {
    const { rows } = await client.query<{ business_id: string; backhouse_shop_id: string }>(
      `SELECT ro.business_id, s.backhouse_shop_id FROM tm_repair_orders ro JOIN tm_shops s ON s.id = ro.shop_id
       WHERE ro.shop_id = $1 AND ro.id = $2`,
      [shopId, repairOrderId],
    );
    const order = rows[0];
    // Out of scope reads as absent: the person learns nothing of other businesses' repair orders.
    if (!order || !scopeIncludes(ctx.scope, order.business_id, order.backhouse_shop_id)) throw notFound(`Repair order ${repairOrderId} of Tekmetric shop ${shopId}`);
    const taken = await takeSnapshots(client, shopId, [repairOrderId], 'manual');
    await writeAudit(ctx, { resource: 'tm_ro_snapshots', recordId: `${shopId}/${repairOrderId}`, action: 'snapshot', businessId: order.business_id, after: { trigger: 'manual' } }, client);
    return taken;
  });
}

export interface MetricVariance {
  shopId: number;
  day: string;
  ourTotalCents: number;
  tekmetricTotalCents: number;
  varianceCents: number;
}

/** The days of a shop whose totals differ from Tekmetric's, newest first. */
export async function metricVariances(client: pg.ClientBase, shopId: number | string, from: string, to: string): Promise<MetricVariance[]> {
  const { rows } = await client.query<{ shop_id: string; day: string; ours: string; theirs: string; variance: string }>(
    `SELECT shop_id, metric_date::text AS day, total_sales_cents AS ours, tm_total_sales_cents AS theirs, variance_cents AS variance
     FROM tm_daily_shop_metrics WHERE shop_id = $1 AND metric_date BETWEEN $2 AND $3 AND variance_cents <> 0 ORDER BY metric_date DESC`,
    [shopId, from, to],
  );
  return rows.map((row) => ({ shopId: Number(row.shop_id), day: row.day, ourTotalCents: Number(row.ours), tekmetricTotalCents: Number(row.theirs), varianceCents: Number(row.variance) }));
}
