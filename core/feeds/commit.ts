import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { assertCan } from '../auth/permissions.js';
import { writeAudit } from '../auth/audit.js';
import type { Context } from '../context.js';
import { inTransaction, withAdvisoryLock, withTransaction, type SqlQuery } from '../db/index.js';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import { monotonic, type FeedSummary } from '../warehouse/loadFacts.js';
import { loadMatcher } from './catalog.js';
import { businessCurrency } from './preview.js';
import { currencyMismatch } from '../files/numbers.js';
import type { FeedSettings } from './settings.js';
import { commitIsRunning, feedCommitLock } from './locks.js';
import { countingSource, type ReadableFile } from '../files/file.js';
import { openFeedTable } from './table.js';
import type { DataType } from './templates.js';
import { findUpload } from './uploads.js';
import { describeDuplicates, feedsOfSameFile, hasDuplicates, rowsAlreadyLoaded, type DuplicateChoice, type Duplicates, type RecordedDuplicates } from './duplicates.js';
import { createProducts } from './products.js';
import { stageFeedRows, stagingTable } from './stage.js';

export const PROCESS_FEED_QUEUE = 'feeds.process';

export interface CommitInput {
  uploadToken: string;
  dataType?: DataType;
  autoCreateProducts: boolean;
  /** Load the valid rows and report the others, instead of refusing the whole file. */
  skipInvalidRows: boolean;
  /** What to do if the file, or rows of it, were already loaded; without it such a commit is refused (409). */
  duplicates?: DuplicateChoice;
  businessId?: string;
}

export interface CommitResult {
  success: true;
  feed_id: number;
  record_count: number;
  status: 'queued';
  skipped_rows: number;
  /** Rows not staged because they were already loaded (`duplicates: "skip"`). */
  skipped_duplicate_rows: number;
  /** Earlier feeds this one replaces when it loads (`duplicates: "replace"`). */
  replaces_feeds: number[];
  created_products: Record<string, string>;
}

const MAX_REPORTED_ISSUES = 200;

/**
 * Reads the whole upload again with full validation, writes its rows to staging, and queues the feed's load.
 * The feed is listed as `processing` from the start, with how far the commit has read (`summary.progress`),
 * so its history and the page can follow a long commit; its staging rows and its move to `queued` commit
 * together. All or nothing: a refused or failed commit removes the feed again and keeps no staging rows,
 * and the upload stays available under its token to fix and commit again. A commit holds its feed's lock
 * while it runs, so a feed left `processing` by a process that stopped is told apart and marked failed
 * (`failInterruptedCommits`).
 */
export async function commitFeed(ctx: Context, queue: JobQueue, settings: FeedSettings, input: CommitInput): Promise<CommitResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const upload = await findUpload(ctx, input.uploadToken);
  if (input.businessId && input.businessId !== upload.businessId) throw new AppError('gone', 'This upload has expired or does not exist. Upload the file again to get a new preview.');
  const dataType = input.dataType ?? upload.dataType;
  if (dataType !== upload.dataType) throw new AppError('validation_failed', `This upload was previewed as ${upload.dataType}, not ${dataType}. Preview it again as ${dataType}.`);
  await refuseCommittedUpload(ctx, upload.token, upload.filename);
  const matcher = await loadMatcher(ctx, upload.businessId, settings.fuzzyThreshold);
  const source = countingSource(upload);
  const feed = await openFeedTable(dataType, source, settings.previewRows, upload.dateFormat, settings);
  try {
    const feedId = (await ctx.db.pool.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('data_feeds', 'id'))::int AS id`)).rows[0]!.id;
    const result = await withAdvisoryLock(ctx.db.pool, feedCommitLock(feedId), async (client) => {
      const startedAt = new Date().toISOString();
      const processing: FeedSummary = { stage: 'processing', processing_started_at: startedAt, updated_at: startedAt, progress: { rows_read: 0, percent: 0 } };
      await client
        .query(
          `INSERT INTO data_feeds (id, business_id, user_id, data_type, filename, upload_token, status, summary, content_sha256) VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7, $8)`,
          [feedId, upload.businessId, ctx.user.kind === 'user' ? ctx.user.id : null, dataType, upload.filename, upload.token, processing, upload.contentSha256 || null],
        )
        .catch(async (error: unknown) => {
          // The same upload committed at the same moment by another request, which got there first.
          if ((error as { constraint?: string }).constraint !== 'data_feeds_one_per_upload') throw error;
          await refuseCommittedUpload(ctx, upload.token, upload.filename);
          throw new AppError('conflict', `${upload.filename} was being committed by another request at the same moment. Look for it in the Data Feeds list before committing it again.`);
        });
      const progress = commitProgress(ctx, feedId, source, startedAt);
      try {
        return await inTransaction(client, async (tx) => {
          const staged = await stageFeedRows(tx, feed, {
            dataType,
            feedId,
            businessId: upload.businessId,
            matcher,
            autoCreateProducts: input.autoCreateProducts,
            maxIssues: MAX_REPORTED_ISSUES,
            onRowsRead: progress.report,
          });
          const { invalidRows, issues, missingProducts, currencyMarks } = staged;
          if (invalidRows > 0 && !input.skipInvalidRows) {
            throw new AppError('validation_failed', `${invalidRows} row${invalidRows > 1 ? 's' : ''} of ${upload.filename} cannot be loaded. Fix ${invalidRows > 1 ? 'them' : 'it'} in the file and upload it again, or commit with "Skip invalid rows" (skip_invalid_rows in the API) to load only the valid rows.`, {
              invalid_rows: invalidRows,
              errors: issues,
              errors_truncated: invalidRows > 0 && issues.length >= MAX_REPORTED_ISSUES,
            });
          }
          if (staged.records === 0) throw new AppError('validation_failed', `${upload.filename} has no rows that can be loaded.`, { invalid_rows: invalidRows, errors: issues });
          const createdProducts = await createProducts(ctx, tx, { businessId: upload.businessId, feedId, dataType }, missingProducts);
          if (Object.keys(createdProducts).length > 0) {
            await tx.query(
              `UPDATE ${stagingTable(dataType)} s SET product_id = p.id FROM products p WHERE s.data_feed_id = $1 AND s.product_id IS NULL AND p.business_id = s.business_id AND lower(p.name) = lower(s.product_name)`,
              [feedId],
            );
          }
          const duplicates = await settleDuplicates(tx, { feedId, dataType, businessId: upload.businessId, contentSha256: upload.contentSha256, filename: upload.filename, choice: input.duplicates });
          const records = staged.records - duplicates.skipped_rows;
          // The last progress written goes before the feed's move to queued, whose timestamp comes after it.
          const queuedAt = monotonic(await progress.settle());
          const currencyWarning = currencyMismatch(currencyMarks, await businessCurrency(tx, upload.businessId));
          const summary: FeedSummary = {
            stage: 'queued',
            processing_started_at: startedAt,
            queued_at: queuedAt,
            updated_at: queuedAt,
            currency_marks: currencyMarks,
            issues: [
              ...(invalidRows > 0 ? [{ type: 'warning' as const, code: 'rows_skipped', message: `${invalidRows} invalid row${invalidRows === 1 ? ' was' : 's were'} skipped.`, rows: issues.slice(0, 50) }] : []),
              ...(feed.table.decoding?.warning ? [{ type: 'warning' as const, code: 'mixed_encoding', message: feed.table.decoding.warning }] : []),
              ...(duplicates.choice ? [{ type: 'warning' as const, code: 'duplicates', message: duplicates.message }] : []),
              ...(currencyWarning ? [{ type: 'warning' as const, code: 'currency_mismatch', message: currencyWarning }] : []),
            ],
            ...(duplicates.choice ? { duplicates: duplicates.recorded } : {}),
            error: null,
          };
          await tx.query(`UPDATE data_feeds SET status = 'queued', record_count = $2, summary = $3, duplicate_choice = $4, updated_at = now() WHERE id = $1`, [feedId, records, summary, duplicates.choice]);
          await writeAudit(
            ctx,
            {
              resource: 'feeds',
              recordId: String(feedId),
              action: 'commit',
              businessId: upload.businessId,
              after: { filename: upload.filename, dataType, records, skippedRows: invalidRows, createdProducts, ...(duplicates.choice ? { duplicates: duplicates.recorded } : {}) },
            },
            tx,
          );
          return {
            success: true as const,
            feed_id: feedId,
            record_count: records,
            status: 'queued' as const,
            skipped_rows: invalidRows,
            skipped_duplicate_rows: duplicates.skipped_rows,
            replaces_feeds: duplicates.recorded.replaces,
            created_products: createdProducts,
          };
        });
      } catch (error) {
        await progress.settle();
        // Nothing of a refused commit stays; should this fail too, the feed is marked failed once the lock is free.
        await client.query(`DELETE FROM data_feeds WHERE id = $1 AND status = 'processing'`, [feedId]).catch(() => undefined);
        throw error;
      }
    });
    await queue.send(PROCESS_FEED_QUEUE, { feedId }, { singletonKey: `feed-${feedId}` });
    return result;
  } finally {
    feed.table.close();
  }
}

/**
 * Finds what of a staged feed was loaded before (the same file; its sales lines already in the facts) and
 * applies the choice made for it: "skip" takes those rows out of staging (all of them for the same file),
 * "replace" names the earlier feeds for the load to remove, "load_anyway" loads everything. Without a choice
 * such a commit is refused (409) with what was found, so that nothing is loaded twice unawares.
 */
async function settleDuplicates(
  tx: PoolClient,
  input: { feedId: number; dataType: DataType; businessId: string; contentSha256: string; filename: string; choice: DuplicateChoice | undefined },
): Promise<{ choice: DuplicateChoice | null; skipped_rows: number; message: string; recorded: RecordedDuplicates }> {
  const query: SqlQuery = (sql, params) => tx.query(sql, params).then((result) => result.rows);
  const sameFile = await feedsOfSameFile(query, input.businessId, input.contentSha256, input.feedId);
  const loaded =
    input.dataType === 'sales'
      ? await rowsAlreadyLoaded(query, input.businessId, 'SELECT row_number, order_id, product_id FROM staging_sales_items WHERE data_feed_id = $1', [input.feedId])
      : { total: 0, byFeed: [], rowNumbers: '' };
  const found: Duplicates = { same_file: sameFile, already_loaded_rows: loaded.total, loaded_by: loaded.byFeed };
  const none = { choice: null, skipped_rows: 0, message: '', recorded: { ...found, choice: 'load_anyway' as const, skipped_rows: 0, replaces: [] } };
  if (!hasDuplicates(found)) return none;
  const described = describeDuplicates(input.filename, found);
  if (!input.choice) {
    throw new AppError(
      'conflict',
      `${described} Nothing was loaded. Choose what to do and commit again: skip the rows already loaded, replace the earlier feed, or load anyway (duplicates: "skip", "replace" or "load_anyway").`,
      { duplicates: found },
    );
  }
  let skipped = 0;
  if (input.choice === 'skip') {
    const table = stagingTable(input.dataType);
    const removed =
      sameFile.length > 0
        ? await tx.query(`DELETE FROM ${table} WHERE data_feed_id = $1`, [input.feedId])
        : await tx.query(`DELETE FROM ${table} WHERE data_feed_id = $1 AND row_number IN (${loaded.rowNumbers})`, [input.feedId, input.businessId]);
    skipped = removed.rowCount ?? 0;
    const left = await tx.query(`SELECT 1 FROM ${table} WHERE data_feed_id = $1 LIMIT 1`, [input.feedId]);
    if (left.rowCount === 0) throw new AppError('validation_failed', `${described} Every row of it is loaded already, so there is nothing new to load.`, { duplicates: found });
  }
  const replaces = input.choice === 'replace' ? [...new Set([...sameFile.map((feed) => feed.feed_id), ...loaded.byFeed.map((feed) => feed.feed_id)])].sort((a, b) => a - b) : [];
  const done =
    input.choice === 'skip'
      ? `${skipped} row${skipped === 1 ? ' was' : 's were'} skipped as already loaded.`
      : input.choice === 'replace'
        ? `Feed${replaces.length === 1 ? '' : 's'} ${replaces.map((id) => `#${id}`).join(', ')} ${replaces.length === 1 ? 'is' : 'are'} replaced by this one when it loads.`
        : 'Loaded anyway, as chosen.';
  return { choice: input.choice, skipped_rows: skipped, message: `${described} ${done}`, recorded: { ...found, choice: input.choice, skipped_rows: skipped, replaces } };
}

/**
 * A 409 when the upload already has a feed: a second commit of it (a retried request, a second tab) would
 * load its rows twice. A commit that stopped before its rows were staged (failed, never queued) does not count.
 */
async function refuseCommittedUpload(ctx: Context, token: string, filename: string): Promise<void> {
  const committed = await ctx.db.pool.query<{ id: number; status: string }>(
    `SELECT id, status::text FROM data_feeds WHERE upload_token = $1 AND (status <> 'failed' OR summary ? 'queued_at')`,
    [token],
  );
  const feed = committed.rows[0];
  if (!feed) return;
  const state = feed.status === 'processing' ? 'its commit is running now' : `its status is ${feed.status}`;
  throw new AppError('conflict', `${filename} was already committed as feed #${feed.id} (${state}), so it was not loaded again. To load the file once more as a new feed, upload it again.`, {
    feed_id: feed.id,
    status: feed.status,
  });
}

/** How often a commit writes how far it has read. */
const PROGRESS_INTERVAL_MS = 1000;

/**
 * Writes a committing feed's progress to its row (rows read, and the share of the file read), at most once
 * a second and one write at a time, on a pooled connection of its own: the commit's is busy staging rows.
 * `settle` waits for the last write and answers the `updated_at` it gave the summary.
 */
function commitProgress(ctx: Context, feedId: number, source: ReadableFile & { bytesRead(): number }, startedAt: string): { report(rows: number): void; settle(): Promise<string> } {
  let updatedAt = startedAt;
  let lastWrite = Date.now();
  let writing: Promise<void> | null = null;
  return {
    report(rows) {
      if (writing || Date.now() - lastWrite < PROGRESS_INTERVAL_MS) return;
      lastWrite = Date.now();
      updatedAt = monotonic(updatedAt);
      const percent = source.byteSize > 0 ? Math.min(99, Math.floor((100 * source.bytesRead()) / source.byteSize)) : 0;
      writing = ctx.db.pool
        .query(
          `UPDATE data_feeds SET summary = summary || jsonb_build_object('progress', jsonb_build_object('rows_read', $2::int, 'percent', $3::int), 'updated_at', $4::text), updated_at = now()
           WHERE id = $1 AND status = 'processing'`,
          [feedId, rows, percent, updatedAt],
        )
        .then(
          () => undefined,
          (error: unknown) => ctx.log.warn({ err: error, feedId }, 'could not record how far the commit has read'),
        )
        .finally(() => (writing = null));
    },
    async settle() {
      await writing;
      return updatedAt;
    },
  };
}

/**
 * Marks failed the feeds (all, or those of `feedIds`) that a commit left `processing` when its process
 * stopped. A running commit holds its feed's lock, so a free lock means nobody is staging the feed's rows
 * any more, and what was staged went with the commit's connection. Answers how many were marked.
 */
export async function failInterruptedCommits(ctx: Context, feedIds?: number[]): Promise<number> {
  const processing = await ctx.db.pool.query<{ id: number }>(`SELECT id FROM data_feeds WHERE status = 'processing'${feedIds ? ' AND id = ANY($1::int[])' : ''}`, feedIds ? [feedIds] : []);
  let marked = 0;
  for (const { id } of processing.rows) {
    const traceId = randomUUID();
    const updated = await withTransaction(ctx.db.pool, async (tx) => {
      if (await commitIsRunning((sql, params) => tx.query(sql, params).then((r) => r.rows), id)) return 0;
      const error = { code: 'commit_interrupted', message: 'The commit stopped before all of its rows were staged (the server handling it stopped). Nothing was loaded: commit the upload again.', trace_id: traceId };
      const result = await tx.query(
        `UPDATE data_feeds SET status = 'failed', summary = summary || jsonb_build_object('stage', 'failed', 'error', $2::jsonb, 'updated_at', $3::text), updated_at = now()
         WHERE id = $1 AND status = 'processing'`,
        [id, error, new Date().toISOString()],
      );
      return result.rowCount ?? 0;
    });
    if (updated > 0) ctx.log.warn({ feedId: id, traceId }, 'a commit stopped before its rows were staged: its feed is marked failed');
    marked += updated;
  }
  return marked;
}
