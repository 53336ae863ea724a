import type { Config } from '../core/config.js';
import { qualityDefaults } from '../core/ingest/quality-settings.js';
import { drainToSilver, startSilverListener, workerName, type SilverOptions } from '../core/ingest/silver.js';
import type { QueueDefinition } from './queues.js';

export const INGEST_SILVER_QUEUE = 'ingest.silver';

export const silverOptions = (config: Config): SilverOptions => ({
  batchSize: config.INGEST_SILVER_BATCH_SIZE,
  linkThreshold: config.INGEST_LINK_THRESHOLD,
  ...qualityDefaults(config),
  worker: workerName(),
});

/** A drain started by the schedule stops claiming new batches after this long; the next minute's carries on. */
const DRAIN_JOB_SECONDS = 50;

/** Streaming ingestion's queues (issue 17): bronze → silver. */
export const ingestQueues: QueueDefinition[] = [
  {
    // Every worker process listens on `ingest_events` and drains at once (background); this schedule drains
    // every minute in case a notification was missed (a listener reconnecting, a crash between commit and notify).
    name: INGEST_SILVER_QUEUE,
    checkLiveness: true,
    options: { retryLimit: 2, retryDelay: 10, retryBackoff: true, expireInSeconds: 600, policy: 'singleton' },
    schedule: '* * * * *',
    handle: async (ctx, _job, config, _queue, stopping) => {
      const drained = await drainToSilver(ctx, silverOptions(config), undefined, { until: Date.now() + DRAIN_JOB_SECONDS * 1000, stopping: () => stopping.aborted });
      return { batches: drained.batches, claimed: drained.claimed, written: drained.written, failed: drained.failed };
    },
    background: (ctx, config) => startSilverListener(ctx, silverOptions(config), config.INGEST_SILVER_LOOPS),
  },
];
