import fs from 'node:fs';
import { systemContext, type Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { StreamingAggregator } from './aggregator.js';
import { failFileJobAttempt, runColumns, settleRun, startFileJob, type FileJobRow, type PipelineRunRow, type RunSettlement } from './lifecycle.js';
import type { OutputRow, PipelineFileRun } from './pipeline.js';
import { getPipeline } from './registry.js';

/** A pg-boss attempt at a file job. */
export interface FileJobAttempt {
  fileJobId: string;
  /** pg-boss's retry count: 0 on the first attempt. */
  retryCount: number;
  retryLimit: number;
}

export type AfterSettle = (client: import('pg').PoolClient, settlement: RunSettlement) => Promise<void>;

/** What a person reads on the file job: the message of our errors, the plain message of others. */
export function fileJobError(error: unknown): string {
  if (error instanceof AppError) return error.message;
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
  return String(error);
}

/**
 * Processes one file job: reads and transforms the file with its pipeline, hands the rows to the aggregator
 * and returns once they are in the day's snapshot (the job then completed). A failure is recorded on the job
 * (queued again while pg-boss retries, failed on the last attempt, the run settled) and thrown on, so that
 * pg-boss retries it with backoff. A job no longer queued or processing is skipped.
 */
export async function processFileJob(ctx: Context, aggregator: StreamingAggregator, attempt: FileJobAttempt, afterSettle?: AfterSettle, signal: AbortSignal = new AbortController().signal): Promise<{ status: 'completed' | 'skipped'; rows: number }> {
  const started = Date.now();
  const claimed = await withTransaction(ctx.db.pool, async (client) => {
    const job = await startFileJob(client, attempt.fileJobId, attempt.retryCount + 1);
    if (!job) return null;
    const run = (await client.query<PipelineRunRow>(`SELECT ${runColumns} FROM pipeline_runs WHERE id = $1`, [job.pipelineRunId])).rows[0]!;
    return { job, run };
  });
  if (!claimed) return { status: 'skipped', rows: 0 };
  const { job, run } = claimed;
  const pipeline = getPipeline(job.pipelineName);
  // Counted as working on the pipeline until its rows land: the aggregator flushes early when every worker waits on it.
  const release = aggregator.track(pipeline.name);
  try {
    const rows = await readFileJob(ctx, job, run, signal);
    await aggregator.add(pipeline, { businessId: run.businessId, businessDate: run.date, runId: run.id }, { fileJobId: job.id, rows, startedAt: started });
    return { status: 'completed', rows: rows.length };
  } catch (error) {
    release();
    const final = attempt.retryCount >= attempt.retryLimit;
    const message = fileJobError(error);
    ctx.log.warn({ fileJob: job.id, file: job.fileName, attempt: attempt.retryCount + 1, final, error: message }, 'pipeline file job failed');
    await recordFailedAttempt(ctx, job.id, message, final, afterSettle);
    throw error instanceof AppError ? error : new AppError('validation_failed', message);
  } finally {
    release();
  }
}

async function readFileJob(ctx: Context, job: FileJobRow, run: PipelineRunRow, signal: AbortSignal): Promise<OutputRow[]> {
  const pipeline = getPipeline(job.pipelineName);
  const stat = await fs.promises.stat(job.filePath).catch(() => null);
  if (!stat?.isFile()) throw new AppError('not_found', `The file ${job.fileName} is no longer at ${job.filePath}; put it back (or send it again) and retry.`);
  const fileRun: PipelineFileRun = {
    ctx: systemContext(`pipeline:${pipeline.name}`, ctx.db, ctx.log.child({ fileJob: job.id })),
    businessId: run.businessId,
    businessDate: run.date,
    runId: run.id,
    fileJobId: job.id,
    storeCode: job.storeCode,
    signal,
  };
  const state = pipeline.prepare ? await pipeline.prepare(fileRun) : undefined;
  const rows: OutputRow[] = [];
  for await (const row of pipeline.transform(pipeline.read({ path: job.filePath, name: job.fileName, size: stat.size }, fileRun), fileRun, state)) {
    rows.push(row);
  }
  return rows;
}

/** Records a failed attempt (queued again, or failed for good with the run settled). */
export async function recordFailedAttempt(ctx: Context, fileJobId: string, message: string, final: boolean, afterSettle?: AfterSettle): Promise<void> {
  await withTransaction(ctx.db.pool, async (client) => {
    const status = await failFileJobAttempt(client, fileJobId, message, final);
    if (status !== 'failed') return;
    const runId = (await client.query<{ id: string }>(`SELECT pipeline_run_id AS id FROM pipeline_file_jobs WHERE id = $1`, [fileJobId])).rows[0]!.id;
    const settlement = await settleRun(client, runId);
    await afterSettle?.(client, settlement);
  });
}
