import type { Context } from '../../context.js';
import { AppError } from '../../errors.js';
import type { JobQueue } from '../../queue.js';
import { requestSyncRun } from './runs.js';

/**
 * The schedule: every connected shop whose last scheduled (or any) incremental run began at least its
 * connection's interval ago, and which has no run open, gets an incremental run. Called every minute, so a
 * shop is synced every `sync_interval_minutes` (TEKMETRIC_SYNC_INTERVAL_MINUTES for the environment's
 * connection, default 15). Also drops raw payloads older than the retention.
 */
export async function runDueSyncs(ctx: Context, queue: Pick<JobQueue, 'send'>, rawRetentionDays: number): Promise<{ started: number[]; purgedRawPayloads: number }> {
  const due = await ctx.db.pool.query<{ id: string }>(
    `SELECT s.id::text FROM tm_shops s JOIN tekmetric_connections c ON c.id = s.connection_id
     WHERE c.enabled AND s.sync_enabled AND s.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM tm_sync_runs r WHERE r.shop_id = s.id AND r.status IN ('queued', 'running'))
       AND NOT EXISTS (SELECT 1 FROM tm_sync_runs r WHERE r.shop_id = s.id AND r.kind = 'incremental' AND r.created_at > now() - make_interval(mins => c.sync_interval_minutes))
     ORDER BY s.id`,
  );
  const started: number[] = [];
  for (const shop of due.rows) {
    try {
      await requestSyncRun(ctx, queue, { kind: 'incremental', shopId: Number(shop.id), trigger: 'schedule' });
      started.push(Number(shop.id));
    } catch (error) {
      // Another process's schedule got there first.
      if (!(error instanceof AppError && error.code === 'conflict')) throw error;
    }
  }
  const purged = await ctx.db.pool.query(`DELETE FROM tm_raw_payloads WHERE fetched_at < now() - make_interval(days => $1)`, [rawRetentionDays]);
  return { started, purgedRawPayloads: purged.rowCount ?? 0 };
}
