import { z } from 'zod';
import { checkShopMetrics } from '../core/tekmetric/metrics-check.js';
import { executeSyncRun } from '../core/tekmetric/sync/execute.js';
import { failAbandonedRun, TEKMETRIC_SYNC_QUEUE } from '../core/tekmetric/sync/runs.js';
import { runDueSyncs } from '../core/tekmetric/sync/schedule.js';
import type { QueueDefinition } from './queues.js';

const syncJob = z.object({ runId: z.string().uuid() });

/** The queue of the nightly check of the Tekmetric metrics (core/tekmetric/metrics-check.ts). */
export const TEKMETRIC_METRICS_CHECK_QUEUE = 'tekmetric.metrics-check';

/** The Tekmetric sync's queues: one run per job, the minute's look for shops due a sync, and the nightly metrics check. */
export const tekmetricQueues: QueueDefinition[] = [
  {
    // A sync run (core/tekmetric/sync/execute.ts). A retry after a dead worker resumes from the cursors.
    name: TEKMETRIC_SYNC_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 2, retryDelay: 30, retryBackoff: true, expireInSeconds: 4 * 3600 },
    // A failed run is recorded as failed (with its reason) and not retried: the client has retried what can
    // be retried, and the next scheduled run resumes from the cursors.
    handle: async (ctx, job, config) => executeSyncRun(ctx, config, syncJob.parse(job.data).runId).catch((error: Error) => ({ failed: error.message })),
    abandon: async (ctx, job) => failAbandonedRun(ctx, syncJob.parse(job.data).runId),
  },
  {
    name: 'tekmetric.schedule',
    options: { retryLimit: 1, retryDelay: 30, policy: 'singleton' },
    schedule: '* * * * *',
    handle: async (ctx, _job, config, queue) => runDueSyncs(ctx, queue, config.TEKMETRIC_RAW_RETENTION_DAYS),
  },
  {
    // The last week's daily shop and technician metrics recomputed from the warehouse nightly (UTC, after gold's
    // check): a difference from the incrementally kept rows is an alert in warehouse_alerts and is repaired.
    name: TEKMETRIC_METRICS_CHECK_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 2, retryDelay: 300, retryBackoff: true, expireInSeconds: 3600, policy: 'singleton' },
    schedule: '45 2 * * *',
    handle: async (ctx) => {
      const result = await checkShopMetrics(ctx, { repair: true });
      return { alerted: result.alerted, skippedShops: result.skippedShops, checks: result.checks.map((c) => ({ table: c.aggregate, differences: c.differences.length, repaired: c.repaired })) };
    },
  },
];
