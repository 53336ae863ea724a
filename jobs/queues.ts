import type PgBoss from 'pg-boss';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { failInterruptedCommits, PROCESS_FEED_QUEUE } from '../core/feeds/commit.js';
import { executeMapping, failAbandonedExecution, MAPPING_EXECUTE_QUEUE } from '../core/mapping/execute.js';
import type { JobQueue } from '../core/queue.js';
import { purgeExpiredUploads } from '../core/feeds/uploads.js';
import { dropAbandonedLoadTables, failAbandonedLoad, processDataFeed } from '../core/warehouse/loadFacts.js';
import { checkViewStaleness, purgeWarehouseHistory } from '../core/warehouse/alerts.js';
import { refreshChangedViews, refreshRequest, refreshViews, WAREHOUSE_REFRESH_CHANGED_QUEUE, WAREHOUSE_REFRESH_QUEUE } from '../core/warehouse/views.js';
import { purgeExpiredAuthState } from '../core/system/housekeeping.js';
import { probeInput, runProbe } from '../core/system/probe.js';
import { ingestQueues } from './ingest.js';
import { ingestGoldQueues } from './ingest-gold.js';
import { tekmetricQueues } from './tekmetric-queues.js';
import { notifyQueues } from './notify-queues.js';

/** A queue: its pg-boss options, and a handler that parses the job and makes one call into core/. */
export interface QueueDefinition {
  name: string;
  options: Omit<PgBoss.Queue, 'name'>;
  /** Cron expression (UTC) when the queue is fed by a schedule. */
  schedule?: string;
  /**
   * Seconds a job may run before pg-boss gives up on it and retries it; overrides `options.expireInSeconds`
   * from the configuration. A dead worker is noticed much sooner with `checkLiveness`.
   */
  timeoutSeconds?: (config: Config) => number;
  /**
   * Long jobs: the worker holds a lock while it runs one, and a job whose worker died (its lock free) is
   * retried within two JOB_LIVENESS_INTERVAL_SECONDS instead of waiting for its expiry (jobs/liveness.ts).
   */
  checkLiveness?: boolean;
  /**
   * Marks a job's work failed when its worker died on the job's last attempt (no retry will run it), so that
   * a person can see it and start it again. `job` is the given-up job; only with `checkLiveness`.
   */
  abandon?(ctx: Context, job: { id: string; data: unknown }): Promise<unknown>;
  /** Jobs of this queue one worker process runs at once (default JOB_CONCURRENCY). */
  concurrency?: (config: Config) => number;
  /** How often an idle worker asks for this queue's jobs (default half a second); a send from its own process wakes it at once. */
  pollingIntervalSeconds?: number;
  /**
   * A service each worker process runs beside the queue's jobs for as long as it runs (a LISTEN connection
   * that starts work at once); stopped before the jobs are.
   */
  background?(ctx: Context, config: Config): { stop(): Promise<void> };
  /**
   * `queue` lets a job send follow-up jobs (a load asking for a refresh of the views it touched). `stopping` is
   * aborted when the worker process begins to stop: a job that loops over batches ends after the current one
   * (and completes) instead of holding the shutdown until its own end.
   */
  handle(ctx: Context, job: PgBoss.JobWithMetadata<unknown>, config: Config, queue: Pick<JobQueue, 'send'>, stopping: AbortSignal): Promise<unknown>;
}

const feedJob = z.object({ feedId: z.number().int() });
const executionJob = z.object({ executionId: z.string().uuid() });

export const queues: QueueDefinition[] = [
  {
    name: 'system.probe',
    options: { retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds: 60 },
    handle: async (_ctx, job, _config, _queue, stopping) => runProbe(probeInput.parse(job.data ?? {}), job.retryCount, stopping),
  },
  {
    name: 'system.housekeeping',
    options: { retryLimit: 2, retryDelay: 30, retryBackoff: true, policy: 'singleton' },
    schedule: '*/15 * * * *',
    handle: async (ctx) => ({ ...(await purgeExpiredAuthState(ctx)), uploads: await purgeExpiredUploads(ctx), warehouse: await purgeWarehouseHistory(ctx), abandonedFeedLoads: await dropAbandonedLoadTables(ctx), interruptedFeedCommits: await failInterruptedCommits(ctx) }),
  },
  {
    // ProcessDataFeedJob: a committed feed's staging rows into fact_sales (or product costs).
    name: PROCESS_FEED_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 3, retryDelay: 10, retryBackoff: true },
    timeoutSeconds: (config) => config.FEED_JOB_TIMEOUT_SECONDS,
    concurrency: (config) => config.FEED_QUEUE_CONCURRENCY,
    handle: async (ctx, job, config, queue) => processDataFeed(ctx, queue, feedJob.parse(job.data).feedId, job.id, { ownPartitionMinRows: config.FEED_PARTITION_MIN_ROWS, loadConnections: config.FEED_LOAD_CONNECTIONS }),
    abandon: async (ctx, job) => failAbandonedLoad(ctx, feedJob.parse(job.data).feedId, job.id),
  },
  {
    // A data source's file into its canonical table with the approved mapping (core/mapping/execute.ts).
    // A retry after a killed worker loads again from the start: batches upsert on natural keys.
    name: MAPPING_EXECUTE_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 3, retryDelay: 10, retryBackoff: true },
    timeoutSeconds: (config) => config.FEED_JOB_TIMEOUT_SECONDS,
    concurrency: (config) => config.FEED_QUEUE_CONCURRENCY,
    handle: async (ctx, job, _config, queue) => executeMapping(ctx, queue, executionJob.parse(job.data).executionId),
    abandon: async (ctx, job) => failAbandonedExecution(ctx, executionJob.parse(job.data).executionId),
  },
  {
    // Materialized views: the ones a load touched (incremental) or the ones asked for. Refreshes take
    // turns under an advisory lock, so a job may first wait for another to finish.
    name: WAREHOUSE_REFRESH_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 3, retryDelay: 60, retryBackoff: true, expireInSeconds: 3600 },
    handle: async (ctx, job) => refreshViews(ctx, refreshRequest.parse(job.data)),
  },
  {
    // Views whose sources changed since their last refresh (warehouse_changes): sent after a feed load, and
    // every minute in case a sender stopped between its commit and the send. At most one waits and one runs.
    name: WAREHOUSE_REFRESH_CHANGED_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 3, retryDelay: 30, retryBackoff: true, expireInSeconds: 3600, policy: 'stately' },
    schedule: '* * * * *',
    handle: async (ctx) => refreshChangedViews(ctx),
  },
  {
    // Every view in full, nightly (UTC), also moving date-relative views such as invoice ageing on a day.
    name: 'warehouse.refresh-nightly',
    checkLiveness: true,
    options: { retryLimit: 3, retryDelay: 300, retryBackoff: true, expireInSeconds: 3600, policy: 'singleton' },
    schedule: '0 2 * * *',
    handle: async (ctx) => refreshViews(ctx, { trigger: 'full' }),
  },
  {
    // Views older than their refresh policy: open an alert (and warn) until they are fresh again.
    name: 'warehouse.staleness-check',
    options: { retryLimit: 1, retryDelay: 60, policy: 'singleton' },
    schedule: '*/10 * * * *',
    handle: async (ctx) => checkViewStaleness(ctx),
  },
  ...ingestQueues,
  ...ingestGoldQueues,
  ...tekmetricQueues,
  ...notifyQueues,
];
