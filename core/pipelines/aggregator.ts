import fs from 'node:fs';
import path from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withTransaction, type Db } from '../db/index.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { completeFileJobs, latestRunOfDay, settleRun, type RunSettlement } from './lifecycle.js';
import { SNAPSHOT_KEY_COLUMNS, type AggregationSettings, type OutputRow, type Pipeline, type SnapshotOutput } from './pipeline.js';

/** A pipeline's business day as one run fills it. */
export interface AggregateDay {
  businessId: string;
  /** `YYYY-MM-DD` */
  businessDate: string;
  runId: string;
}

/** One processed file handed to the aggregator. */
export interface ProcessedFile {
  fileJobId: string;
  rows: readonly OutputRow[];
  /** When the file job's attempt started (its latency runs to the flush that lands it). */
  startedAt: number;
}

export type FlushReason = 'files' | 'bytes' | 'time' | 'idle' | 'shutdown';

export interface FlushOutcome {
  reason: FlushReason;
  files: number;
  rows: number;
  /** The intermediate CSVs written by the flush, one per output that had rows. */
  csvFiles: string[];
  /** False when a newer run of the same day owns the snapshot: the rows were not written. */
  wroteSnapshot: boolean;
}

interface BufferedFile {
  fileJobId: string;
  rows: number;
  startedAt: number;
  resolve(outcome: FlushOutcome): void;
  reject(error: unknown): void;
}

interface DayBuffer {
  pipeline: Pipeline<any, any>;
  day: AggregateDay;
  files: BufferedFile[];
  /** CSV lines per output name (key columns first), ready to write. */
  lines: Map<string, string[]>;
  bytes: number;
  timer: NodeJS.Timeout | null;
}

export interface AggregatorOptions {
  db: Db;
  log: Logger;
  /** Intermediate CSVs go to `<dataDir>/intermediate/<pipeline>/<YYYYMMDD>/`. */
  dataDir: string;
  settingsOf(pipeline: Pipeline<any, any>): AggregationSettings;
  /** Called in a flush's transaction for each run it settled (notifications of a finished run). */
  afterSettle?(client: pg.PoolClient, settlement: RunSettlement): Promise<void>;
}

/** A CSV field: empty for null (COPY reads it as NULL), quoted where needed; an empty text is `""`. */
function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text === '' || /[",\r\n]/.test(text) || text.trim() !== text ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The streaming aggregator: processed files are buffered per pipeline and business day, and flushed together
 * when `maxFiles` are buffered, their rows reach `maxBytes` as CSV, `maxWaitMs` passed since the first one,
 * or every worker of the pipeline in this process is waiting on the buffer (nothing more can come).
 *
 * A flush writes one intermediate CSV per output and, in ONE transaction, replaces the day's rows: it deletes
 * the day's rows of any other run and of the flushed file jobs (a retried file), copies the CSVs in, marks the
 * file jobs completed and settles the run. Readers see the day before or after a flush, never between; a day
 * holds the rows of one run only. A file job completes only with that transaction, so a worker that dies with
 * files in its buffer leaves them to be processed again by pg-boss's retry.
 */
export class StreamingAggregator {
  private readonly buffers = new Map<string, DayBuffer>();
  private readonly working = new Map<string, number>();
  private flushSequence = 0;

  constructor(private readonly options: AggregatorOptions) {}

  /** A worker starts on a file of the pipeline; call the returned function when it stops waiting. */
  track(pipelineName: string): () => void {
    this.working.set(pipelineName, (this.working.get(pipelineName) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.working.set(pipelineName, (this.working.get(pipelineName) ?? 1) - 1);
      this.flushIfIdle(pipelineName);
    };
  }

  /** Buffers a processed file's rows; resolves once they are in the day's snapshot (or rejects with the flush's error). */
  add(pipeline: Pipeline<any, any>, day: AggregateDay, file: ProcessedFile): Promise<FlushOutcome> {
    const key = `${pipeline.name}|${day.businessId}|${day.businessDate}|${day.runId}`;
    const lines = new Map<string, string[]>();
    let bytes = 0;
    const outputs = new Map(pipeline.outputs.map((output) => [output.name, output]));
    // The key columns are the same on every line of the file.
    const keyFields = [day.businessId, day.businessDate, day.runId, file.fileJobId].map(csvField).join(',');
    for (const row of file.rows) {
      const output = outputs.get(row.output);
      if (!output) throw new AppError('internal', `Pipeline ${pipeline.name} produced a row for "${row.output}", which is not one of its outputs (${[...outputs.keys()].join(', ')}).`);
      let line = keyFields;
      for (const column of output.columns) line += ',' + csvField(row.values[column]);
      line += '\n';
      bytes += line.length;
      const list = lines.get(output.name) ?? [];
      list.push(line);
      lines.set(output.name, list);
    }
    let buffer = this.buffers.get(key);
    if (!buffer) {
      buffer = { pipeline, day, files: [], lines: new Map(), bytes: 0, timer: null };
      this.buffers.set(key, buffer);
      const settings = this.options.settingsOf(pipeline);
      buffer.timer = setTimeout(() => void this.flush(key, 'time'), settings.maxWaitMs);
    }
    for (const [name, list] of lines) {
      const into = buffer.lines.get(name);
      if (into) for (const line of list) into.push(line);
      else buffer.lines.set(name, list);
    }
    buffer.bytes += bytes;
    const outcome = new Promise<FlushOutcome>((resolve, reject) => buffer.files.push({ fileJobId: file.fileJobId, rows: file.rows.length, startedAt: file.startedAt, resolve, reject }));
    const settings = this.options.settingsOf(pipeline);
    if (buffer.files.length >= settings.maxFiles) void this.flush(key, 'files');
    else if (buffer.bytes >= settings.maxBytes) void this.flush(key, 'bytes');
    else this.flushIfIdle(pipeline.name);
    return outcome;
  }

  /** Flushes every buffer (a worker stopping). */
  async flushAll(): Promise<void> {
    await Promise.allSettled([...this.buffers.keys()].map((key) => this.flush(key, 'shutdown')));
  }

  private flushIfIdle(pipelineName: string): void {
    const working = this.working.get(pipelineName) ?? 0;
    if (working === 0) return;
    const keys = [...this.buffers.entries()].filter(([, buffer]) => buffer.pipeline.name === pipelineName);
    const waiting = keys.reduce((sum, [, buffer]) => sum + buffer.files.length, 0);
    if (waiting > 0 && waiting >= working) for (const [key] of keys) void this.flush(key, 'idle');
  }

  private async flush(key: string, reason: FlushReason): Promise<void> {
    const buffer = this.buffers.get(key);
    if (!buffer) return;
    this.buffers.delete(key);
    if (buffer.timer) clearTimeout(buffer.timer);
    try {
      const outcome = await this.write(buffer, reason);
      for (const file of buffer.files) file.resolve(outcome);
    } catch (error) {
      this.options.log.warn({ err: error, pipeline: buffer.pipeline.name, date: buffer.day.businessDate, files: buffer.files.length }, 'pipeline flush failed');
      for (const file of buffer.files) file.reject(error);
    }
  }

  private async write(buffer: DayBuffer, reason: FlushReason): Promise<FlushOutcome> {
    const { pipeline, day } = buffer;
    const writeStarted = performance.now();
    const folder = path.join(this.options.dataDir, 'intermediate', pipeline.name, day.businessDate.replaceAll('-', ''));
    await fs.promises.mkdir(folder, { recursive: true });
    const stamp = `${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}-${++this.flushSequence}`;
    const csvFiles: { output: SnapshotOutput; file: string }[] = [];
    for (const output of pipeline.outputs) {
      const lines = buffer.lines.get(output.name);
      if (!lines?.length) continue;
      const file = path.join(folder, `${output.name}-${stamp}.csv`);
      const handle = await fs.promises.open(file, 'w');
      try {
        await handle.write([...SNAPSHOT_KEY_COLUMNS, ...output.columns].join(',') + '\n');
        // In pieces, so a large flush is never one string.
        for (let at = 0; at < lines.length; at += 5000) await handle.write(lines.slice(at, at + 5000).join(''));
      } finally {
        await handle.close();
      }
      csvFiles.push({ output, file });
    }
    buffer.lines.clear();
    const fileJobIds = buffer.files.map((file) => file.fileJobId);
    const swapStarted = performance.now();
    const wroteSnapshot = await withTransaction(this.options.db.pool, async (client) => {
      const copyIn = async () => {
        for (const { output, file } of csvFiles) {
          const columns = [...SNAPSHOT_KEY_COLUMNS, ...output.columns].join(', ');
          await streamPipeline(fs.createReadStream(file), client.query(copyFrom(`COPY ${output.table} (${columns}) FROM STDIN WITH (FORMAT csv, HEADER true)`)));
        }
      };
      const dayLock = () => client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`pipeline-day:${pipeline.name}:${day.businessId}:${day.businessDate}`]);
      const ownsDay = async () => (await latestRunOfDay(client, day.businessId, pipeline.name, day.businessDate))?.id === day.runId;
      let owns: boolean;
      if (await this.mustReplaceRows(client, pipeline, day.runId, fileJobIds)) {
        // The run's first flush (other runs' rows leave the day) or a file whose earlier rows are in it: the
        // day's swaps take turns, across processes, for the whole transaction.
        await dayLock();
        // A newer run of the day owns its snapshot: an older run's late files do not go in.
        owns = await ownsDay();
        if (owns) {
          for (const output of pipeline.outputs) {
            await client.query(`DELETE FROM ${output.table} WHERE business_id = $1 AND business_date = $2::date AND pipeline_run_id <> $3`, [day.businessId, day.businessDate, day.runId]);
            await client.query(`DELETE FROM ${output.table} WHERE pipeline_run_id = $1 AND file_job_id = ANY($2::uuid[])`, [day.runId, fileJobIds]);
          }
          await copyIn();
        }
      } else {
        // The run already owns the day and these files have no rows in it: nothing is deleted, so the COPY
        // runs before the day's lock (several processes' flushes copy at once) and is undone if, once the
        // lock is held, the day turns out to belong to a newer run.
        await client.query('SAVEPOINT before_copy');
        await copyIn();
        await dayLock();
        owns = await ownsDay();
        if (!owns) await client.query('ROLLBACK TO SAVEPOINT before_copy');
        else await this.refuseTakenFiles(client, fileJobIds);
      }
      const now = Date.now();
      await completeFileJobs(client, buffer.files.map((file) => ({ fileJobId: file.fileJobId, rows: file.rows, durationMs: now - file.startedAt })));
      const settlement = await settleRun(client, day.runId);
      await this.options.afterSettle?.(client, settlement);
      return owns;
    });
    const rows = buffer.files.reduce((sum, file) => sum + file.rows, 0);
    this.options.log.info({ pipeline: pipeline.name, date: day.businessDate, run: day.runId, reason, files: buffer.files.length, rows, csvMs: Math.round(swapStarted - writeStarted), swapMs: Math.round(performance.now() - swapStarted) }, 'pipeline day flushed');
    return { reason, files: buffer.files.length, rows, csvFiles: csvFiles.map((c) => c.file), wroteSnapshot };
  }

  /**
   * Whether a flush must delete rows before its COPY: on the run's first flush (no file job of it completed
   * yet: the day may hold another run's rows; once one has, the run took the day over, and an older run never
   * writes into it again), or when one of the files already has rows in the day (a file that changed at its
   * source is processed again under the same file job). Read before the day's lock: both only ever turn
   * from true to false meanwhile, except for one file flushed by two processes at once, which
   * {@link refuseTakenFiles} catches under the lock.
   */
  private async mustReplaceRows(client: pg.PoolClient, pipeline: Pipeline<any, any>, runId: string, fileJobIds: string[]): Promise<boolean> {
    const tookOver = await client.query(`SELECT 1 FROM pipeline_file_jobs WHERE pipeline_run_id = $1 AND status = 'completed' LIMIT 1`, [runId]);
    if (tookOver.rowCount === 0) return true;
    for (const output of pipeline.outputs) {
      const earlier = await client.query(`SELECT 1 FROM ${output.table} WHERE pipeline_run_id = $1 AND file_job_id = ANY($2::uuid[]) LIMIT 1`, [runId, fileJobIds]);
      if (earlier.rowCount! > 0) return true;
    }
    return false;
  }

  /**
   * Under the day's lock, after a COPY that deleted nothing: a file job another process completed meanwhile
   * (two attempts of one file at once) would now have its rows twice. The flush fails whole: pg-boss retries
   * its other files, and skips the completed one.
   */
  private async refuseTakenFiles(client: pg.PoolClient, fileJobIds: string[]): Promise<void> {
    const taken = await client.query<{ file_name: string }>(`SELECT file_name FROM pipeline_file_jobs WHERE id = ANY($1::uuid[]) AND status = 'completed'`, [fileJobIds]);
    if (taken.rowCount! > 0) {
      throw new AppError('conflict', `${taken.rows.map((row) => row.file_name).join(', ')} ${taken.rowCount === 1 ? 'was' : 'were'} completed by another worker while this one flushed the same file; the flush is retried.`);
    }
  }
}
