import { z } from 'zod';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import { StreamingAggregator } from '../core/pipelines/aggregator.js';
import { announceRunFinished } from '../core/pipelines/notifications.js';
import { allPipelines, pipelineQueueName, queueSettingsOf } from '../core/pipelines/registry.js';
import { pollDueSources } from '../core/pipelines/watcher.js';
import { processFileJob, recordFailedAttempt } from '../core/pipelines/worker.js';
import type { QueueDefinition } from './queues.js';

export const PIPELINE_WATCH_QUEUE = 'pipeline.watch';

const fileJobMessage = z.object({ fileJobId: z.string().uuid() });

/** One streaming aggregator per worker process and database: it buffers the files this process's workers finish. */
const aggregators = new WeakMap<Db, StreamingAggregator>();

export function aggregatorFor(db: Db, config: Config, log: Logger): StreamingAggregator {
  let aggregator = aggregators.get(db);
  if (!aggregator) {
    aggregator = new StreamingAggregator({
      db,
      log,
      dataDir: config.PIPELINE_DATA_DIR,
      settingsOf: (pipeline) => ({ maxFiles: config.PIPELINE_FLUSH_FILES, maxBytes: config.PIPELINE_FLUSH_BYTES, maxWaitMs: config.PIPELINE_FLUSH_SECONDS * 1000, ...pipeline.aggregation }),
      afterSettle: announceRunFinished,
    });
    aggregators.set(db, aggregator);
  }
  return aggregator;
}

/**
 * A queue per registered pipeline (its own concurrency, attempts and backoff, so a broken PO file never holds
 * up stock health), and the watcher's schedule, which looks at every source whose poll interval has passed.
 */
export function pipelineQueueDefinitions(): QueueDefinition[] {
  const perPipeline = allPipelines().map((pipeline): QueueDefinition => {
    const settings = queueSettingsOf(pipeline);
    return {
      name: pipelineQueueName(pipeline.name),
      checkLiveness: true,
      options: { retryLimit: settings.attempts - 1, retryDelay: settings.retryDelaySeconds, retryBackoff: true, expireInSeconds: settings.timeoutSeconds },
      concurrency: () => settings.concurrency,
      handle: async (ctx, job, config) =>
        processFileJob(ctx, aggregatorFor(ctx.db, config, ctx.log), { fileJobId: fileJobMessage.parse(job.data).fileJobId, retryCount: job.retryCount, retryLimit: job.retryLimit }, announceRunFinished),
      // The worker died on the last attempt: the file job fails with that said, and the run settles.
      abandon: async (ctx, job) => recordFailedAttempt(ctx, fileJobMessage.parse(job.data).fileJobId, 'The worker processing this file stopped (its process ended) on the last attempt; retry the file.', true, announceRunFinished),
    };
  });
  return [
    ...perPipeline,
    {
      name: PIPELINE_WATCH_QUEUE,
      options: { retryLimit: 1, retryDelay: 30, policy: 'singleton', expireInSeconds: 1800 },
      schedule: '* * * * *',
      handle: async (ctx, _job, config, queue) => (await pollDueSources(ctx, queue, { dataDir: config.PIPELINE_DATA_DIR })).map((r) => ({ source: r.sourceId, taken: r.taken, queued: r.queued.length })),
    },
  ];
}
