import type pg from 'pg';
import { z } from 'zod';
import { writeAudit } from '../../auth/audit.js';
import { assertCan } from '../../auth/permissions.js';
import type { Context } from '../../context.js';
import { withTransaction } from '../../db/index.js';
import { AppError } from '../../errors.js';
import type { JobQueue } from '../../queue.js';
import { syncEntities } from './streams.js';

/**
 * The lifecycle of a sync run, in one place: every status change goes through `transitionRun`, which
 * refuses a move the table below does not allow.
 *   queued → running → succeeded | failed;  queued → cancelled;  running → running (a retry after the
 *   worker died resumes it);  failed → queued (started again by a person).
 */
export const runStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof runStatuses)[number];

const allowed: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  failed: ['queued'],
  cancelled: [],
};

export const TEKMETRIC_SYNC_QUEUE = 'tekmetric.sync';

export const boards = ['ACTIVE', 'POSTED', 'ALL'] as const;
export type Board = (typeof boards)[number];

/** The repair-order statuses of a board: the work in the shop, the posted (and receivable) orders, or all. */
export const boardStatusIds: Record<Board, number[] | undefined> = { ACTIVE: [1, 2, 3], POSTED: [5, 6], ALL: undefined };

export const runKinds = ['incremental', 'backfill', 'entities', 'repair_order'] as const;
export type RunKind = (typeof runKinds)[number];

export const runParams = z.object({
  entities: z.array(z.enum(syncEntities)).min(1).optional(),
  daysBack: z.number().int().min(1).max(3650).optional(),
  board: z.enum(boards).optional(),
  limit: z.number().int().min(1).max(1_000_000).optional(),
  storeRaw: z.boolean().optional(),
  repairOrderId: z.number().int().positive().optional(),
});
export type RunParams = z.infer<typeof runParams>;

export interface SyncRunRequest {
  kind: RunKind;
  /** A Tekmetric shop id; none: every shop of the connection. */
  shopId?: number;
  connectionId?: string;
  params?: RunParams;
  trigger?: 'manual' | 'schedule' | 'cli' | 'demo';
}

export interface SyncRunView {
  id: string;
  kind: RunKind;
  status: RunStatus;
  trigger: string;
  shopId: number | null;
  businessId: string | null;
  connectionId: string | null;
  entities: string[];
  params: RunParams;
  progress: Record<string, unknown>;
  counts: Record<string, unknown>;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
}

const runColumns = `id, kind, status, trigger, shop_id::int AS "shopId", business_id AS "businessId", connection_id AS "connectionId", entities, params, progress, counts, error,
  created_at AS "createdAt", started_at AS "startedAt", heartbeat_at AS "heartbeatAt", finished_at AS "finishedAt"`;

/** Who may start syncs: admins everywhere, ops for their own business's shops. Managers read only. */
function assertMaySync(ctx: Context): void {
  assertCan(ctx.user, 'tekmetricSync', 'new');
}

/**
 * Records a run (queued) and sends its job in the same transaction: no run without its job, no job
 * without its run. With no queue (the command line) the caller runs it at once with `executeSyncRun`.
 * A shop's run is refused (409) while another of the same shop is queued or running; a running one whose
 * process is gone (its shop lock free, no progress for a while) is failed first, and its cursors resume.
 */
export async function requestSyncRun(ctx: Context, queue: Pick<JobQueue, 'send'> | null, request: SyncRunRequest): Promise<SyncRunView> {
  assertMaySync(ctx);
  const params = runParams.parse(request.params ?? {});
  if (request.kind === 'repair_order' && (!params.repairOrderId || request.shopId === undefined)) throw new AppError('bad_request', 'Syncing one repair order needs its shop and its id.');
  let businessId: string | null = null;
  let connectionId = request.connectionId ?? null;
  if (request.shopId !== undefined) {
    const shop = await ctx.db.pool.query<{ business_id: string; backhouse_shop_id: string; connection_id: string | null }>(`SELECT business_id, backhouse_shop_id, connection_id FROM tm_shops WHERE id = $1`, [request.shopId]);
    const row = shop.rows[0];
    const visible = row && (ctx.scope.kind === 'all' || (row.business_id === ctx.scope.businessId && (!ctx.scope.shopIds || ctx.scope.shopIds.includes(row.backhouse_shop_id))));
    if (!row || !visible) throw new AppError('not_found', `Tekmetric shop ${request.shopId} is not connected (or not yours).`);
    businessId = row.business_id;
    connectionId ??= row.connection_id;
  } else if (ctx.scope.kind !== 'all') {
    throw new AppError('bad_request', 'Name the Tekmetric shop to sync (shop_id).');
  }
  const entities = request.kind === 'repair_order' ? ['repair_orders'] : (params.entities ?? [...syncEntities]);
  const run = await withTransaction(ctx.db.pool, async (tx) => {
    if (request.shopId !== undefined) {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('tekmetric-run-request:' || $1::text, 0))`, [request.shopId]);
      await failDeadRuns(tx, request.shopId);
      const open = await tx.query<{ id: string; status: string }>(`SELECT id, status FROM tm_sync_runs WHERE shop_id = $1 AND status IN ('queued', 'running') LIMIT 1`, [request.shopId]);
      if (open.rows[0]) throw new AppError('conflict', `Shop ${request.shopId} already has a sync ${open.rows[0].status} (run ${open.rows[0].id}); wait for it to finish.`, { runId: open.rows[0].id });
    }
    const inserted = await tx.query<SyncRunView>(
      `INSERT INTO tm_sync_runs (connection_id, shop_id, business_id, kind, entities, params, trigger, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${runColumns}`,
      [connectionId, request.shopId ?? null, businessId, request.kind, entities, params, request.trigger ?? 'manual', ctx.user.kind === 'user' ? ctx.user.id : null],
    );
    const created = inserted.rows[0]!;
    if (queue) {
      const jobId = await queue.send(TEKMETRIC_SYNC_QUEUE, { runId: created.id }, { transaction: tx });
      await tx.query(`UPDATE tm_sync_runs SET job_id = $2 WHERE id = $1`, [created.id, jobId]);
    }
    if (ctx.user.kind === 'user') await writeAudit(ctx, { resource: 'tekmetricSync', recordId: created.id, action: 'create', businessId, after: { kind: request.kind, shopId: request.shopId ?? null, params } }, tx);
    return created;
  });
  return run;
}

/** Moves a run to `to` if the lifecycle allows it from where it is; answers the run as it now is. */
export async function transitionRun(client: pg.ClientBase | pg.Pool, runId: string, to: RunStatus, change: { error?: string | null; counts?: object; progress?: object } = {}): Promise<SyncRunView> {
  const current = await client.query<{ status: RunStatus }>(`SELECT status FROM tm_sync_runs WHERE id = $1 FOR UPDATE`, [runId]);
  const from = current.rows[0]?.status;
  if (!from) throw new AppError('not_found', `Sync run ${runId} was not found.`);
  if (!allowed[from].includes(to)) throw new AppError('conflict', `Sync run ${runId} is ${from}; it cannot become ${to}.`);
  const result = await client.query<SyncRunView>(
    `UPDATE tm_sync_runs SET status = $2,
       started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
       heartbeat_at = now(),
       finished_at = CASE WHEN $2 IN ('succeeded', 'failed', 'cancelled') THEN now() ELSE NULL END,
       error = CASE WHEN $2 = 'failed' THEN $3 WHEN $2 IN ('running', 'queued') THEN NULL ELSE error END,
       counts = coalesce($4::jsonb, counts), progress = coalesce($5::jsonb, progress)
     WHERE id = $1 RETURNING ${runColumns}`,
    [runId, to, change.error ?? null, change.counts ? JSON.stringify(change.counts) : null, change.progress ? JSON.stringify(change.progress) : null],
  );
  return result.rows[0]!;
}

/** A run's progress and counts so far (and its liveness: `heartbeat_at`). */
export async function recordRunProgress(pool: pg.Pool, runId: string, progress: object, counts: object): Promise<void> {
  await pool.query(`UPDATE tm_sync_runs SET progress = $2, counts = $3, heartbeat_at = now() WHERE id = $1 AND status = 'running'`, [runId, JSON.stringify(progress), JSON.stringify(counts)]);
}

/** A run, within the caller's scope (a run of another business's shop is "not found"). */
export async function getSyncRun(ctx: Context, runId: string): Promise<SyncRunView & { log: SyncLogLine[] }> {
  assertCan(ctx.user, 'tekmetricSync', 'show');
  if (!z.string().uuid().safeParse(runId).success) throw new AppError('not_found', `Sync run ${runId} was not found.`);
  const result = await ctx.db.pool.query<SyncRunView & { backhouseShopId: string | null }>(
    `SELECT r.*, s.backhouse_shop_id AS "backhouseShopId" FROM (SELECT ${runColumns} FROM tm_sync_runs WHERE id = $1) r LEFT JOIN tm_shops s ON s.id = r."shopId"`,
    [runId],
  );
  const run = result.rows[0];
  const visible = run && (ctx.scope.kind === 'all' || (run.businessId === ctx.scope.businessId && (!ctx.scope.shopIds || (run.backhouseShopId !== null && ctx.scope.shopIds.includes(run.backhouseShopId)))));
  if (!run || !visible) throw new AppError('not_found', `Sync run ${runId} was not found.`);
  const { backhouseShopId: _shop, ...view } = run;
  const log = await ctx.db.pool.query<SyncLogLine>(
    `SELECT shop_id::int AS "shopId", entity, status, started_at AS "startedAt", finished_at AS "finishedAt", requests, pages, fetched, written, deleted, error FROM tm_sync_log WHERE run_id = $1 ORDER BY id`,
    [runId],
  );
  return { ...view, log: log.rows };
}

export interface SyncLogLine {
  shopId: number;
  entity: string;
  status: string;
  startedAt: Date;
  finishedAt: Date | null;
  requests: number;
  pages: number;
  fetched: number;
  written: number;
  deleted: number;
  error: string | null;
}

/**
 * Running runs of a shop whose process is gone: nobody holds the shop's sync lock, which a live one-shop run
 * holds from before it is marked running to its end (execute.ts). They become failed; their committed pages stay.
 */
async function failDeadRuns(tx: pg.ClientBase, shopId: number): Promise<void> {
  const stale = await tx.query<{ id: string }>(`SELECT id FROM tm_sync_runs WHERE shop_id = $1 AND status = 'running'`, [shopId]);
  if (stale.rows.length === 0) return;
  const lock = await tx.query<{ free: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtextextended('tekmetric-sync:' || $1::text, 0)) AS free`, [shopId]);
  if (!lock.rows[0]?.free) return;
  for (const run of stale.rows) await transitionRun(tx, run.id, 'failed', { error: 'The process running this sync stopped; what was committed stays, and the next sync resumes from there.' });
}

/** A run whose worker died on its last attempt: failed, so that a person sees it and starts it again. */
export async function failAbandonedRun(ctx: Context, runId: string): Promise<void> {
  await withTransaction(ctx.db.pool, async (tx) => {
    const current = await tx.query<{ status: RunStatus }>(`SELECT status FROM tm_sync_runs WHERE id = $1`, [runId]);
    if (current.rows[0] && (current.rows[0].status === 'running' || current.rows[0].status === 'queued')) {
      await transitionRun(tx, runId, 'failed', { error: 'The worker running this sync stopped; what was committed stays, start the sync again to finish.' });
    }
  });
}
