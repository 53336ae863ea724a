import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../core/config.js';
import { systemContext, type Context } from '../core/context.js';
import { closeDb, connectDb, migrateDatabase, reachDatabaseServer } from '../core/db/index.js';
import { createLogger } from '../core/log.js';
import type { PipelineRunRow } from '../core/pipelines/lifecycle.js';
import { finalRunStatuses } from '../core/pipelines/lifecycle.js';
import { getRun, retryFailedFiles, startFolderRun } from '../core/pipelines/runs.js';
import { pollSource } from '../core/pipelines/watcher.js';
import { PIPELINE_WATCH_QUEUE, pipelineQueueDefinitions } from '../jobs/pipelines.js';
import { startJobs, type JobRuntime } from '../jobs/runtime.js';

const usage = `Usage:
  npm run pipeline -- process --pipeline=NAME --date=YYYY-MM-DD --input-dir=DIR [--business=ID]
  npm run pipeline -- retry --pipeline=NAME [--business=ID]
  npm run pipeline -- watch [--poll-interval=SECONDS]`;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '--date must be YYYY-MM-DD');

/**
 * `npm run pipeline -- process|retry|watch`. process and retry run the pipeline's workers in this process
 * until the run is done, with a progress bar, and print a summary; watch polls the configured sources (the
 * watcher alone: the product's workers process what it queues).
 */
const { positionals, values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  allowPositionals: true,
  options: { pipeline: { type: 'string' }, date: { type: 'string' }, 'input-dir': { type: 'string' }, business: { type: 'string' }, 'poll-interval': { type: 'string' } },
});
const command = positionals[0];
if (!command || !['process', 'retry', 'watch'].includes(command)) {
  console.error(usage);
  process.exit(2);
}

const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
const server = await reachDatabaseServer(config, log, { create: false });
await migrateDatabase(server.url, log);
const db = connectDb(server.url, 4);
const ctx = systemContext(`cli:pipeline ${command}`, db, log);
let jobs: JobRuntime | null = null;

async function businessOf(given: string | undefined): Promise<string> {
  if (given) return given;
  const businesses = await db.pool.query<{ id: string; name: string }>(`SELECT id, name FROM businesses ORDER BY created_at`);
  if (businesses.rows.length === 1) return businesses.rows[0]!.id;
  throw new Error(`There are ${businesses.rows.length} businesses; say which with --business=ID (${businesses.rows.map((b) => `${b.id} ${b.name}`).join('; ')}).`);
}

function bar(run: PipelineRunRow): string {
  const done = run.processedFiles + run.failedFiles;
  const width = 30;
  const filled = run.totalFiles ? Math.round((done / run.totalFiles) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${run.totalFiles} files, ${run.failedFiles} failed, ${run.totalRows} rows`;
}

/** Waits for the run to end, drawing its progress; prints the summary. */
async function follow(context: Context, runId: string): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    const run = await getRun(context, runId);
    if (process.stderr.isTTY) process.stderr.write(`\r${bar(run)}`);
    // Final, and its day outputs (written by this process's workers) no longer pending.
    if (finalRunStatuses.includes(run.status) && run.outputsStatus !== 'pending') {
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(`${run.pipelineName} ${run.date}: ${run.status} in ${((Date.now() - started) / 1000).toFixed(1)} s — ${run.processedFiles} of ${run.totalFiles} files, ${run.totalRows} rows (run ${run.id})`);
      for (const job of run.fileJobs.filter((j) => j.status === 'failed')) console.log(`  FAILED ${job.fileName}${job.storeCode ? ` (store ${job.storeCode})` : ''} after ${job.retryCount} attempts: ${job.error}`);
      for (const output of run.outputs) console.log(`  wrote ${output.path} (${output.rows} rows)`);
      if (run.outputsStatus && run.outputsStatus !== 'written') console.log(`  Outputs ${run.outputsStatus}: ${run.outputsMessage}`);
      if (run.failedFiles > 0) console.log(`Fix the files above, then: npm run pipeline -- retry --pipeline=${run.pipelineName}`);
      return run.failedFiles === 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let ok = true;
try {
  if (command === 'watch') {
    const interval = Number(values['poll-interval'] ?? config.PIPELINE_POLL_SECONDS);
    if (!Number.isFinite(interval) || interval < 1) throw new Error('--poll-interval must be a number of seconds (1 or more).');
    jobs = await startJobs(db, config, log, { work: false, definitions: pipelineQueueDefinitions(config) });
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    console.log(`Watching the enabled pipeline sources every ${interval} s (Ctrl-C stops).`);
    while (!stop.signal.aborted) {
      const sources = await db.pool.query<{ id: string; name: string }>(`SELECT id, name FROM pipeline_sources WHERE enabled ORDER BY name`);
      for (const source of sources.rows) {
        try {
          const result = await pollSource(ctx, jobs, source.id, { dataDir: config.PIPELINE_DATA_DIR, signal: stop.signal });
          console.log(`${new Date().toISOString()} ${source.name}: ${result.listed} files, ${result.taken} new or changed, ${result.queued.length} queued, ${result.unrouted} unrouted`);
        } catch (error) {
          console.error(`${new Date().toISOString()} ${source.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, interval * 1000);
        stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
      });
    }
  } else {
    const pipelineName = z.string({ error: '--pipeline is required' }).min(1).parse(values.pipeline);
    const date = command === 'process' ? day.parse(values.date) : null;
    const inputDir = command === 'process' ? z.string({ error: '--input-dir is required' }).min(1).parse(values['input-dir']) : null;
    const businessId = await businessOf(values.business);
    // The pipelines' workers in this process (not the watcher's schedule).
    jobs = await startJobs(db, config, log, { work: true, definitions: pipelineQueueDefinitions(config).filter((d) => d.name !== PIPELINE_WATCH_QUEUE) });
    if (date && inputDir) {
      const started = await startFolderRun(ctx, jobs, { pipelineName, businessId, date, inputDir, trigger: 'cli' });
      console.log(`Run ${started.run.id}: ${started.jobs.length} files queued${started.skipped.length ? `, ${started.skipped.length} skipped (${started.skipped.map((s) => s.name).join(', ')})` : ''}.`);
      ok = await follow(ctx, started.run.id);
    } else {
      const retried = await retryFailedFiles(ctx, jobs, { pipelineName, businessId });
      console.log(`Run ${retried.run.id} (${retried.run.date}): retrying ${retried.requeued.map((j) => j.fileName).join(', ')}.`);
      ok = await follow(ctx, retried.run.id);
    }
  }
} catch (error) {
  console.error(error instanceof z.ZodError ? `${error.issues.map((i) => i.message).join('; ')}\n${usage}` : `Failed: ${error instanceof Error ? error.message : String(error)}`);
  ok = false;
} finally {
  await jobs?.stop();
  await closeDb(db);
  await server.stop();
}
process.exit(ok ? 0 : 1);
