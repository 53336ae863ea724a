import type { Context } from '../context.js';
import { viewFreshness } from './views.js';

export interface StalenessCheck {
  /** Views older than their refresh policy allows (an alert is open for each). */
  stale: string[];
  /** Alerts this check opened, and the views whose open alert it closed (fresh again). */
  opened: string[];
  closed: string[];
}

/**
 * Run on a schedule: every view older than its refresh policy gets an open alert in warehouse_alerts
 * (one per view, however many checks see it stale) and a warning in the log at each check; the alert
 * closes at the first check that finds the view fresh again.
 */
export async function checkViewStaleness(ctx: Context): Promise<StalenessCheck> {
  const freshness = await viewFreshness(ctx);
  const result: StalenessCheck = { stale: [], opened: [], closed: [] };
  for (const view of freshness.filter((v) => v.stale)) {
    const message = view.lastRefreshedAt
      ? `View ${view.view} was last refreshed ${Math.round(view.ageSeconds! / 60)} min ago; its policy allows ${Math.round(view.maxStalenessSeconds / 60)} min. Check that a worker runs and the latest warehouse refresh jobs (refresh_jobs) for errors.`
      : `View ${view.view} has never been refreshed successfully. Check that a worker runs and the latest warehouse refresh jobs (refresh_jobs) for errors.`;
    const opened = await ctx.db.pool.query(
      `INSERT INTO warehouse_alerts (view_name, kind, message, last_refreshed_at, max_staleness_seconds)
       VALUES ($1, 'stale', $2, $3, $4)
       ON CONFLICT (view_name, kind) WHERE closed_at IS NULL DO NOTHING`,
      [view.view, message, view.lastRefreshedAt, view.maxStalenessSeconds],
    );
    result.stale.push(view.view);
    if (opened.rowCount) result.opened.push(view.view);
    ctx.log.warn({ view: view.view, lastRefreshedAt: view.lastRefreshedAt, maxStalenessSeconds: view.maxStalenessSeconds, lastAttempt: view.lastAttempt }, message);
  }
  const fresh = freshness.filter((v) => !v.stale).map((v) => v.view);
  const closed = await ctx.db.pool.query<{ view_name: string }>(
    `UPDATE warehouse_alerts SET closed_at = now() WHERE closed_at IS NULL AND kind = 'stale' AND view_name = ANY($1::text[]) RETURNING view_name`,
    [fresh],
  );
  result.closed = closed.rows.map((row) => row.view_name);
  if (result.closed.length > 0) ctx.log.info({ views: result.closed }, 'warehouse views fresh again: stale alerts closed');
  return result;
}

/** How long the warehouse's bookkeeping is kept: refresh history, and alerts after they closed. */
export const REFRESH_HISTORY_DAYS = 30;
export const CLOSED_ALERT_DAYS = 90;

/**
 * Trims the warehouse's bookkeeping (run by the housekeeping job): refresh_jobs rows older than
 * REFRESH_HISTORY_DAYS, except each view's latest successful refresh (freshness and the source versions a
 * view last saw are read from it) and its latest attempt; alerts closed more than CLOSED_ALERT_DAYS ago.
 */
export async function purgeWarehouseHistory(ctx: Context): Promise<{ refreshJobs: number; closedAlerts: number }> {
  const refreshJobs = await ctx.db.pool.query(
    `DELETE FROM refresh_jobs r
      WHERE r.status <> 'running' AND r.started_at < now() - make_interval(days => $1)
        AND r.id <> ALL (SELECT DISTINCT ON (view_name) id FROM refresh_jobs WHERE status = 'succeeded' ORDER BY view_name, started_at DESC, id DESC)
        AND r.id <> ALL (SELECT DISTINCT ON (view_name) id FROM refresh_jobs ORDER BY view_name, started_at DESC, id DESC)`,
    [REFRESH_HISTORY_DAYS],
  );
  const closedAlerts = await ctx.db.pool.query(`DELETE FROM warehouse_alerts WHERE closed_at < now() - make_interval(days => $1)`, [CLOSED_ALERT_DAYS]);
  return { refreshJobs: refreshJobs.rowCount ?? 0, closedAlerts: closedAlerts.rowCount ?? 0 };
}
