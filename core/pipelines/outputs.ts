import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { sendInTransaction } from '../transactionalJobs.js';
import { latestRunOfDay, runColumns, type PipelineRunRow, type RunSettlement } from './lifecycle.js';
import { announceRunFinished } from './notifications.js';
import { findPipeline } from './registry.js';

/**
 * A run's day outputs (stock health's complete, m2 and emergency CSVs): written by a job once the run is final,
 * after the commit that made it so (the files are read from the committed snapshot), again each time a retry
 * finishes the run. Where: `<PIPELINE_DATA_DIR>/outputs/<business id>/<pipeline>/<YYYYMMDD>/`. What was written
 * is recorded on the run (`pipeline_run_outputs`), listed on the run's page and by `GET /api/pipelines/runs/:id`.
 */
export const PIPELINE_OUTPUTS_QUEUE = 'pipeline.outputs';

export type OutputsStatus = 'pending' | 'written' | 'superseded' | 'skipped' | 'failed';

export interface RunOutput {
  name: string;
  fileName: string;
  path: string;
  rows: number;
  bytes: number;
  writtenAt: Date;
}

/** The folder a run's day outputs go to. */
export function outputFolderOf(dataDir: string, run: Pick<PipelineRunRow, 'businessId' | 'pipelineName' | 'date'>): string {
  return path.join(dataDir, 'outputs', run.businessId, run.pipelineName, run.date.replaceAll('-', ''));
}

/** In the transaction that finished a run: when its pipeline has day outputs, marks them pending and queues their writing. */
export async function queueRunOutputs(client: pg.ClientBase, settlement: RunSettlement): Promise<void> {
  if (!settlement.finishedFrom || !findPipeline(settlement.run.pipelineName)?.exportDay) return;
  await client.query(`UPDATE pipeline_runs SET outputs_status = 'pending', outputs_message = NULL WHERE id = $1`, [settlement.run.id]);
  await sendInTransaction(client, PIPELINE_OUTPUTS_QUEUE, { runId: settlement.run.id });
}

/** Everything a run reaching a final status sets off, in the transaction that ended it: its notification and its day outputs. */
export async function onRunSettled(client: pg.ClientBase, settlement: RunSettlement): Promise<void> {
  await announceRunFinished(client, settlement);
  await queueRunOutputs(client, settlement);
}

/**
 * Writes a final run's day outputs from the day's snapshot and records them. Nothing is written for a run that
 * failed (no file of it is in the snapshot) or that a newer run of the same day has replaced in the snapshot;
 * the run says why. A run that is no longer final (a retry reopened it) is left to the next finish.
 */
export async function writeRunOutputs(ctx: Context, runId: string, dataDir: string): Promise<{ status: OutputsStatus | null; outputs: RunOutput[] }> {
  const run = (await ctx.db.pool.query<PipelineRunRow>(`SELECT ${runColumns} FROM pipeline_runs WHERE id = $1`, [runId])).rows[0];
  if (!run) throw new AppError('not_found', `Pipeline run ${runId} was not found.`);
  const pipeline = findPipeline(run.pipelineName);
  if (!pipeline?.exportDay || !['completed', 'completed_with_errors', 'failed'].includes(run.status)) return { status: null, outputs: [] };
  if (run.status === 'failed') return { status: await markOutputs(ctx, runId, 'skipped', 'The run failed: no file of it is in the day’s snapshot, so there is nothing to write.'), outputs: [] };

  const folder = outputFolderOf(dataDir, run);
  const client = await ctx.db.pool.connect();
  let written: { name: string; path: string; rows: number }[];
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const latest = await latestRunOfDay(client, run.businessId, run.pipelineName, run.date);
    if (latest && latest.id !== run.id) {
      await client.query('COMMIT');
      return { status: await markOutputs(ctx, runId, 'skipped', `Run ${latest.id} of the same day is newer: the day’s snapshot and outputs are its.`), outputs: [] };
    }
    written = await pipeline.exportDay(client, { businessId: run.businessId, businessDate: run.date, runId: run.id, outputDir: folder });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  const outputs = await withTransaction(ctx.db.pool, async (tx) => {
    await tx.query(`DELETE FROM pipeline_run_outputs WHERE pipeline_run_id = $1`, [run.id]);
    for (const [position, file] of written.entries()) {
      const { size } = await fs.promises.stat(file.path);
      await tx.query(`INSERT INTO pipeline_run_outputs (pipeline_run_id, name, position, file_name, path, rows, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [run.id, file.name, position, path.basename(file.path), file.path, file.rows, size]);
    }
    // Earlier runs of the day wrote the same files, now overwritten.
    await tx.query(
      `UPDATE pipeline_runs SET outputs_status = 'superseded', outputs_message = 'Run ' || $1 || ' of the same day wrote these files again.'
        WHERE business_id = $2 AND pipeline_name = $3 AND date = $4::date AND id <> $1 AND outputs_status = 'written'`,
      [run.id, run.businessId, run.pipelineName, run.date],
    );
    await tx.query(`DELETE FROM pipeline_run_outputs o USING pipeline_runs r WHERE r.id = o.pipeline_run_id AND r.outputs_status = 'superseded' AND r.business_id = $1 AND r.pipeline_name = $2 AND r.date = $3::date`, [run.businessId, run.pipelineName, run.date]);
    await tx.query(`UPDATE pipeline_runs SET outputs_status = 'written', outputs_message = NULL WHERE id = $1`, [run.id]);
    return runOutputsOf(tx, run.id);
  });
  ctx.log.info({ run: run.id, pipeline: run.pipelineName, date: run.date, files: outputs.map((o) => o.fileName) }, 'pipeline day outputs written');
  return { status: 'written', outputs };
}

/** The outputs' last attempt failed: the run keeps why. */
export async function recordOutputsFailure(ctx: Context, runId: string, message: string): Promise<void> {
  await markOutputs(ctx, runId, 'failed', `The day’s outputs could not be written: ${message}`);
}

async function markOutputs(ctx: Context, runId: string, status: OutputsStatus, message: string | null): Promise<OutputsStatus> {
  await ctx.db.pool.query(`UPDATE pipeline_runs SET outputs_status = $2, outputs_message = $3 WHERE id = $1`, [runId, status, message]);
  return status;
}

export async function runOutputsOf(client: Pick<pg.ClientBase, 'query'>, runId: string): Promise<RunOutput[]> {
  const result = await client.query<RunOutput>(
    `SELECT name, file_name AS "fileName", path, rows, bytes::float8 AS bytes, written_at AS "writtenAt" FROM pipeline_run_outputs WHERE pipeline_run_id = $1 ORDER BY position`,
    [runId],
  );
  return result.rows;
}
