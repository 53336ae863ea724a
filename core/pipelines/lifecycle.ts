import type pg from 'pg';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import { pipelineQueueName } from './registry.js';

/**
 * The one owner of pipeline runs' and file jobs' statuses. Every caller (watcher, worker, aggregator, retry,
 * CLI, admin) moves them through these functions, in the caller's transaction; a transition that implies
 * work sends its pg-boss job with the same connection.
 *
 * File job: queued → processing → completed | failed; processing → queued (an attempt failed, pg-boss retries
 * it); failed → queued (retry); completed → queued (the file changed at its source).
 * Run: pending → processing → completed | completed_with_errors | failed, decided by its file jobs once none
 * is queued or processing; a final run goes back to processing when a job of it is queued again.
 */
export const runStatuses = ['pending', 'processing', 'completed', 'completed_with_errors', 'failed'] as const;
export type RunStatus = (typeof runStatuses)[number];
export const fileJobStatuses = ['queued', 'processing', 'completed', 'failed'] as const;
export type FileJobStatus = (typeof fileJobStatuses)[number];
export const finalRunStatuses: readonly RunStatus[] = ['completed', 'completed_with_errors', 'failed'];
export type RunTrigger = 'watcher' | 'cli' | 'admin';

export interface PipelineRunRow {
  id: string;
  businessId: string;
  pipelineName: string;
  /** `YYYY-MM-DD` */
  date: string;
  status: RunStatus;
  trigger: RunTrigger;
  sourceId: string | null;
  totalFiles: number;
  processedFiles: number;
  failedFiles: number;
  totalRows: number;
  createdBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  /** The day outputs of a final run (core/pipelines/outputs.ts): null while there are none to write. */
  outputsStatus: 'pending' | 'written' | 'superseded' | 'skipped' | 'failed' | null;
  /** Why the outputs were skipped, superseded or failed. */
  outputsMessage: string | null;
}

export interface FileJobRow {
  id: string;
  pipelineRunId: string;
  businessId: string;
  pipelineName: string;
  filePath: string;
  fileName: string;
  fileSize: number | null;
  sourceFileId: string | null;
  storeId: string | null;
  storeCode: string | null;
  status: FileJobStatus;
  retryCount: number;
  rowsProcessed: number | null;
  error: string | null;
  queuedAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  durationMs: number | null;
}

export const runColumns = `id, business_id AS "businessId", pipeline_name AS "pipelineName", to_char(date, 'YYYY-MM-DD') AS date, status, trigger,
  source_id AS "sourceId", total_files AS "totalFiles", processed_files AS "processedFiles", failed_files AS "failedFiles", total_rows::float8 AS "totalRows",
  created_by AS "createdBy", created_at AS "createdAt", started_at AS "startedAt", completed_at AS "completedAt",
  outputs_status AS "outputsStatus", outputs_message AS "outputsMessage"`;
export const fileJobColumns = `id, pipeline_run_id AS "pipelineRunId", business_id AS "businessId", pipeline_name AS "pipelineName", file_path AS "filePath",
  file_name AS "fileName", file_size::float8 AS "fileSize", source_file_id AS "sourceFileId", store_id AS "storeId", store_code AS "storeCode", status,
  retry_count AS "retryCount", rows_processed::float8 AS "rowsProcessed", error, queued_at AS "queuedAt", started_at AS "startedAt",
  completed_at AS "completedAt", duration_ms AS "durationMs"`;

/** A pipeline's pg-boss job: which file job to process. */
export interface FileJobMessage {
  fileJobId: string;
}

export type JobSender = Pick<JobQueue, 'send'>;

export async function createRun(client: pg.ClientBase, input: { businessId: string; pipelineName: string; date: string; trigger: RunTrigger; sourceId?: string | null; createdBy?: string | null }): Promise<PipelineRunRow> {
  const result = await client.query<PipelineRunRow>(
    `INSERT INTO pipeline_runs (business_id, pipeline_name, date, trigger, source_id, created_by) VALUES ($1, $2, $3::date, $4, $5, $6) RETURNING ${runColumns}`,
    [input.businessId, input.pipelineName, input.date, input.trigger, input.sourceId ?? null, input.createdBy ?? null],
  );
  return result.rows[0]!;
}

/** The latest run of a pipeline for a business day (the one the watcher adds that day's files to), or null. */
export async function latestRunOfDay(client: pg.ClientBase, businessId: string, pipelineName: string, date: string): Promise<PipelineRunRow | null> {
  const result = await client.query<PipelineRunRow>(
    `SELECT ${runColumns} FROM pipeline_runs WHERE business_id = $1 AND pipeline_name = $2 AND date = $3::date ORDER BY created_at DESC, id DESC LIMIT 1`,
    [businessId, pipelineName, date],
  );
  return result.rows[0] ?? null;
}

export interface NewFileJob {
  filePath: string;
  fileName: string;
  fileSize: number | null;
  sourceFileId?: string | null;
  storeCode: string | null;
}

/**
 * Adds files to a run and queues one pg-boss job per file, in the caller's transaction. A file already in
 * the run is queued again when it is completed or failed (it changed at its source); one still queued or
 * processing is left as it is. The run goes to `processing`. Returns the file jobs queued.
 */
export async function queueFileJobs(client: pg.ClientBase, queue: JobSender, run: PipelineRunRow, files: readonly NewFileJob[]): Promise<FileJobRow[]> {
  if (files.length === 0) return [];
  const result = await client.query<FileJobRow>(
    `INSERT INTO pipeline_file_jobs AS j (pipeline_run_id, business_id, pipeline_name, file_path, file_name, file_size, source_file_id, store_code, store_id)
     SELECT $1, $2, $3, f.file_path, f.file_name, f.file_size, f.source_file_id, f.store_code,
            (SELECT s.id FROM shops s WHERE s.business_id = $2 AND lower(s.code) = lower(f.store_code) ORDER BY s.created_at LIMIT 1)
       FROM unnest($4::text[], $5::text[], $6::bigint[], $7::uuid[], $8::text[]) AS f(file_path, file_name, file_size, source_file_id, store_code)
     ON CONFLICT (pipeline_run_id, file_path) DO UPDATE
       SET status = 'queued', retry_count = 0, error = NULL, rows_processed = NULL, started_at = NULL, completed_at = NULL, duration_ms = NULL, queued_at = now(),
           file_name = EXCLUDED.file_name, file_size = EXCLUDED.file_size, source_file_id = EXCLUDED.source_file_id, store_code = EXCLUDED.store_code, store_id = EXCLUDED.store_id
       WHERE j.status IN ('completed', 'failed')
     RETURNING ${fileJobColumns}`,
    [run.id, run.businessId, run.pipelineName, files.map((f) => f.filePath), files.map((f) => f.fileName), files.map((f) => f.fileSize), files.map((f) => f.sourceFileId ?? null), files.map((f) => f.storeCode)],
  );
  for (const job of result.rows) await queue.send(pipelineQueueName(run.pipelineName), { fileJobId: job.id } satisfies FileJobMessage, { transaction: client });
  if (result.rows.length > 0) await reopenRun(client, run.id);
  return result.rows;
}

/** The run goes (back) to processing, its counts from its jobs. */
async function reopenRun(client: pg.ClientBase, runId: string): Promise<void> {
  await client.query(
    `UPDATE pipeline_runs r SET status = 'processing', started_at = coalesce(r.started_at, now()), completed_at = NULL,
       total_files = c.total, processed_files = c.completed, failed_files = c.failed
     FROM (SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*) FILTER (WHERE status = 'failed')::int AS failed
             FROM pipeline_file_jobs WHERE pipeline_run_id = $1) c
     WHERE r.id = $1`,
    [runId],
  );
}

/**
 * An attempt starts: queued (or processing, when a killed worker's attempt is taken up again) → processing.
 * Null when the job is not to be processed (completed or failed meanwhile, or gone).
 */
export async function startFileJob(client: pg.ClientBase, fileJobId: string, attempt: number): Promise<FileJobRow | null> {
  const result = await client.query<FileJobRow>(
    `UPDATE pipeline_file_jobs SET status = 'processing', retry_count = $2, started_at = now() WHERE id = $1 AND status IN ('queued', 'processing') RETURNING ${fileJobColumns}`,
    [fileJobId, attempt],
  );
  return result.rows[0] ?? null;
}

/** Files whose rows are in the day's snapshot: processing → completed. Returns the ids that moved. */
export async function completeFileJobs(client: pg.ClientBase, done: readonly { fileJobId: string; rows: number; durationMs: number }[]): Promise<string[]> {
  if (done.length === 0) return [];
  const result = await client.query<{ id: string }>(
    `UPDATE pipeline_file_jobs j SET status = 'completed', rows_processed = d.rows, duration_ms = d.duration_ms, completed_at = now(), error = NULL
     FROM unnest($1::uuid[], $2::bigint[], $3::int[]) AS d(id, rows, duration_ms)
     WHERE j.id = d.id AND j.status = 'processing' RETURNING j.id`,
    [done.map((d) => d.fileJobId), done.map((d) => d.rows), done.map((d) => Math.round(d.durationMs))],
  );
  return result.rows.map((row) => row.id);
}

/**
 * An attempt failed, its error kept: back to queued while pg-boss will retry it, else failed.
 * Returns the job's new status, or null when it was not processing (nothing to record).
 */
export async function failFileJobAttempt(client: pg.ClientBase, fileJobId: string, error: string, final: boolean): Promise<FileJobStatus | null> {
  const result = await client.query<{ status: FileJobStatus }>(
    `UPDATE pipeline_file_jobs SET status = $3, error = $2, completed_at = CASE WHEN $3 = 'failed' THEN now() END,
       duration_ms = CASE WHEN $3 = 'failed' THEN (extract(epoch FROM now() - coalesce(started_at, now())) * 1000)::int END
     WHERE id = $1 AND status IN ('queued', 'processing') RETURNING status`,
    [fileJobId, error.slice(0, 4000), final ? 'failed' : 'queued'],
  );
  return result.rows[0]?.status ?? null;
}

/** Failed file jobs of a run → queued, one pg-boss job each, in the caller's transaction. Returns them. */
export async function requeueFailedFileJobs(client: pg.ClientBase, queue: JobSender, runId: string): Promise<FileJobRow[]> {
  const run = await lockRun(client, runId);
  const result = await client.query<FileJobRow>(
    `UPDATE pipeline_file_jobs SET status = 'queued', retry_count = 0, queued_at = now(), started_at = NULL, completed_at = NULL, duration_ms = NULL
     WHERE pipeline_run_id = $1 AND status = 'failed' RETURNING ${fileJobColumns}`,
    [runId],
  );
  for (const job of result.rows) await queue.send(pipelineQueueName(run.pipelineName), { fileJobId: job.id } satisfies FileJobMessage, { transaction: client });
  if (result.rows.length > 0) await reopenRun(client, runId);
  return result.rows;
}

async function lockRun(client: pg.ClientBase, runId: string): Promise<PipelineRunRow> {
  const result = await client.query<PipelineRunRow>(`SELECT ${runColumns} FROM pipeline_runs WHERE id = $1 FOR UPDATE`, [runId]);
  const run = result.rows[0];
  if (!run) throw new AppError('not_found', `Pipeline run ${runId} was not found.`);
  return run;
}

export interface RunSettlement {
  run: PipelineRunRow;
  /** The status it had before, when this call moved it into a final one; null otherwise. */
  finishedFrom: RunStatus | null;
}

/**
 * Brings a run's counts and status up to date with its file jobs: while any is queued or processing it is
 * processing; then completed (all completed), failed (none completed) or completed_with_errors.
 */
export async function settleRun(client: pg.ClientBase, runId: string): Promise<RunSettlement> {
  const before = await lockRun(client, runId);
  const result = await client.query<PipelineRunRow>(
    `WITH c AS (
       SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'completed')::int AS completed, count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status IN ('queued', 'processing'))::int AS open, coalesce(sum(rows_processed) FILTER (WHERE status = 'completed'), 0) AS rows
         FROM pipeline_file_jobs WHERE pipeline_run_id = $1)
     UPDATE pipeline_runs r SET total_files = c.total, processed_files = c.completed, failed_files = c.failed, total_rows = c.rows,
       status = CASE WHEN c.open > 0 THEN 'processing' WHEN c.total = 0 THEN r.status WHEN c.failed = 0 THEN 'completed' WHEN c.completed = 0 THEN 'failed' ELSE 'completed_with_errors' END,
       completed_at = CASE WHEN c.open > 0 OR c.total = 0 THEN NULL ELSE coalesce(r.completed_at, now()) END
     FROM c WHERE r.id = $1 RETURNING ${runColumns}`,
    [runId],
  );
  const run = result.rows[0]!;
  const finished = finalRunStatuses.includes(run.status) && !finalRunStatuses.includes(before.status);
  return { run, finishedFrom: finished ? before.status : null };
}
