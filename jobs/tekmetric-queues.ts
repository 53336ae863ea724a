import { z } from 'zod';
import { executeSyncRun } from '../core/tekmetric/sync/execute.js';
import { failAbandonedRun, TEKMETRIC_SYNC_QUEUE } from '../core/tekmetric/sync/runs.js';
import { runDueSyncs } from '../core/tekmetric/sync/schedule.js';
import type { QueueDefinition } from './queues.js';

const syncJob = z.object({ runId: z.string().uuid() });

/** The Tekmetric sync's queues: one run per job, and the minute's look for shops due a sync. */
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
];
