import type { Config } from '../../config.js';
import type { Context } from '../../context.js';
import { withAdvisoryLock, withTransaction } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { notify } from '../../notify/index.js';
import type { TekmetricClient } from '../client.js';
import { clientFor, ensureEnvironmentConnection, getConnection, linkShops, shopRefOf, type TekmetricConnectionRow } from '../connections.js';
import { updateMetricsForRepairOrders } from '../metrics.js';
import type { RepairOrdersChangedHook } from './repair-orders.js';
import type { ShopRef } from './rows.js';
import { boardStatusIds, recordRunProgress, runParams, transitionRun, type RunKind, type RunParams } from './runs.js';
import { streamsOf, syncOneRepairOrder, syncStreamIncrementally, syncStreamWindow, type PageDeps, type StreamResult, type SyncEntity, type SyncStream } from './streams.js';

export type SyncConfig = Pick<Config, 'TEKMETRIC_BASE_URL' | 'TEKMETRIC_CLIENT_ID' | 'TEKMETRIC_CLIENT_SECRET' | 'TEKMETRIC_SYNC_INTERVAL_MINUTES'>;

export interface ExecuteOptions {
  /** Called in each repair-order page's transaction with what it changed (default: the metrics and snapshots). */
  onRepairOrdersChanged?: RepairOrdersChangedHook;
  /** The client to use instead of one made from the run's connection (the benchmark's unlimited fake). */
  api?: TekmetricClient;
  signal?: AbortSignal;
}

interface RunRow {
  id: string;
  kind: RunKind;
  shop_id: string | null;
  connection_id: string | null;
  entities: SyncEntity[];
  params: RunParams;
}

export interface EntityCounts {
  pages: number;
  fetched: number;
  written: number;
  removed: number;
}

export interface RunCounts {
  requests: number;
  throttled: number;
  retries: number;
  shops: number;
  entities: Partial<Record<SyncEntity, EntityCounts>>;
}

const DAY_MS = 86_400_000;

/**
 * Runs a sync run to its end: its shops one after another (each under a session lock, so two runs never
 * sync the same shop at once), each entity's streams page by page, progress and counts written to the run
 * as it goes. A failure marks the run failed with the reason (and the entity's log line and cursor);
 * committed pages stay and the cursors keep them. Started again after its worker died, a run resumes
 * from the cursors.
 */
export async function executeSyncRun(ctx: Context, config: SyncConfig, runId: string, options: ExecuteOptions = {}): Promise<RunCounts> {
  const run = (await ctx.db.pool.query<RunRow>(`SELECT id, kind, shop_id, connection_id, entities, params FROM tm_sync_runs WHERE id = $1`, [runId])).rows[0];
  if (!run) throw new AppError('not_found', `Sync run ${runId} was not found.`);
  // A one-shop run holds its shop's lock from before it is marked running to its end: a running run whose
  // shop lock is free is therefore dead (runs.ts relies on it). A run over every shop locks each in turn.
  if (run.shop_id === null) return executeLocked(ctx, config, run, options, true);
  return withAdvisoryLock(ctx.db.pool, shopLockKey(Number(run.shop_id)), () => executeLocked(ctx, config, run, options, false), lockWait(Number(run.shop_id)));
}

const shopLockKey = (shopId: number) => `tekmetric-sync:${shopId}`;
const lockWait = (shopId: number) => ({ timeout: { seconds: 600, message: `Another sync of shop ${shopId} is still running.` } });

async function executeLocked(ctx: Context, config: SyncConfig, run: RunRow, options: ExecuteOptions, lockEachShop: boolean): Promise<RunCounts> {
  const runId = run.id;
  await withTransaction(ctx.db.pool, (tx) => transitionRun(tx, runId, 'running'));
  const counts: RunCounts = { requests: 0, throttled: 0, retries: 0, shops: 0, entities: {} };
  let current: { shopId: number; entity: SyncEntity } | null = null;
  let api: TekmetricClient | undefined = options.api;
  try {
    const params = runParams.parse(run.params);
    const connection = await connectionOf(ctx, config, run.connection_id);
    api ??= clientFor(ctx, connection, config, { signal: options.signal });
    const shops: ShopRef[] = run.shop_id !== null ? [await shopRefOf(ctx, Number(run.shop_id))] : await linkShops(ctx, connection, api);
    for (const [shopIndex, shop] of shops.entries()) {
      const syncShop = async () => {
          for (const [entityIndex, entity] of run.entities.entries()) {
            current = { shopId: shop.shopId, entity };
            const before = { ...api!.stats };
            await ctx.db.pool.query(
              `INSERT INTO tm_sync_log (run_id, shop_id, business_id, entity) VALUES ($1, $2, $3, $4)
               ON CONFLICT (run_id, shop_id, entity) DO UPDATE SET status = 'running', error = NULL, finished_at = NULL`,
              [runId, shop.shopId, shop.businessId, entity],
            );
            const deps: PageDeps = { api: api!, shop, runId, storeRaw: params.storeRaw ?? false, onRepairOrdersChanged: options.onRepairOrdersChanged ?? updateMetricsForRepairOrders };
            const total = (counts.entities[entity] ??= { pages: 0, fetched: 0, written: 0, removed: 0 });
            const onPage = async (page: { stream: SyncStream; page: number; totalPages: number; fetched: number; written: number; removed: number }) => {
              total.pages += 1;
              total.fetched += page.fetched;
              total.written += page.written;
              total.removed += page.removed;
              Object.assign(counts, { requests: api!.stats.requests, throttled: api!.stats.throttled, retries: api!.stats.retries, shops: shopIndex });
              const done = Math.min(1, (page.page + 1) / Math.max(1, page.totalPages));
              const percent = Math.round(((shopIndex + (entityIndex + done) / run.entities.length) / shops.length) * 1000) / 10;
              await recordRunProgress(ctx.db.pool, runId, { shopId: shop.shopId, entity, stream: page.stream, page: page.page + 1, totalPages: page.totalPages, shop: shopIndex + 1, shopCount: shops.length, percent }, counts);
              await ctx.db.pool.query(`UPDATE tm_sync_log SET pages = pages + 1, fetched = fetched + $4, written = written + $5, deleted = deleted + $6 WHERE run_id = $1 AND shop_id = $2 AND entity = $3`, [
                runId,
                shop.shopId,
                entity,
                page.fetched,
                page.written,
                page.removed,
              ]);
            };
            await syncEntity(ctx, deps, run.kind, entity, params, onPage);
            await ctx.db.pool.query(`UPDATE tm_sync_log SET status = 'succeeded', finished_at = now(), requests = requests + $4 WHERE run_id = $1 AND shop_id = $2 AND entity = $3`, [
              runId,
              shop.shopId,
              entity,
              api!.stats.requests - before.requests,
            ]);
          }
          await ctx.db.pool.query(`UPDATE tm_shops SET synced_at = now() WHERE id = $1`, [shop.shopId]);
      };
      if (lockEachShop) await withAdvisoryLock(ctx.db.pool, shopLockKey(shop.shopId), syncShop, lockWait(shop.shopId));
      else await syncShop();
    }
    Object.assign(counts, { requests: api.stats.requests, throttled: api.stats.throttled, retries: api.stats.retries, shops: shops.length });
    await withTransaction(ctx.db.pool, (tx) => transitionRun(tx, runId, 'succeeded', { counts, progress: { percent: 100 } }));
    return counts;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.log.warn({ err: error, runId }, 'tekmetric sync failed');
    if (api) Object.assign(counts, { requests: api.stats.requests, throttled: api.stats.throttled, retries: api.stats.retries });
    await withTransaction(ctx.db.pool, async (tx) => {
      const failedAt = current as { shopId: number; entity: SyncEntity } | null;
      if (failedAt) {
        await tx.query(`UPDATE tm_sync_log SET status = 'failed', error = $4, finished_at = now() WHERE run_id = $1 AND shop_id = $2 AND entity = $3`, [runId, failedAt.shopId, failedAt.entity, message]);
        await tx.query(`UPDATE tm_sync_cursors SET last_error = $3, last_error_at = now() WHERE shop_id = $1 AND stream = ANY($2::text[])`, [failedAt.shopId, streamsOf[failedAt.entity], message]);
      }
      const failed = await transitionRun(tx, runId, 'failed', { error: message, counts });
      // Subscribed webhooks hear of it, sent once this transaction commits. Under a savepoint: a notification
      // that cannot be queued must not lose the record of the failure.
      await tx.query('SAVEPOINT notify_failure');
      try {
        await notify(tx, {
          type: 'tekmetric.sync.failed',
          businessId: failed.businessId,
          payload: { runId, kind: failed.kind, shopId: failedAt?.shopId ?? failed.shopId, entity: failedAt?.entity ?? null, error: message, counts },
        });
        await tx.query('RELEASE SAVEPOINT notify_failure');
      } catch (notifyError) {
        await tx.query('ROLLBACK TO SAVEPOINT notify_failure');
        ctx.log.error({ err: notifyError, runId }, 'tekmetric.sync.failed could not be notified');
      }
    });
    throw error instanceof AppError ? error : new AppError('unavailable', message);
  }
}

async function connectionOf(ctx: Context, config: SyncConfig, connectionId: string | null): Promise<TekmetricConnectionRow> {
  if (connectionId) return getConnection(ctx, connectionId);
  const fromEnvironment = await ensureEnvironmentConnection(ctx, config);
  if (!fromEnvironment) throw new AppError('bad_request', 'No Tekmetric connection: set TEKMETRIC_BASE_URL, TEKMETRIC_CLIENT_ID and TEKMETRIC_CLIENT_SECRET, or connect one in the admin.');
  return fromEnvironment;
}

async function syncEntity(ctx: Context, deps: PageDeps, kind: RunKind, entity: SyncEntity, params: RunParams, onPage: Parameters<typeof syncStreamIncrementally>[3]): Promise<StreamResult[]> {
  const pool = ctx.db.pool;
  if (kind === 'repair_order') {
    const result = await syncOneRepairOrder(pool, deps, params.repairOrderId!);
    await onPage({ stream: 'repair_orders', page: 0, totalPages: 1, totalElements: 1, ...result });
    return [result];
  }
  const windowed = kind === 'backfill' || params.daysBack !== undefined || params.board !== undefined || params.limit !== undefined;
  const results: StreamResult[] = [];
  for (const stream of streamsOf[entity]) {
    const deletedStream = stream.endsWith('_deleted');
    if (!windowed) {
      results.push(await syncStreamIncrementally(pool, deps, stream, onPage));
      continue;
    }
    // A board or a limit asks for some repair orders, not for what was deleted.
    if (deletedStream && (params.board !== undefined && params.board !== 'ALL' || params.limit !== undefined)) continue;
    const daysBack = params.daysBack;
    const updatedSince = daysBack !== undefined ? new Date(Date.now() - daysBack * DAY_MS).toISOString() : undefined;
    results.push(await syncStreamWindow(pool, deps, stream, { updatedSince, statusIds: params.board ? boardStatusIds[params.board] : undefined, limit: params.limit }, onPage));
  }
  return results;
}
