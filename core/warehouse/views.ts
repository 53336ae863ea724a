import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import type { Context } from '../context.js';
import { withAdvisoryLock } from '../db/index.js';
import { assertCan } from '../auth/permissions.js';
import { writeAudit } from '../auth/audit.js';
import { AppError, forbidden } from '../errors.js';
import type { JobQueue } from '../queue.js';

/** The queue whose jobs call refreshViews (jobs/queues.ts): named views and their dependants, on request (`RefreshRequest`). */
export const WAREHOUSE_REFRESH_QUEUE = 'warehouse.refresh';
/** The queue whose jobs call refreshChangedViews: sent after a load, and run every minute as a safety net. */
export const WAREHOUSE_REFRESH_CHANGED_QUEUE = 'warehouse.refresh-changed';

export interface WarehouseView {
  /** The materialized view (schema public; the reporting role reads it as reporting.<name>). */
  name: string;
  /** Tables and other materialized views it reads, exactly (the test compares with PostgreSQL's). */
  dependsOn: string[];
  /** Refresh policy: how old its last successful refresh may get before it counts as stale. */
  maxStalenessSeconds: number;
  /** True when its rows carry manager_id: a team-limited reader sees only their team's rows. */
  teamScoped: boolean;
  /** Its columns that are amounts of money (in the row's `currency` column when it has one, else the business's). */
  money: string[];
  /** Its columns of personal data, which its reporting view pseudonymises for readers who may not see them. */
  personal?: string[];
  /** Its date columns that hold periods (a month's first day, a day), by period: a chart over one marks the period still in progress. */
  periods?: Record<string, 'day' | 'month'>;
}

/**
 * Every view is refreshed after each load that touches what it reads (incremental) and in full every
 * night. One night plus two hours of slack: a view older than that means the nightly refresh failed or
 * no worker is running.
 */
const NIGHTLY = 26 * 3600;

const tmShopMoney = ['total_sales', 'labor_sales', 'parts_sales', 'sublet_sales', 'gross_profit', 'sales_before_tax', 'parts_gross_profit', 'labor_gross_profit', 'sublet_gross_profit', 'authorized', 'presented', 'tekmetric_total_sales', 'variance'];
const tekmetricViews: WarehouseView[] = [
  { name: 'tm_shop_daily', dependsOn: ['tm_daily_shop_metrics', 'tm_shops'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: tmShopMoney, periods: { day: 'day' } },
  { name: 'tm_tech_daily', dependsOn: ['tm_tech_daily_metrics', 'tm_shops', 'tm_employees'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['labor_sales', 'labor_cost'], periods: { day: 'day' } },
  { name: 'tm_variance_days', dependsOn: ['tm_daily_shop_metrics', 'tm_shops'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['total_sales', 'tekmetric_total_sales', 'variance'], periods: { day: 'day' } },
  // Ages move with the clock: the nightly refresh moves them on a day without syncs.
  { name: 'tm_wip', dependsOn: ['tm_repair_orders', 'tm_shops', 'tm_repair_order_statuses'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['open_sales'] },
];

const salesMoney = ['gross_revenue', 'discount', 'cogs_amount', 'gross_margin_amount'];

/** The registry: every materialized view of prisma/migrations/*_kpi_views, and what it reads. */
export const warehouseViews: readonly WarehouseView[] = [
  { name: 'daily_revenue', dependsOn: ['canonical_orders', 'businesses'], maxStalenessSeconds: NIGHTLY, teamScoped: true, money: ['revenue'], periods: { day: 'day' } },
  { name: 'monthly_revenue', dependsOn: ['daily_revenue'], maxStalenessSeconds: NIGHTLY, teamScoped: true, money: ['revenue', 'average_order_value'], periods: { month: 'month' } },
  { name: 'top_customers', dependsOn: ['canonical_orders', 'canonical_customers', 'businesses'], maxStalenessSeconds: NIGHTLY, teamScoped: true, money: ['revenue'], personal: ['customer_ref', 'customer_name'] },
  { name: 'orders_by_status', dependsOn: ['canonical_orders', 'businesses'], maxStalenessSeconds: NIGHTLY, teamScoped: true, money: ['amount'], periods: { month: 'month' } },
  { name: 'product_sales', dependsOn: ['canonical_order_items', 'canonical_orders', 'canonical_products', 'businesses'], maxStalenessSeconds: NIGHTLY, teamScoped: true, money: ['revenue'], periods: { month: 'month' } },
  { name: 'category_sales', dependsOn: ['product_sales'], maxStalenessSeconds: NIGHTLY, teamScoped: true, money: ['revenue'], periods: { month: 'month' } },
  { name: 'new_returning_customers', dependsOn: ['canonical_orders'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: [], periods: { month: 'month' } },
  { name: 'customer_retention', dependsOn: ['canonical_orders'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: [], periods: { cohort_month: 'month', activity_month: 'month' } },
  { name: 'invoice_balances', dependsOn: ['canonical_invoices', 'canonical_payments'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['amount', 'paid_amount', 'outstanding_amount'] },
  { name: 'invoice_status', dependsOn: ['invoice_balances'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['amount', 'outstanding_amount'], periods: { month: 'month' } },
  // Its buckets move with the calendar, not only with the data: the nightly refresh moves them.
  { name: 'invoice_ageing', dependsOn: ['invoice_balances', 'businesses'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['outstanding_amount'] },
  { name: 'payments_monthly', dependsOn: ['canonical_payments'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['amount'], periods: { month: 'month' } },
  { name: 'inventory_current', dependsOn: ['canonical_inventory_levels', 'canonical_products'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: ['stock_value'] },
  // The data feeds' sales (prisma/migrations/*_sales_dashboard): refreshed when warehouse_changes says fact_sales moved.
  { name: 'sales_daily', dependsOn: ['fact_sales'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: salesMoney, periods: { day: 'day' } },
  { name: 'sales_product_daily', dependsOn: ['fact_sales', 'products', 'dim_channel'], maxStalenessSeconds: NIGHTLY, teamScoped: false, money: salesMoney, periods: { day: 'day' } },
  // Tekmetric's Shop dashboard (prisma/migrations/*_tekmetric_shop_dashboard): refreshed after each sync page.
  ...tekmetricViews,
];

const viewsByName = new Map(warehouseViews.map((view) => [view.name, view]));

export const refreshTriggers = ['full', 'incremental', 'manual'] as const;
export type RefreshTrigger = (typeof refreshTriggers)[number];

/** What a refresh job carries: the views to refresh (all when absent) and why. */
export const refreshRequest = z.object({
  views: z.array(z.string()).min(1).optional(),
  trigger: z.enum(refreshTriggers),
});
export type RefreshRequest = z.infer<typeof refreshRequest>;

/** The given views and every view that reads them, directly or through other views. */
function withDownstream(names: Iterable<string>): Set<string> {
  const selected = new Set(names);
  let grew = true;
  while (grew) {
    grew = false;
    for (const view of warehouseViews) {
      if (!selected.has(view.name) && view.dependsOn.some((dependency) => selected.has(dependency))) {
        selected.add(view.name);
        grew = true;
      }
    }
  }
  return selected;
}

/** The given views in an order where each comes after every view it reads (registry order among equals). */
export function refreshOrder(names: Iterable<string>): string[] {
  const pending = new Set(names);
  const ordered: string[] = [];
  while (pending.size > 0) {
    const ready = warehouseViews.find((view) => pending.has(view.name) && !view.dependsOn.some((dependency) => pending.has(dependency)));
    if (!ready) throw new Error(`The view registry has a dependency cycle among: ${[...pending].join(', ')}`);
    ordered.push(ready.name);
    pending.delete(ready.name);
  }
  return ordered;
}

/**
 * The views to refresh after new rows landed in `tables` (canonical_orders…): those that read them,
 * directly or through other views, in refresh order. Empty when no view reads them.
 */
export function viewsDependingOn(tables: string[]): string[] {
  const direct = warehouseViews.filter((view) => view.dependsOn.some((dependency) => tables.includes(dependency))).map((view) => view.name);
  return refreshOrder(withDownstream(direct));
}

/** Refreshing and the refresh state concern every business at once: administrators (and the system) only. */
function assertWarehouseAdmin(ctx: Context): void {
  if (ctx.scope.kind !== 'all') throw forbidden('Only administrators can refresh the warehouse views or see their refresh state: they serve every business.');
}

/** The named views (all when none) and every view downstream of them, in refresh order; an unknown name is refused. */
function refreshSet(names: string[] | undefined): string[] {
  const unknown = (names ?? []).filter((name) => !viewsByName.has(name));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', `Unknown warehouse view ${unknown.join(', ')}. Known views: ${warehouseViews.map((v) => v.name).join(', ')}.`, { views: unknown });
  }
  return refreshOrder(withDownstream(names ?? warehouseViews.map((view) => view.name)));
}

export interface ViewRefresh {
  view: string;
  /** Concurrent once the view is populated (readers are never blocked); plain the first time. */
  mode: 'concurrently' | 'plain';
  durationMs: number;
}

export interface RefreshResult {
  trigger: RefreshTrigger;
  /** Time spent waiting for another refresh to finish first. */
  waitedMs: number;
  views: ViewRefresh[];
}

// One key for every refresh: views read one another, so two refreshes never run side by side.
const REFRESH_LOCK = 'backhouse.warehouse.refresh';

/**
 * Refreshes the given views (all when none are given) and everything downstream of them, in dependency
 * order, recording each refresh in refresh_jobs. Refreshes serve every business, so only callers who
 * see all of them (the system, admins) may start one.
 *
 * Two refreshes never run at once: each holds a PostgreSQL advisory lock for its whole run. A second one
 * waits for the first (up to `waitSeconds`, then fails with a conflict and its job is retried) rather
 * than skipping, because the first may already have passed the views whose new data the second was
 * asked to show. Refreshes are idempotent, so the wait costs time, never correctness.
 *
 * A view fails → its row is marked failed and the error is thrown; views after it are left for the retry.
 */
export async function refreshViews(ctx: Context, request: RefreshRequest & { waitSeconds?: number }): Promise<RefreshResult> {
  assertWarehouseAdmin(ctx);
  const order = refreshSet(request.views);
  const waitSeconds = request.waitSeconds ?? 600;

  const started = performance.now();
  const timeout = {
    seconds: waitSeconds,
    message: `Another refresh of the warehouse views has been running for more than ${waitSeconds} s, so this one stopped waiting. Its job is retried later; nothing needs doing unless this repeats.`,
  };
  return withAdvisoryLock(
    ctx.db.pool,
    REFRESH_LOCK,
    async (client) => {
      const waitedMs = Math.round(performance.now() - started);
      // Holding the lock, no other refresh runs: a row still "running" was left by a process that died.
      await client.query(`UPDATE refresh_jobs SET status = 'failed', finished_at = now(), error = 'interrupted: the process refreshing it stopped' WHERE status = 'running'`);
      // Read before refreshing: every change up to these versions is committed, so the refresh shows it.
      const versions = await sourceVersions(client);
      const refreshed: ViewRefresh[] = [];
      for (const view of order) refreshed.push(await refreshOne(ctx, client, view, request.trigger, versions));
      ctx.log.info({ trigger: request.trigger, waitedMs, views: refreshed }, 'warehouse views refreshed');
      return { trigger: request.trigger, waitedMs, views: refreshed };
    },
    { timeout },
  );
}

async function refreshOne(ctx: Context, client: pg.PoolClient, view: string, trigger: RefreshTrigger, versions: Record<string, number>): Promise<ViewRefresh> {
  const populated = await client.query<{ ispopulated: boolean }>(`SELECT ispopulated FROM pg_matviews WHERE schemaname = 'public' AND matviewname = $1`, [view]);
  if (populated.rowCount === 0) throw new Error(`Materialized view ${view} is in the registry but not in the database: a migration is missing.`);
  const mode: ViewRefresh['mode'] = populated.rows[0]!.ispopulated ? 'concurrently' : 'plain';
  const job = await client.query<{ id: string }>(`INSERT INTO refresh_jobs (view_name, trigger, source_versions) VALUES ($1, $2, $3) RETURNING id`, [view, trigger, versions]);
  const jobId = job.rows[0]!.id;
  const started = performance.now();
  try {
    await client.query(`REFRESH MATERIALIZED VIEW ${mode === 'concurrently' ? 'CONCURRENTLY ' : ''}${pg.escapeIdentifier(view)}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await client.query(`UPDATE refresh_jobs SET status = 'failed', finished_at = now(), duration_ms = $2, error = $3 WHERE id = $1`, [jobId, Math.round(performance.now() - started), message]);
    ctx.log.error({ view, trigger, err: error }, 'warehouse view refresh failed');
    throw error;
  }
  const durationMs = Math.round(performance.now() - started);
  await client.query(`UPDATE refresh_jobs SET status = 'succeeded', finished_at = now(), duration_ms = $2 WHERE id = $1`, [jobId, durationMs]);
  return { view, mode, durationMs };
}

/** Every source's change version (warehouse_changes), as of now. */
async function sourceVersions(runner: Pick<pg.PoolClient, 'query'>): Promise<Record<string, number>> {
  const rows = await runner.query<{ source: string; version: string }>('SELECT source, version FROM warehouse_changes');
  return Object.fromEntries(rows.rows.map((row) => [row.source, Number(row.version)]));
}

/**
 * Records, in the loader's transaction, that `source` (a table views read, such as fact_sales) changed.
 * Run it as the transaction's last statement: it locks the source's row until the commit, which orders
 * the versions as the commits (see the migration *_sales_dashboard).
 */
export async function markSourceChanged(run: (sql: string, params: unknown[]) => Promise<unknown>, source: string): Promise<void> {
  await run(
    `INSERT INTO warehouse_changes (source, version) VALUES ($1, 1)
     ON CONFLICT (source) DO UPDATE SET version = warehouse_changes.version + 1, changed_at = now()`,
    [source],
  );
}

/** The tables a view reads, directly or through the views it reads. */
function baseSourcesOf(name: string): string[] {
  const view = viewsByName.get(name);
  if (!view) return [name];
  return [...new Set(view.dependsOn.flatMap(baseSourcesOf))];
}

/**
 * The views behind their sources: a source's version is above the one their last successful refresh
 * read. Only loads record versions (feeds into fact_sales, mapping executions into canonical tables);
 * other changes (a renamed product) reach the views with the nightly full refresh.
 */
export async function viewsBehind(ctx: Context): Promise<string[]> {
  const current = await sourceVersions(ctx.db.pool);
  if (Object.keys(current).length === 0) return [];
  const seen = await ctx.db.pool.query<{ view_name: string; source_versions: Record<string, number> | null }>(
    `SELECT DISTINCT ON (view_name) view_name, source_versions FROM refresh_jobs
      WHERE status = 'succeeded' AND view_name = ANY($1) ORDER BY view_name, started_at DESC, id DESC`,
    [warehouseViews.map((view) => view.name)],
  );
  const seenBy = new Map(seen.rows.map((row) => [row.view_name, row.source_versions ?? {}]));
  return warehouseViews
    .filter((view) => baseSourcesOf(view.name).some((source) => (current[source] ?? 0) > (seenBy.get(view.name)?.[source] ?? 0)))
    .map((view) => view.name);
}

/** Refreshes the views behind their sources (and what reads them); nothing when all are current. */
export async function refreshChangedViews(ctx: Context): Promise<RefreshResult> {
  assertWarehouseAdmin(ctx);
  const behind = await viewsBehind(ctx);
  if (behind.length === 0) return { trigger: 'incremental', waitedMs: 0, views: [] };
  return refreshViews(ctx, { views: behind, trigger: 'incremental' });
}

/**
 * An administrator's "refresh now": queues a refresh of the named views (all when none) and their
 * dependants, audited. Answers the job's id; the refresh runs on a worker, under the refresh lock.
 */
export async function requestViewRefresh(ctx: Context, queue: Pick<JobQueue, 'send'>, views: string[] | undefined): Promise<{ job_id: string | null; views: string[] }> {
  assertWarehouseAdmin(ctx);
  const request: RefreshRequest = { views: views && views.length > 0 ? views : undefined, trigger: 'manual' };
  const refreshed = refreshSet(request.views);
  const jobId = await queue.send(WAREHOUSE_REFRESH_QUEUE, request);
  await writeAudit(ctx, { resource: 'warehouseViews', recordId: jobId, action: 'refresh', after: { views: refreshed } });
  return { job_id: jobId, views: refreshed };
}

/** Every view's refresh state, for administrators (GET /api/warehouse/views). */
export async function warehouseViewStates(ctx: Context): Promise<ViewFreshness[]> {
  assertWarehouseAdmin(ctx);
  return viewFreshness(ctx);
}

export type RefreshStatus = 'running' | 'succeeded' | 'failed';

export interface ViewFreshness {
  view: string;
  maxStalenessSeconds: number;
  /** End of the last successful refresh; null when it never succeeded. */
  lastRefreshedAt: Date | null;
  ageSeconds: number | null;
  stale: boolean;
  /** The latest attempt, successful or not (a failure shows here while the view keeps its older data). */
  lastAttempt: { status: RefreshStatus; startedAt: Date; error: string | null } | null;
}

/** Per registered view (or the ones named): when it was last refreshed, and whether that is older than its policy allows. */
export async function viewFreshness(ctx: Context, only?: string[]): Promise<ViewFreshness[]> {
  assertCan(ctx.user, 'dashboards', 'view');
  const views = only ? warehouseViews.filter((view) => only.includes(view.name)) : warehouseViews;
  const names = views.map((view) => view.name);
  const rows = await ctx.db.pool.query<{ view_name: string; finished_at: Date | null; age_seconds: number | null; status: RefreshStatus | null; started_at: Date; error: string | null }>(
    `SELECT v.view_name, s.finished_at, extract(epoch FROM now() - s.finished_at)::float8 AS age_seconds, a.status, a.started_at, a.error
       FROM unnest($1::text[]) AS v(view_name)
       LEFT JOIN LATERAL (SELECT finished_at FROM refresh_jobs WHERE view_name = v.view_name AND status = 'succeeded' ORDER BY started_at DESC LIMIT 1) s ON true
       LEFT JOIN LATERAL (SELECT status, started_at, error FROM refresh_jobs WHERE view_name = v.view_name ORDER BY started_at DESC, id DESC LIMIT 1) a ON true`,
    [names],
  );
  const byName = new Map(rows.rows.map((row) => [row.view_name, row]));
  return views.map((view) => {
    const row = byName.get(view.name);
    const ageSeconds = row?.age_seconds ?? null;
    return {
      view: view.name,
      maxStalenessSeconds: view.maxStalenessSeconds,
      lastRefreshedAt: row?.finished_at ?? null,
      ageSeconds,
      stale: ageSeconds === null || ageSeconds > view.maxStalenessSeconds,
      lastAttempt: row?.status ? { status: row.status, startedAt: row.started_at, error: row.error } : null,
    };
  });
}
