/**
 * Executing an approved mapping: the whole file of a data source, row by row through the compiled mapping,
 * into its canonical table in batches. Each batch is COPYed into a temporary table and upserted on the
 * table's natural key in one statement, in one transaction with its rejects and the progress, so a worker
 * killed mid-way leaves whole batches behind and its retry converges to the same rows.
 */
import pg from 'pg';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import { writeAudit } from '../auth/audit.js';
import type { Context } from '../context.js';
import { copyValue, CopyIn } from '../db/copy.js';
import { AppError, notFound } from '../errors.js';
import { countingSource } from '../files/file.js';
import { openTable } from '../files/reader.js';
import { withHeaders } from '../files/table.js';
import { findDataSourceUpload } from '../feeds/uploads.js';
import type { JobQueue } from '../queue.js';
import { markSourceChanged, viewsDependingOn, WAREHOUSE_REFRESH_CHANGED_QUEUE } from '../warehouse/views.js';
import { naturalKeys } from './canonical.js';
import { approvedMappingOf, findDataSource } from './sources.js';
import { compileTableMapping, DATE_SAMPLE_ROWS, type RowError, type SourceRow } from './transforms.js';

export const MAPPING_EXECUTE_QUEUE = 'mapping.execute';

/** Rows per batch: one COPY, one upsert, one progress update. */
export const EXECUTE_BATCH_ROWS = 5000;
/** Rejected rows whose reasons are kept per execution; further rejected rows are only counted. */
export const MAX_REJECTED_ROWS_KEPT = 10_000;
const MAX_REJECT_VALUE_LENGTH = 1000;
/** Rejects an execution's status shows; the CSV has them all. */
const FIRST_REJECTS = 20;

export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertUuid(id: string, what: string): void {
  if (!uuidPattern.test(id)) throw notFound(what);
}

// ─── Requesting ──────────────────────────────────────────────────────────────────────────────────────────

export interface ExecutionRequest {
  execution_id: string;
  job_id: string | null;
  status: ExecutionStatus;
}

/**
 * Queues a load of a data source's file with the approved mapping of its layout. Refused when the layout
 * has no approved mapping (409), when the source is already being loaded (409), or when its file is gone (410).
 */
export async function requestExecution(ctx: Context, queue: Pick<JobQueue, 'send'>, input: { dataSourceId: string }): Promise<ExecutionRequest> {
  assertCan(ctx.user, 'mappingExecutions', 'new');
  const source = await findDataSource(ctx, input.dataSourceId);
  if (!source.uploadToken) throw new AppError('gone', `The file of data source “${source.name}” is no longer stored. Upload the file again as a new data source.`);
  const approved = await approvedMappingOf(ctx, source.businessId, source.fingerprint);
  if (!approved) {
    throw new AppError('conflict', `Data source “${source.name}” cannot be executed: its file layout has no approved mapping yet. Save a mapping for it and have an administrator approve it, then execute again.`, {
      data_source_id: input.dataSourceId,
    });
  }
  let executionId: string;
  try {
    const created = await ctx.db.pool.query<{ id: string }>(
      `INSERT INTO mapping_executions (business_id, data_source_id, mapping_version_id, created_by) VALUES ($1, $2, $3, $4) RETURNING id`,
      [source.businessId, source.id, approved.version_id, ctx.user.kind === 'user' ? ctx.user.id : null],
    );
    executionId = created.rows[0]!.id;
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new AppError('conflict', `Data source “${source.name}” is already being loaded. Wait for that execution to finish (its progress is under GET /api/mapping/executions), then execute again.`, {
        data_source_id: input.dataSourceId,
      });
    }
    throw error;
  }
  let jobId: string | null;
  try {
    jobId = await queue.send(MAPPING_EXECUTE_QUEUE, { executionId }, { singletonKey: `mapping-execution-${executionId}` });
  } catch (error) {
    // Without a job nothing would ever finish it, and it would block the source's next execution.
    await ctx.db.pool.query(`UPDATE mapping_executions SET status = 'failed', finished_at = now(), updated_at = now(), error = 'the job queue refused the job' WHERE id = $1`, [executionId]);
    throw error;
  }
  await ctx.db.pool.query('UPDATE mapping_executions SET job_id = $2 WHERE id = $1', [executionId, jobId]);
  await writeAudit(ctx, {
    resource: 'mappingExecutions',
    recordId: executionId,
    action: 'execute',
    businessId: source.businessId,
    after: { dataSourceId: source.id, mappingVersionId: approved.version_id, version: approved.version, targetTable: approved.table, jobId },
  });
  return { execution_id: executionId, job_id: jobId, status: 'queued' };
}

// ─── The target table ────────────────────────────────────────────────────────────────────────────────────

interface TargetColumn {
  name: string;
  /** SQL of the column's default when it is NOT NULL with a default (a stock count's day): used for empty values. */
  fallback: string | null;
}

interface Target {
  table: string;
  sqlTable: string;
  /** Mapped columns, in the mapping's order. */
  columns: TargetColumn[];
  /** The natural key's columns after business_id. */
  key: readonly string[];
}

/** The mapped columns of a canonical table as the upsert writes them; their defaults come from PostgreSQL's catalog. */
async function describeTarget(ctx: Context, target: string, mapped: readonly string[]): Promise<Target> {
  const table = `canonical_${target}`;
  const defaults = await ctx.db.pool.query<{ column_name: string; column_default: string }>(
    `SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND is_nullable = 'NO' AND column_default IS NOT NULL`,
    [table],
  );
  const fallbacks = new Map(defaults.rows.map((row) => [row.column_name, row.column_default]));
  return {
    table: target,
    sqlTable: table,
    columns: mapped.map((name) => ({ name, fallback: fallbacks.get(name) ?? null })),
    key: naturalKeys[target]!.columns,
  };
}

// ─── The upsert ──────────────────────────────────────────────────────────────────────────────────────────

const BATCH_TABLE = 'mapping_execution_batch';
const id = pg.escapeIdentifier;

/** NULL + NULL stays unknown; otherwise a missing side counts as nothing. */
const addNullable = (a: string, b: string) => `CASE WHEN ${a} IS NULL AND ${b} IS NULL THEN NULL ELSE coalesce(${a}, 0) + coalesce(${b}, 0) END`;

/**
 * One statement per batch: $1 business, $2 data source, and for order lines $3, when this run started. Within a batch, rows
 * with the same natural key are merged (the later row wins; order lines add up, see below) because one
 * INSERT … ON CONFLICT may touch a row only once. Columns the mapping does not fill keep what earlier
 * loads wrote. Orders resolve manager_id from manager_ref: a user of the business with that email.
 *
 * Order lines: a file that lists one product twice in one order (two lines of the same product, at a
 * promotion price and at full price, say) means the order holds both, so the canonical line, "this
 * product in this order", gets the sum of the quantities and of the line totals (a line without a total
 * counts quantity × unit price, as the views do), and the later line's unit price. Across batches the
 * same holds: a line already written by this very run (same source, updated since $3) is added to; a line
 * from an earlier run or another source is replaced, so a rerun converges instead of doubling.
 */
function upsertSql(target: Target): { text: string; params: (businessId: string, dataSourceId: string, runStartedAt: Date) => unknown[] } {
  const mapped = target.columns.map((column) => column.name);
  const selected = target.columns.map((column) => (column.fallback ? `coalesce(${id(column.name)}, ${column.fallback}) AS ${id(column.name)}` : id(column.name)));
  const keyList = target.key.map(id).join(', ');
  const isOrderLines = target.table === 'order_items';
  let rowsCte: string;
  if (isOrderLines) {
    const merged = target.columns
      .filter((column) => !target.key.includes(column.name))
      .map((column) => {
        const name = id(column.name);
        if (column.name === 'quantity') return `sum(quantity) AS quantity`;
        if (column.name === 'line_total') {
          const lineTotal = mapped.includes('unit_price') && mapped.includes('quantity') ? 'coalesce(line_total, round(quantity * unit_price, 2))' : 'line_total';
          return `CASE WHEN count(*) = 1 THEN max(line_total) ELSE sum(${lineTotal}) END AS line_total`;
        }
        return `(array_agg(${name} ORDER BY source_row DESC) FILTER (WHERE ${name} IS NOT NULL))[1] AS ${name}`;
      });
    rowsCte = `merged AS (SELECT ${keyList}, max(source_row) AS source_row${merged.map((m) => `, ${m}`).join('')} FROM batch GROUP BY ${keyList})`;
  } else {
    rowsCte = `merged AS (SELECT DISTINCT ON (${keyList}) * FROM batch ORDER BY ${keyList}, source_row DESC)`;
  }
  const resolvesManager = target.table === 'orders' && mapped.includes('manager_ref');
  const insertColumns = ['business_id', ...mapped, ...(resolvesManager ? ['manager_id'] : []), 'data_source_id', 'source_row'];
  const values = ['$1::uuid', ...mapped.map((name) => `m.${id(name)}`), ...(resolvesManager ? ['u.id'] : []), '$2::uuid', 'm.source_row'];
  const joins = resolvesManager ? `LEFT JOIN managers u ON u.email = lower(btrim(m.manager_ref))` : '';
  const managersCte = resolvesManager ? `, managers AS (SELECT id, lower(email) AS email FROM users WHERE business_id = $1::uuid)` : '';
  const sameRun = `t.data_source_id = EXCLUDED.data_source_id AND t.updated_at >= $3::timestamptz`;
  const updates = [...mapped.filter((name) => !target.key.includes(name)), ...(resolvesManager ? ['manager_id'] : []), 'data_source_id', 'source_row'].map((name) => {
    const column = id(name);
    if (isOrderLines && name === 'quantity') return `quantity = CASE WHEN ${sameRun} THEN ${addNullable('t.quantity', 'EXCLUDED.quantity')} ELSE EXCLUDED.quantity END`;
    if (isOrderLines && name === 'line_total') {
      const of = (row: string) => `coalesce(${row}.line_total, round(${row}.quantity * ${row}.unit_price, 2))`;
      return `line_total = CASE WHEN ${sameRun} THEN ${addNullable(of('t'), of('EXCLUDED'))} ELSE EXCLUDED.line_total END`;
    }
    if (isOrderLines && name === 'unit_price') return `unit_price = CASE WHEN ${sameRun} THEN coalesce(EXCLUDED.unit_price, t.unit_price) ELSE EXCLUDED.unit_price END`;
    return `${column} = EXCLUDED.${column}`;
  });
  const text = `WITH batch AS (SELECT source_row, ${selected.join(', ')} FROM ${BATCH_TABLE}), ${rowsCte}${managersCte}
    INSERT INTO ${id(target.sqlTable)} AS t (${insertColumns.map(id).join(', ')})
    SELECT ${values.join(', ')} FROM merged m ${joins}
    ON CONFLICT ON CONSTRAINT ${id(`${target.sqlTable}_natural_key`)} DO UPDATE SET ${updates.join(', ')}, updated_at = now()`;
  // Only order lines ask when the run started; PostgreSQL refuses a parameter the statement does not use.
  return { text, params: (businessId, dataSourceId, runStartedAt) => (isOrderLines ? [businessId, dataSourceId, runStartedAt] : [businessId, dataSourceId]) };
}

// ─── The job ─────────────────────────────────────────────────────────────────────────────────────────────

interface ExecutionRow {
  id: string;
  business_id: string;
  data_source_id: string;
  mapping_version_id: string;
  target_table: string;
  upload_token: string | null;
  source_name: string;
}

export interface ExecutionOutcome {
  executionId: string;
  status: 'succeeded' | 'failed';
  rowsLoaded: number;
  rowsRejected: number;
  refreshedViews: string[];
  error?: string;
}

/**
 * The job: loads the execution's file into its canonical table (see the module comment), then asks for a
 * refresh of the views that read that table. Problems a retry cannot fix (the file is gone or unreadable,
 * the mapping does not fit the file) mark the execution failed and end the job; anything else (a lost
 * connection, a killed worker) is thrown after marking it failed, and pg-boss runs the job again, which
 * starts the load over: every batch upserts on natural keys, so the rows converge.
 */
export async function executeMapping(ctx: Context, queue: Pick<JobQueue, 'send'>, executionId: string): Promise<ExecutionOutcome> {
  assertCan(ctx.user, 'mappingExecutions', 'new');
  assertUuid(executionId, `Mapping execution ${executionId}`);
  const found = await ctx.db.pool.query<ExecutionRow>(
    `SELECT e.id, e.business_id, e.data_source_id, e.mapping_version_id, v.target_table, s.upload_token, s.name AS source_name
     FROM mapping_executions e JOIN mapping_versions v ON v.id = e.mapping_version_id JOIN data_sources s ON s.id = e.data_source_id
     WHERE e.id = $1`,
    [executionId],
  );
  const execution = found.rows[0];
  if (!execution || !scopeIncludes(ctx.scope, execution.business_id)) throw notFound(`Mapping execution ${executionId}`);

  let startedAt: Date;
  try {
    const started = await ctx.db.pool.query<{ started_at: Date }>(
      `UPDATE mapping_executions SET status = 'running', started_at = now(), finished_at = NULL, error = NULL, rows_total = NULL, rows_loaded = 0, rows_rejected = 0, progress = 0, updated_at = now()
       WHERE id = $1 RETURNING started_at`,
      [executionId],
    );
    startedAt = started.rows[0]!.started_at;
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new AppError('conflict', `Data source “${execution.source_name}” is being loaded by another execution; this one waits for its retry.`);
    throw error;
  }
  await ctx.db.pool.query('DELETE FROM mapping_rejects WHERE mapping_execution_id = $1', [executionId]);

  try {
    const loaded = await loadRows(ctx, execution, startedAt);
    // The batches marked their table changed; a worker refreshes the views behind it (and the minute schedule would).
    const refreshedViews = viewsDependingOn([`canonical_${execution.target_table}`]);
    if (refreshedViews.length > 0) await queue.send(WAREHOUSE_REFRESH_CHANGED_QUEUE, {});
    await ctx.db.pool.query(
      `UPDATE mapping_executions SET status = 'succeeded', finished_at = now(), updated_at = now(), progress = 1, rows_total = $2, rows_loaded = $3, rows_rejected = $4 WHERE id = $1`,
      [executionId, loaded.rowsRead, loaded.rowsLoaded, loaded.rowsRejected],
    );
    ctx.log.info({ executionId, ...loaded, refreshedViews }, 'mapping executed');
    return { executionId, status: 'succeeded', rowsLoaded: loaded.rowsLoaded, rowsRejected: loaded.rowsRejected, refreshedViews };
  } catch (error) {
    const final = error instanceof AppError;
    const message = final ? error.message : `The load stopped unexpectedly (${error instanceof Error ? error.message : String(error)}); it is retried automatically.`;
    await ctx.db.pool.query(`UPDATE mapping_executions SET status = 'failed', finished_at = now(), updated_at = now(), error = $2 WHERE id = $1`, [executionId, message]);
    ctx.log.warn({ executionId, err: error }, 'mapping execution failed');
    if (!final) throw error;
    return { executionId, status: 'failed', rowsLoaded: 0, rowsRejected: 0, refreshedViews: [], error: message };
  }
}

/**
 * An execution whose worker died on its job's last attempt (the job was given up): marked failed, so that
 * its source can be executed again instead of reading `running` for ever.
 */
export async function failAbandonedExecution(ctx: Context, executionId: string): Promise<void> {
  const message = 'The load stopped on every attempt: the worker running it ended (killed, or out of memory) before it finished. Rows of the batches it had finished stay; execute the source again to load the rest.';
  await ctx.db.pool.query(`UPDATE mapping_executions SET status = 'failed', finished_at = now(), updated_at = now(), error = $2 WHERE id = $1 AND status IN ('queued', 'running')`, [executionId, message]);
}

/** The approved version's field mappings as the columns `compileTableMapping` reads. */
async function loadMappingColumns(ctx: Context, mappingVersionId: string): Promise<unknown[]> {
  const rows = await ctx.db.pool.query<{ source_column: string | null; target_column: string; transforms: unknown[]; computed_expression: string | null }>(
    'SELECT source_column, target_column, transforms, computed_expression FROM field_mappings WHERE mapping_version_id = $1 ORDER BY position, target_column',
    [mappingVersionId],
  );
  return rows.rows.map((row) =>
    row.computed_expression === null ? { target: row.target_column, source: row.source_column, transforms: row.transforms } : { target: row.target_column, expression: row.computed_expression },
  );
}

async function loadRows(ctx: Context, execution: ExecutionRow, startedAt: Date): Promise<{ rowsRead: number; rowsLoaded: number; rowsRejected: number }> {
  const fileGone = new AppError('gone', `The file of data source “${execution.source_name}” is no longer stored. Upload the file again as a new data source and execute that.`);
  if (!execution.upload_token) throw fileGone;
  const upload = await findDataSourceUpload(ctx, execution.upload_token).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'gone' ? fileGone : error;
  });
  const mapping = await loadMappingColumns(ctx, execution.mapping_version_id);
  if (mapping.length === 0) throw new AppError('validation_failed', `The approved mapping of data source “${execution.source_name}” maps no column. Map at least the natural key and approve it again.`);

  const source = countingSource(upload);
  // Its columns were bounded when the data source was created.
  const table = await withHeaders(await openTable(source));
  const client = await ctx.db.pool.connect();
  let clientBroken: Error | undefined;
  try {
    const rows = table.rows[Symbol.asyncIterator]();
    const samples: { rowNumber: number; row: SourceRow }[] = [];
    const toSourceRow = (cells: string[]): SourceRow => {
      const row: SourceRow = {};
      table.headers.forEach((header, index) => (row[header] = cells[index] ?? ''));
      return row;
    };
    let next = await rows.next();
    while (!next.done && samples.length < DATE_SAMPLE_ROWS) {
      samples.push({ rowNumber: next.value.rowNumber, row: toSourceRow(next.value.cells) });
      next = await rows.next();
    }
    const compiled = compileTableMapping(execution.target_table, mapping, { headers: table.headers, samples: samples.map((sample) => sample.row) });
    if (!compiled.ok) {
      throw new AppError('validation_failed', `${compiled.error.message} Correct the mapping of data source “${execution.source_name}”, save it and have an administrator approve it, then execute again.`, compiled.error.details);
    }
    const target = await describeTarget(ctx, execution.target_table, compiled.columns.map((column) => column.target));

    await client.query(`DROP TABLE IF EXISTS pg_temp.${BATCH_TABLE}`);
    await client.query(
      `CREATE TEMP TABLE ${BATCH_TABLE} ON COMMIT DELETE ROWS AS SELECT source_row, ${target.columns.map((column) => id(column.name)).join(', ')} FROM ${id(target.sqlTable)} WITH NO DATA`,
    );
    const upsert = upsertSql(target);
    const counts = { rowsRead: 0, rowsLoaded: 0, rowsRejected: 0 };
    let keptRejectedRows = 0;
    let lines: string[] = [];
    let rejects: RowError[] = [];

    const flush = async () => {
      const fraction = upload.byteSize > 0 ? Math.min(0.99, source.bytesRead() / upload.byteSize) : 0;
      const estimatedTotal = fraction > 0 ? Math.max(counts.rowsRead, Math.round(counts.rowsRead / fraction)) : null;
      await client.query('BEGIN');
      try {
        if (lines.length > 0) {
          const copy = new CopyIn(client, `COPY ${BATCH_TABLE} (source_row, ${target.columns.map((column) => id(column.name)).join(', ')}) FROM STDIN`);
          await copy.write(lines.join(''));
          await copy.end();
          await client.query(upsert.text, upsert.params(execution.business_id, execution.data_source_id, startedAt));
        }
        if (rejects.length > 0) {
          await client.query(
            `INSERT INTO mapping_rejects (mapping_execution_id, row_number, column_name, value, reason) SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])`,
            [execution.id, rejects.map((r) => r.row), rejects.map((r) => r.column), rejects.map((r) => r.value), rejects.map((r) => r.reason)],
          );
        }
        await client.query(`UPDATE mapping_executions SET rows_total = $2, rows_loaded = $3, rows_rejected = $4, progress = $5, updated_at = now() WHERE id = $1`, [
          execution.id,
          estimatedTotal,
          counts.rowsLoaded,
          counts.rowsRejected,
          fraction,
        ]);
        // Last, so the version row is locked only until the commit (core/warehouse/views.ts).
        if (lines.length > 0) await markSourceChanged((sql, params) => client.query(sql, params), target.sqlTable);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => (clientBroken = rollbackError));
        throw error;
      }
      lines = [];
      rejects = [];
    };

    const handle = async (rowNumber: number, row: SourceRow) => {
      counts.rowsRead++;
      const mapped = compiled.mapRow(row, rowNumber);
      if (mapped.rejects.length > 0) {
        counts.rowsRejected++;
        if (keptRejectedRows < MAX_REJECTED_ROWS_KEPT) {
          keptRejectedRows++;
          rejects.push(...mapped.rejects.map((reject) => ({ ...reject, value: reject.value === null ? null : reject.value.slice(0, MAX_REJECT_VALUE_LENGTH) })));
        }
      } else {
        counts.rowsLoaded++;
        lines.push(`${[String(rowNumber), ...target.columns.map((column) => copyValue(mapped.values[column.name] ?? null))].join('\t')}\n`);
      }
      if (lines.length + rejects.length >= EXECUTE_BATCH_ROWS) await flush();
    };

    for (const sample of samples) await handle(sample.rowNumber, sample.row);
    while (!next.done) {
      await handle(next.value.rowNumber, toSourceRow(next.value.cells));
      next = await rows.next();
    }
    await flush();
    await client.query(`DROP TABLE IF EXISTS pg_temp.${BATCH_TABLE}`);
    return counts;
  } finally {
    table.close();
    // A connection whose transaction could not be rolled back is closed rather than pooled.
    client.release(clientBroken);
  }
}

// ─── Status and rejects ──────────────────────────────────────────────────────────────────────────────────

export interface RejectRow {
  row: number;
  column: string | null;
  value: string | null;
  reason: string;
}

export interface ExecutionStatusView {
  id: string;
  data_source_id: string;
  mapping_version_id: string;
  target_table: string;
  job_id: string | null;
  status: ExecutionStatus;
  /** 0–100. */
  progress_percent: number;
  rows_total: number | null;
  /** True while rows_total is estimated from the share of the file read. */
  rows_total_estimated: boolean;
  rows_loaded: number;
  rows_rejected: number;
  /** Rejected rows beyond the cap whose reasons were not kept (counted in rows_rejected). */
  rejected_rows_not_listed: number;
  error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  first_rejects: RejectRow[];
}

async function findExecution(ctx: Context, executionId: string): Promise<{ id: string; business_id: string }> {
  assertCan(ctx.user, 'mappingExecutions', 'show');
  const what = `Mapping execution ${executionId}`;
  assertUuid(executionId, what);
  const found = await ctx.db.pool.query<{ id: string; business_id: string }>('SELECT id, business_id FROM mapping_executions WHERE id = $1', [executionId]);
  const row = found.rows[0];
  if (!row || !scopeIncludes(ctx.scope, row.business_id)) throw notFound(what);
  return row;
}

/** Status, progress, counts and the first rejects of one execution, for a screen that polls it. */
export async function getExecution(ctx: Context, executionId: string): Promise<ExecutionStatusView> {
  await findExecution(ctx, executionId);
  const result = await ctx.db.pool.query<Omit<ExecutionStatusView, 'progress_percent' | 'rows_total_estimated' | 'rejected_rows_not_listed' | 'first_rejects'> & { progress: number; listed_rows: number }>(
    `SELECT e.id, e.data_source_id, e.mapping_version_id, v.target_table, e.job_id, e.status, e.progress, e.rows_total, e.rows_loaded, e.rows_rejected, e.error,
            e.started_at, e.finished_at, e.created_at,
            (SELECT count(DISTINCT row_number)::int FROM mapping_rejects r WHERE r.mapping_execution_id = e.id) AS listed_rows
     FROM mapping_executions e JOIN mapping_versions v ON v.id = e.mapping_version_id WHERE e.id = $1`,
    [executionId],
  );
  const { progress, listed_rows: listedRows, ...row } = result.rows[0]!;
  const first = await ctx.db.pool.query<RejectRow>(
    `SELECT row_number AS row, column_name AS column, value, reason FROM mapping_rejects WHERE mapping_execution_id = $1 ORDER BY row_number, id LIMIT ${FIRST_REJECTS}`,
    [executionId],
  );
  return {
    ...row,
    progress_percent: Math.round(progress * 1000) / 10,
    rows_total_estimated: row.status !== 'succeeded' && row.rows_total !== null,
    rejected_rows_not_listed: Math.max(0, row.rows_rejected - listedRows),
    first_rejects: first.rows,
  };
}

/** Every kept reject of an execution, in row order. */
export async function listRejects(ctx: Context, executionId: string): Promise<RejectRow[]> {
  await findExecution(ctx, executionId);
  const result = await ctx.db.pool.query<RejectRow>(
    'SELECT row_number AS row, column_name AS column, value, reason FROM mapping_rejects WHERE mapping_execution_id = $1 ORDER BY row_number, id',
    [executionId],
  );
  return result.rows;
}

/**
 * A CSV field: quoted when it holds a separator, a quote or a line break. A value a spreadsheet would run
 * as a formula (starting with = + - @, or a tab or carriage return) gets a leading apostrophe.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function rejectsCsv(rejects: RejectRow[]): string {
  const lines = [['row', 'column', 'value', 'reason'].join(',')];
  for (const reject of rejects) lines.push([reject.row, reject.column, reject.value, reject.reason].map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
