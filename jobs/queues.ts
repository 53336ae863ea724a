import type PgBoss from 'pg-boss';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { PROCESS_FEED_QUEUE } from '../core/feeds/commit.js';
import { purgeExpiredUploads } from '../core/feeds/uploads.js';
import { processDataFeed } from '../core/warehouse/loadFacts.js';
import { purgeExpiredAuthState } from '../core/system/housekeeping.js';
import { probeInput, runProbe } from '../core/system/probe.js';

/** A queue: its pg-boss options, and a handler that parses the job and makes one call into core/. */
export interface QueueDefinition {
  name: string;
  options: Omit<PgBoss.Queue, 'name'>;
  /** Cron expression (UTC) when the queue is fed by a schedule. */
  schedule?: string;
  /**
   * Seconds a job may run before pg-boss takes it for dead (a killed worker) and retries it; overrides
   * `options.expireInSeconds` from the configuration.
   */
  timeoutSeconds?: (config: Config) => number;
  /** Jobs of this queue one worker process runs at once (default JOB_CONCURRENCY). */
  concurrency?: (config: Config) => number;
  handle(ctx: Context, job: PgBoss.JobWithMetadata<unknown>): Promise<unknown>;
}

export const queues: QueueDefinition[] = [
  {
    name: 'system.probe',
    options: { retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds: 60 },
    handle: async (_ctx, job) => runProbe(probeInput.parse(job.data ?? {}), job.retryCount),
  },
  {
    name: 'system.housekeeping',
    options: { retryLimit: 2, retryDelay: 30, retryBackoff: true, policy: 'singleton' },
    schedule: '*/15 * * * *',
    handle: async (ctx) => ({ ...(await purgeExpiredAuthState(ctx)), uploads: await purgeExpiredUploads(ctx) }),
  },
  {
    // ProcessDataFeedJob: a committed feed's staging rows into fact_sales (or product costs).
    name: PROCESS_FEED_QUEUE,
    options: { retryLimit: 3, retryDelay: 10, retryBackoff: true },
    timeoutSeconds: (config) => config.FEED_JOB_TIMEOUT_SECONDS,
    concurrency: (config) => config.FEED_QUEUE_CONCURRENCY,
    handle: async (ctx, job) => processDataFeed(ctx, z.object({ feedId: z.number().int() }).parse(job.data).feedId, job.id),
  },
];
