import type pg from 'pg';
import type { Context } from '../context.js';

/**
 * A file pipeline: which files it takes, how it reads and transforms them, and the day snapshot tables its
 * rows go to. Everything else (sources, the watcher, routing, runs and file jobs, queues and retries, the
 * streaming aggregator and the atomic day swap, monitoring, CLI, admin) is the machinery in core/pipelines,
 * shared by every pipeline.
 *
 * Adding a pipeline is one folder and one line:
 *
 * ```ts
 * // core/pipelines/shelf_labels/index.ts
 * export const shelfLabels: Pipeline<LabelRow> = {
 *   name: 'shelf_labels',
 *   title: 'Shelf labels',
 *   matcher: { filename: /^labels_.*\.xlsx$/i, headers: ['Store Code', 'SKU', 'Label'] },
 *   storeOf: (peek) => peek.firstRow?.['storecode'] ?? null,
 *   read: (file) => readWorkbookRows(file.path),           // streams the first sheet's rows
 *   async *transform(rows, run) { for await (const row of rows) yield { output: 'shelf_label_snapshots', values: toLabel(row, run) }; },
 *   outputs: [{ name: 'shelf_label_snapshots', table: 'shelf_label_snapshots', columns: ['store_code', 'sku', 'label'] }],
 *   queue: { concurrency: 2 },                              // optional; defaults below
 * };
 * // core/pipelines/registry.ts: add `shelfLabels,` to `registeredPipelines`.
 * ```
 * and a migration creating `shelf_label_snapshots` with the columns of {@link SNAPSHOT_KEY_COLUMNS} plus its own.
 */
export interface Pipeline<Raw = Record<string, unknown>, State = unknown> {
  /** Stable identifier (`stock_health`): the queue is `pipeline.<name>`, runs and jobs carry it. */
  readonly name: string;
  /** What people read in the admin. */
  readonly title: string;
  /** Which files the pipeline claims; a file no pipeline claims is listed as unrouted. */
  readonly matcher: FileMatcher;
  /** The store a file belongs to, from its name and first rows (the file job records it for per-store tracking). */
  storeOf?(peek: FilePeek): string | null;
  /** The business day a file is for, when its name or rows say it; else the run's day (the watcher: today in the business's zone). */
  dateOf?(peek: FilePeek): string | null;
  /** Once per file job, before reading: reference data the transform needs (a supplier master, open POs). */
  prepare?(run: PipelineFileRun): Promise<State>;
  /**
   * Streams the file's rows. Throw `AppError('validation_failed', …)` for a bad file (not a workbook, missing
   * columns…): the message is what the file job shows, so say what is wrong, where, and what to do.
   */
  read(file: PipelineInputFile, run: PipelineFileRun): AsyncIterable<Raw>;
  /** Turns read rows into output rows; may throw like `read`. */
  transform(rows: AsyncIterable<Raw>, run: PipelineFileRun, state: State): AsyncIterable<OutputRow>;
  /** The day snapshot tables this pipeline fills, swapped one day at a time in one transaction by the aggregator. */
  readonly outputs: readonly SnapshotOutput[];
  /**
   * The day's output files, written from the day's snapshot once a run of the day completes (with or without
   * errors) and still owns the snapshot: the complete, m2 and emergency CSVs of stock health. `client` is in a
   * read-only REPEATABLE READ transaction, so every file shows the same state of the day. Write each file
   * beside its target and rename it over the target only once all are written (a reader never sees half a
   * file). Returns what was written; `core/pipelines/outputs.ts` records it on the run.
   */
  exportDay?(client: pg.ClientBase, day: { businessId: string; businessDate: string; runId: string; outputDir: string }): Promise<DayOutputFile[]>;
  /** Queue settings; each defaults to {@link defaultQueueSettings}, the retry delay to PIPELINE_RETRY_DELAY_SECONDS. */
  readonly queue?: Partial<PipelineQueueSettings>;
  /** Flush thresholds of the streaming aggregator; each defaults to the configuration (PIPELINE_FLUSH_*). */
  readonly aggregation?: Partial<AggregationSettings>;
}

/**
 * How a file is routed. Given both, both must match; a file whose headers cannot be read is claimed by its
 * filename alone (the file job then fails with the reading problem rather than the file going unrouted). Header names are compared ignoring case, spaces and
 * underscores (`Store Code` = `store_code` = `STORECODE`); the file's first row must contain them all
 * (extra columns are fine).
 */
export interface FileMatcher {
  filename?: RegExp;
  headers?: readonly string[];
}

/** What routing reads from a file before it is queued: its name, first row (headers) and first data row. */
export interface FilePeek {
  fileName: string;
  /** Header cells as written, in order; empty when the file could not be read as a table. */
  headers: string[];
  /** The first data row keyed by normalised header (`storecode`), or null when there is none. */
  firstRow: Record<string, string> | null;
  /** Why the file could not be read as a table (not a workbook…); its headers are then empty. */
  problem?: string;
}

/** A day output file a pipeline wrote. */
export interface DayOutputFile {
  /** What the file is (`complete`, `m2`, `emergency`). */
  name: string;
  path: string;
  /** Data rows, the header not counted. */
  rows: number;
}

/** A file job's file, downloaded to local disk. */
export interface PipelineInputFile {
  /** Local path to read from. */
  path: string;
  /** The name as the source lists it. */
  name: string;
  size: number;
}

/** The run a file is processed in, given to every step of a pipeline. */
export interface PipelineFileRun {
  /** A system context for the business; core functions that need one take it. */
  ctx: Context;
  businessId: string;
  /** The business day, `YYYY-MM-DD`. */
  businessDate: string;
  runId: string;
  fileJobId: string;
  /** The store code the file job was routed with, if any. */
  storeCode: string | null;
  signal: AbortSignal;
}

/** One row for one of the pipeline's outputs, keyed by column name (the key columns are added by the aggregator). */
export interface OutputRow {
  output: string;
  values: Record<string, unknown>;
}

/**
 * A day snapshot table. Besides its own `columns` it has the {@link SNAPSHOT_KEY_COLUMNS}, which the
 * aggregator fills; a day is (business_id, business_date), and at any time it holds the rows of one run.
 * Values are written with COPY as text: numbers, strings, booleans, Dates (ISO), null.
 */
export interface SnapshotOutput {
  /** The name `OutputRow.output` uses. */
  name: string;
  /** The table (may be schema-qualified). */
  table: string;
  columns: readonly string[];
}

/** Columns every snapshot table has, filled by the aggregator. */
export const SNAPSHOT_KEY_COLUMNS = ['business_id', 'business_date', 'pipeline_run_id', 'file_job_id'] as const;

export interface PipelineQueueSettings {
  /** File jobs one worker process runs at once. */
  concurrency: number;
  /** Tries per file job, the first included, before it is `failed` with its error kept. */
  attempts: number;
  /** Seconds before the first retry; doubled on each later one (default: PIPELINE_RETRY_DELAY_SECONDS, 30). */
  retryDelaySeconds: number;
  /** Seconds a file job may run before pg-boss gives up on the attempt. */
  timeoutSeconds: number;
}

export const defaultQueueSettings: Omit<PipelineQueueSettings, 'retryDelaySeconds'> = { concurrency: 2, attempts: 3, timeoutSeconds: 1800 };

export interface AggregationSettings {
  /** Flush once this many files are buffered for a pipeline and day. */
  maxFiles: number;
  /** Flush once the buffered rows take this many bytes as CSV. */
  maxBytes: number;
  /** Flush at most this long after the first buffered file. */
  maxWaitMs: number;
}

/** Header names compared ignoring case, spaces and underscores. */
export function normaliseHeader(header: string): string {
  return header.normalize('NFKC').toLowerCase().replace(/[\s_]+/g, '');
}
