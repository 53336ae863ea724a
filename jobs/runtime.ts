import PgBoss from 'pg-boss';
import type { Config } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { isDatabaseUnavailable } from '../core/db/availability.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import type { JobQueue } from '../core/queue.js';
import { sendInTransaction } from '../core/transactionalJobs.js';
import { createJobReaper, runHoldingJobLock, startJobReaper } from './liveness.js';
import { pipelineQueueDefinitions } from './pipelines.js';
import { queues, type QueueDefinition } from './queues.js';

export interface JobRuntime extends JobQueue {
  boss: PgBoss;
  stop(): Promise<void>;
}

/**
 * Starts pg-boss on the product's database. With `work` the process also runs the workers and the
 * schedules; a web-only process just sends jobs. Every process may do either: pg-boss coordinates
 * through PostgreSQL.
 */
export async function startJobs(db: Db, config: Config, log: Logger, opts: { work: boolean; definitions?: QueueDefinition[] }): Promise<JobRuntime> {
  // Pipelines' queues from the registry as it is now (tests and benchmarks register their own pipelines).
  const definitions = opts.definitions ?? [...queues, ...pipelineQueueDefinitions(config)];
  const boss = new PgBoss({
    connectionString: db.url,
    schema: 'pgboss',
    max: 4,
    application_name: opts.work ? 'backhouse-worker' : 'backhouse-web',
    supervise: opts.work,
    schedule: opts.work,
  });
  // While the database restarts every poll fails: a warning each, not an error with its stack; pg-boss polls on and resumes.
  boss.on('error', (error: Error) => (isDatabaseUnavailable(error) ? log.warn({ error: error.message }, 'job queue cannot reach the database') : log.error({ err: error }, 'job queue error')));
  await boss.start();
  for (const definition of definitions) {
    const options = { name: definition.name, ...definition.options, ...(definition.timeoutSeconds ? { expireInSeconds: definition.timeoutSeconds(config) } : {}) };
    await boss.createQueue(definition.name, options);
    // createQueue keeps an existing queue's options; apply the code's current ones.
    await boss.updateQueue(definition.name, options);
  }
  // This process's workers per queue: a job it sends wakes them instead of waiting for their next poll (a
  // commit's load then starts at once when web and worker share the process, as under `npm start`).
  const localWorkers = new Map<string, string[]>();
  const stopping = new AbortController();
  const send: JobQueue['send'] = async (queue, data, options) => {
    const { transaction, ...sendOptions } = options ?? {};
    // Inside a caller's transaction, the one statement core uses everywhere (notifications included).
    const id = transaction ? await sendInTransaction(transaction, queue, data, sendOptions) : await boss.send(queue, data, sendOptions);
    for (const worker of localWorkers.get(queue) ?? []) boss.notifyWorker(worker);
    return id;
  };
  if (opts.work) {
    for (const definition of definitions) {
      const workers: string[] = [];
      localWorkers.set(definition.name, workers);
      // pg-boss runs one job at a time per work() registration: register as many as the concurrency.
      for (let slot = 0; slot < (definition.concurrency?.(config) ?? config.JOB_CONCURRENCY); slot++) workers.push(await boss.work(definition.name, { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: definition.pollingIntervalSeconds ?? 0.5 }, async ([job]) => {
        if (!job) return undefined;
        const jobLog = log.child({ job: job.id, queue: job.name, attempt: job.retryCount + 1 });
        const ctx = { ...systemContext(`job:${job.name}`, db, jobLog), requestId: job.id };
        const started = Date.now();
        try {
          const run = () => definition.handle(ctx, job, config, { send }, stopping.signal);
          const output = definition.checkLiveness ? await runHoldingJobLock(db, job, jobLog, run) : await run();
          jobLog.info({ ms: Date.now() - started }, 'job completed');
          return output;
        } catch (error) {
          jobLog.warn({ err: error, ms: Date.now() - started }, 'job failed');
          throw error;
        }
      }));
      if (definition.schedule) await boss.schedule(definition.name, definition.schedule, {}, { tz: 'UTC' });
    }
    log.info({ queues: definitions.map((d) => d.name), concurrency: config.JOB_CONCURRENCY }, 'workers started');
  }
  const reaper = opts.work ? startJobReaper(createJobReaper(db, boss, definitions, log), config.JOB_LIVENESS_INTERVAL_SECONDS, log) : null;
  const services = opts.work ? definitions.flatMap((definition) => (definition.background ? [definition.background(systemContext(`background:${definition.name}`, db, log.child({ queue: definition.name })), config)] : [])) : [];
  let stopped = false;
  return {
    boss,
    send,
    async retry(queue, id) {
      await boss.retry(queue, id);
    },
    async health() {
      try {
        await db.pool.query('SELECT 1 FROM pgboss.version');
        return { ok: !stopped };
      } catch (error) {
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping.abort();
      await reaper?.stop();
      await Promise.all(services.map((service) => service.stop()));
      // Graceful: stop fetching, wait for running jobs (up to the timeout), then close.
      await boss.stop({ graceful: true, wait: true, timeout: config.SHUTDOWN_TIMEOUT_SECONDS * 1000 });
    },
  };
}
