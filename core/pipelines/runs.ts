import fs from 'node:fs';
import type { Context } from '../context.js';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import { writeAudit } from '../auth/audit.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { createRun, fileJobColumns, queueFileJobs, requeueFailedFileJobs, runColumns, type FileJobRow, type JobSender, type PipelineRunRow, type RunStatus } from './lifecycle.js';
import { runOutputsOf, type RunOutput } from './outputs.js';
import { peekFile } from './peek.js';
import { allPipelines, getPipeline, pipelineClaims } from './registry.js';
import { LocalFolderSource } from './sources/local.js';

function assertBusinessInScope(ctx: Context, businessId: string): void {
  if (!scopeIncludes(ctx.scope, businessId)) throw new AppError('not_found', `Business ${businessId} was not found.`);
}

/** Only the person's business, unless they see all. */
function businessFilter(ctx: Context, params: unknown[], column = 'business_id'): string {
  if (ctx.scope.kind === 'all') return 'TRUE';
  params.push(ctx.scope.businessId);
  return `${column} = $${params.length}`;
}

export interface FolderRunResult {
  run: PipelineRunRow;
  jobs: FileJobRow[];
  /** Files of the folder the pipeline does not take, with why. */
  skipped: { name: string; reason: string }[];
}

/**
 * A run of one pipeline for one business day over the files of a folder (the CLI's `process`): each file
 * the pipeline claims becomes a file job; the run, its jobs and their pg-boss jobs in one transaction.
 */
export async function startFolderRun(ctx: Context, queue: JobSender, input: { pipelineName: string; businessId: string; date: string; inputDir: string; trigger: 'cli' | 'admin' }): Promise<FolderRunResult> {
  assertCan(ctx.user, 'pipelineRuns', 'new');
  assertBusinessInScope(ctx, input.businessId);
  const pipeline = getPipeline(input.pipelineName);
  const source = new LocalFolderSource(input.inputDir);
  const files: { name: string; path: string; size: number | null; storeCode: string | null }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for await (const file of source.list()) {
    const filePath = source.pathOf(file);
    const peek = await peekFile(filePath, file.name);
    if (pipelineClaims(pipeline, peek)) files.push({ name: file.name, path: filePath, size: file.size, storeCode: pipeline.storeOf?.(peek) ?? null });
    else skipped.push({ name: file.name, reason: peek.problem ?? `not a ${pipeline.name} file (name or columns do not match)` });
  }
  if (files.length === 0) throw new AppError('validation_failed', `No file in ${input.inputDir} is a ${pipeline.title} file${skipped.length ? ` (${skipped.length} other file${skipped.length === 1 ? '' : 's'} skipped)` : ''}; check the folder and the pipeline name.`, { skipped });
  return withTransaction(ctx.db.pool, async (client) => {
    const run = await createRun(client, { businessId: input.businessId, pipelineName: pipeline.name, date: input.date, trigger: input.trigger, createdBy: ctx.user.kind === 'user' ? ctx.user.id : null });
    const jobs = await queueFileJobs(client, queue, run, files.map((f) => ({ filePath: f.path, fileName: f.name, fileSize: f.size, storeCode: f.storeCode })));
    if (ctx.user.kind === 'user') await writeAudit(ctx, { resource: 'pipelineRuns', recordId: run.id, action: 'run_now', businessId: run.businessId, after: { pipeline: pipeline.name, date: input.date, files: jobs.length } }, client);
    return { run: (await getRunRow(client, run.id))!, jobs, skipped };
  });
}

async function getRunRow(client: { query: Context['db']['pool']['query'] }, id: string): Promise<PipelineRunRow | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const result = await client.query<PipelineRunRow>(`SELECT ${runColumns} FROM pipeline_runs WHERE id = $1`, [id]);
  return result.rows[0] ?? null;
}

/**
 * Reprocesses only the failed file jobs of a run (admins): given a run, that one; given a pipeline, its latest
 * run with failed files. The files are read again from where they are, so a corrected file goes in.
 */
export async function retryFailedFiles(ctx: Context, queue: JobSender, target: { runId: string } | { pipelineName: string; businessId?: string }): Promise<{ run: PipelineRunRow; requeued: FileJobRow[] }> {
  assertCan(ctx.user, 'pipelineRuns', 'retry');
  let runId: string;
  if ('runId' in target) {
    const run = await getRunRow(ctx.db.pool, target.runId);
    if (!run || !scopeIncludes(ctx.scope, run.businessId)) throw new AppError('not_found', `Pipeline run ${target.runId} was not found.`);
    runId = run.id;
  } else {
    getPipeline(target.pipelineName);
    const params: unknown[] = [target.pipelineName];
    const scoped = businessFilter(ctx, params, 'r.business_id');
    if (target.businessId) params.push(target.businessId);
    const found = await ctx.db.pool.query<{ id: string }>(
      `SELECT r.id FROM pipeline_runs r WHERE r.pipeline_name = $1 AND ${scoped} ${target.businessId ? `AND r.business_id = $${params.length}` : ''}
         AND EXISTS (SELECT 1 FROM pipeline_file_jobs j WHERE j.pipeline_run_id = r.id AND j.status = 'failed') ORDER BY r.created_at DESC LIMIT 1`,
      params,
    );
    if (!found.rows[0]) throw new AppError('not_found', `No run of ${target.pipelineName} has failed files to retry.`);
    runId = found.rows[0].id;
  }
  return withTransaction(ctx.db.pool, async (client) => {
    const requeued = await requeueFailedFileJobs(client, queue, runId);
    if (requeued.length === 0) throw new AppError('conflict', `Run ${runId} has no failed files to retry.`);
    const run = (await getRunRow(client, runId))!;
    if (ctx.user.kind === 'user') await writeAudit(ctx, { resource: 'pipelineRuns', recordId: runId, action: 'retry', businessId: run.businessId, after: { files: requeued.map((j) => j.fileName) } }, client);
    return { run, requeued };
  });
}

export interface RunFilter {
  pipelineName?: string;
  status?: RunStatus;
  /** Runs of business days from/to (inclusive), `YYYY-MM-DD`. */
  from?: string;
  to?: string;
  businessId?: string;
}

export async function listRuns(ctx: Context, filter: RunFilter, page: { skip: number; take: number }): Promise<{ rows: PipelineRunRow[]; total: number }> {
  assertCan(ctx.user, 'pipelineRuns', 'list');
  const params: unknown[] = [];
  const where = [businessFilter(ctx, params)];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.pipelineName) add('pipeline_name = ?', filter.pipelineName);
  if (filter.status) add('status = ?', filter.status);
  if (filter.from) add('date >= ?::date', filter.from);
  if (filter.to) add('date <= ?::date', filter.to);
  if (filter.businessId) add('business_id = ?', filter.businessId);
  const sql = where.join(' AND ');
  const [rows, total] = await Promise.all([
    ctx.db.pool.query<PipelineRunRow>(`SELECT ${runColumns} FROM pipeline_runs WHERE ${sql} ORDER BY created_at DESC, id DESC OFFSET ${Math.max(0, page.skip)} LIMIT ${Math.min(500, Math.max(1, page.take))}`, params),
    ctx.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_runs WHERE ${sql}`, params),
  ]);
  return { rows: rows.rows, total: total.rows[0]!.n };
}

/** A run with its file jobs (failed first) and the day outputs it wrote. */
export async function getRun(ctx: Context, id: string): Promise<PipelineRunRow & { fileJobs: FileJobRow[]; outputs: RunOutput[] }> {
  assertCan(ctx.user, 'pipelineRuns', 'show');
  const run = await getRunRow(ctx.db.pool, id);
  if (!run || !scopeIncludes(ctx.scope, run.businessId)) throw new AppError('not_found', `Pipeline run ${id} was not found.`);
  const [jobs, outputs] = await Promise.all([
    ctx.db.pool.query<FileJobRow>(`SELECT ${fileJobColumns} FROM pipeline_file_jobs WHERE pipeline_run_id = $1 ORDER BY status = 'failed' DESC, store_code NULLS LAST, file_name`, [id]),
    runOutputsOf(ctx.db.pool, id),
  ]);
  return { ...run, fileJobs: jobs.rows, outputs };
}

/** One day output file of a run the caller may see, to download: its path on disk, checked to be there. */
export async function runOutputFile(ctx: Context, runId: string, name: string): Promise<RunOutput> {
  const run = await getRun(ctx, runId);
  const output = run.outputs.find((candidate) => candidate.name === name);
  if (!output) throw new AppError('not_found', `Run ${runId} has no output named "${name}"${run.outputs.length ? ` (it has ${run.outputs.map((o) => o.name).join(', ')})` : ''}.`);
  const exists = await fs.promises.stat(output.path).then((stat) => stat.isFile(), () => false);
  if (!exists) throw new AppError('not_found', `${output.fileName} is no longer at ${output.path}; it is written again when a run of the day completes.`);
  return output;
}

export interface PipelineMetrics {
  name: string;
  title: string;
  filesProcessed: number;
  rowsProcessed: number;
  errorCount: number;
  averageLatencyMs: number | null;
  lastProcessedAt: Date | null;
  /** Runs of today's business day (UTC date unless a business is given), newest first. */
  todayRuns: PipelineRunRow[];
}

/** Per pipeline: files and rows processed, failed files, average latency of a file, when one last completed, today's runs. */
export async function pipelineMetrics(ctx: Context, today: string): Promise<PipelineMetrics[]> {
  assertCan(ctx.user, 'pipelineRuns', 'list');
  const params: unknown[] = [];
  const scoped = businessFilter(ctx, params);
  const stats = await ctx.db.pool.query<{ name: string; files: number; rows: number; errors: number; latency: number | null; last: Date | null }>(
    `SELECT pipeline_name AS name, count(*) FILTER (WHERE status = 'completed')::int AS files, coalesce(sum(rows_processed) FILTER (WHERE status = 'completed'), 0)::float8 AS rows,
            count(*) FILTER (WHERE status = 'failed')::int AS errors, avg(duration_ms) FILTER (WHERE status = 'completed')::float8 AS latency,
            max(completed_at) FILTER (WHERE status = 'completed') AS last
       FROM pipeline_file_jobs WHERE ${scoped} GROUP BY pipeline_name`,
    params,
  );
  params.push(today);
  const runs = await ctx.db.pool.query<PipelineRunRow>(`SELECT ${runColumns} FROM pipeline_runs WHERE ${scoped} AND date = $${params.length}::date ORDER BY created_at DESC`, params);
  const byName = new Map(stats.rows.map((row) => [row.name, row]));
  const names = [...new Set([...allPipelines().map((p) => p.name), ...byName.keys()])];
  return names.map((name) => {
    const row = byName.get(name);
    const registered = allPipelines().find((p) => p.name === name);
    return {
      name,
      title: registered?.title ?? name,
      filesProcessed: row?.files ?? 0,
      rowsProcessed: row?.rows ?? 0,
      errorCount: row?.errors ?? 0,
      averageLatencyMs: row?.latency === null || row?.latency === undefined ? null : Math.round(row.latency),
      lastProcessedAt: row?.last ?? null,
      todayRuns: runs.rows.filter((run) => run.pipelineName === name),
    };
  });
}

export interface StoreTracking {
  storeId: string;
  storeName: string;
  storeCode: string | null;
  /** The day's latest file job of the store, if it sent one. */
  status: FileJobRow['status'] | 'not_sent';
  fileName: string | null;
  rows: number | null;
  error: string | null;
  receivedAt: Date | null;
}

/** The business's shops against the day's file jobs of a pipeline: who has sent the day's file, and who has not. */
export async function storeTracking(ctx: Context, input: { businessId: string; pipelineName: string; date: string }): Promise<StoreTracking[]> {
  assertCan(ctx.user, 'pipelineRuns', 'list');
  assertBusinessInScope(ctx, input.businessId);
  const result = await ctx.db.pool.query<StoreTracking>(
    `SELECT s.id AS "storeId", s.name AS "storeName", s.code AS "storeCode", coalesce(j.status, 'not_sent') AS status, j.file_name AS "fileName",
            j.rows_processed::float8 AS rows, j.error, j.queued_at AS "receivedAt"
       FROM shops s
       LEFT JOIN LATERAL (
         SELECT j.* FROM pipeline_file_jobs j JOIN pipeline_runs r ON r.id = j.pipeline_run_id
          WHERE r.business_id = s.business_id AND r.pipeline_name = $2 AND r.date = $3::date AND (j.store_id = s.id OR (j.store_id IS NULL AND lower(j.store_code) = lower(s.code)))
          ORDER BY j.queued_at DESC LIMIT 1) j ON true
      WHERE s.business_id = $1
      ORDER BY (j.status IS NULL) DESC, s.code NULLS LAST, s.name`,
    [input.businessId, input.pipelineName, input.date],
  );
  return result.rows;
}

/** Failed file jobs, newest first, with their run's pipeline and day: what the Retry screen lists. */
export async function listFailedFileJobs(ctx: Context, input: { businessId?: string; limit?: number }): Promise<(FileJobRow & { date: string })[]> {
  assertCan(ctx.user, 'pipelineRuns', 'list');
  const params: unknown[] = [];
  const where = [businessFilter(ctx, params), `status = 'failed'`];
  if (input.businessId) {
    params.push(input.businessId);
    where.push(`business_id = $${params.length}`);
  }
  const result = await ctx.db.pool.query<FileJobRow & { date: string }>(
    `SELECT j.*, to_char(r.date, 'YYYY-MM-DD') AS date
       FROM (SELECT ${fileJobColumns} FROM pipeline_file_jobs WHERE ${where.join(' AND ')}) j JOIN pipeline_runs r ON r.id = j."pipelineRunId"
      ORDER BY j."completedAt" DESC NULLS LAST LIMIT ${Math.min(500, input.limit ?? 100)}`,
    params,
  );
  return result.rows;
}
