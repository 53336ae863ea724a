import { z } from 'zod';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import { StreamingAggregator } from '../core/pipelines/aggregator.js';
import { onRunSettled, PIPELINE_OUTPUTS_QUEUE, recordOutputsFailure, writeRunOutputs } from '../core/pipelines/outputs.js';
import { allPipelines, pipelineQueueName, queueSettingsOf } from '../core/pipelines/registry.js';
import { pollDueSources } from '../core/pipelines/watcher.js';
import { processFileJob, recordFailedAttempt } from '../core/pipelines/worker.js';
import type { QueueDefinition } from './queues.js';

export const PIPELINE_WATCH_QUEUE = 'pipeline.watch';

const fileJobMessage = z.object({ fileJobId: z.string().uuid() });
const outputsMessage = z.object({ runId: z.string().uuid() });

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
      afterSettle: onRunSettled,
    });
    aggregators.set(db, aggregator);
  }
  return aggregator;
}

/**
 * A queue per registered pipeline (its own concurrency, attempts and backoff, so a broken PO file never holds
 * up stock health), and the watcher's schedule, which looks at every source whose poll interval has passed.
 */
export function pipelineQueueDefinitions(config: Pick<Config, 'PIPELINE_RETRY_DELAY_SECONDS'>): QueueDefinition[] {
  const perPipeline = allPipelines().map((pipeline): QueueDefinition => {
    const settings = queueSettingsOf(pipeline, config);
    return {
      name: pipelineQueueName(pipeline.name),
      checkLiveness: true,
      options: { retryLimit: settings.attempts - 1, retryDelay: settings.retryDelaySeconds, retryBackoff: true, expireInSeconds: settings.timeoutSeconds },
      concurrency: () => settings.concurrency,
      handle: async (ctx, job, config) =>
        processFileJob(ctx, aggregatorFor(ctx.db, config, ctx.log), { fileJobId: fileJobMessage.parse(job.data).fileJobId, retryCount: job.retryCount, retryLimit: job.retryLimit }, onRunSettled),
      // The worker died on the last attempt: the file job fails with that said, and the run settles.
      abandon: async (ctx, job) => recordFailedAttempt(ctx, fileJobMessage.parse(job.data).fileJobId, 'The worker processing this file stopped (its process ended) on the last attempt; retry the file.', true, onRunSettled),
    };
  });
  return [
    ...perPipeline,
    {
      // A final run's day outputs (the complete, m2 and emergency CSVs), queued by the transaction that ended it.
      name: PIPELINE_OUTPUTS_QUEUE,
      options: { retryLimit: 2, retryDelay: config.PIPELINE_RETRY_DELAY_SECONDS, retryBackoff: true, expireInSeconds: 1800 },
      handle: async (ctx, job, jobConfig) => {
        const { runId } = outputsMessage.parse(job.data);
        try {
          const result = await writeRunOutputs(ctx, runId, jobConfig.PIPELINE_DATA_DIR);
          return { status: result.status, files: result.outputs.map((output) => output.fileName) };
        } catch (error) {
          if (job.retryCount >= job.retryLimit) await recordOutputsFailure(ctx, runId, error instanceof Error ? error.message : String(error));
          throw error;
        }
      },
    },
    {
      name: PIPELINE_WATCH_QUEUE,
      options: { retryLimit: 1, retryDelay: 30, policy: 'singleton', expireInSeconds: 1800 },
      schedule: '* * * * *',
      handle: async (ctx, _job, config, queue) => (await pollDueSources(ctx, queue, { dataDir: config.PIPELINE_DATA_DIR })).map((r) => ({ source: r.sourceId, taken: r.taken, queued: r.queued.length })),
    },
  ];
}
