import { assertCan } from '../auth/permissions.js';
import { writeAudit } from '../auth/audit.js';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import { loadMatcher } from './preview.js';
import type { FeedSettings } from './settings.js';
import { openFeedTable } from './table.js';
import type { DataType } from './templates.js';
import { findUpload } from './uploads.js';
import { createProducts } from './products.js';
import { stageFeedRows, stagingTable } from './stage.js';

export const PROCESS_FEED_QUEUE = 'feeds.process';

export interface CommitInput {
  uploadToken: string;
  dataType?: DataType;
  autoCreateProducts: boolean;
  /** Load the valid rows and report the others, instead of refusing the whole file. */
  skipInvalidRows: boolean;
  businessId?: string;
}

export interface CommitResult {
  success: true;
  feed_id: number;
  record_count: number;
  status: 'queued';
  skipped_rows: number;
  created_products: Record<string, string>;
}

const MAX_REPORTED_ISSUES = 200;

/**
 * Reads the whole upload again with full validation, writes its rows to staging in batches, creates the
 * feed and queues its load. All or nothing: a refused commit leaves no feed and no staging rows, and the
 * upload stays available under its token to fix and commit again.
 */
export async function commitFeed(ctx: Context, queue: JobQueue, settings: FeedSettings, input: CommitInput): Promise<CommitResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const upload = await findUpload(ctx, input.uploadToken);
  if (input.businessId && input.businessId !== upload.businessId) throw new AppError('gone', 'This upload has expired or does not exist. Upload the file again to get a new preview.');
  const dataType = input.dataType ?? upload.dataType;
  if (dataType !== upload.dataType) throw new AppError('validation_failed', `This upload was previewed as ${upload.dataType}, not ${dataType}. Preview it again as ${dataType}.`);
  const matcher = await loadMatcher(ctx, upload.businessId, settings.fuzzyThreshold);
  const feed = await openFeedTable(dataType, upload, settings.previewRows);
  const client = await ctx.db.pool.connect();
  try {
    await client.query('BEGIN');
    const created = await client.query<{ id: number }>(
      `INSERT INTO data_feeds (business_id, user_id, data_type, filename, upload_token, status, summary) VALUES ($1, $2, $3, $4, $5, 'processing', '{}') RETURNING id`,
      [upload.businessId, ctx.user.kind === 'user' ? ctx.user.id : null, dataType, upload.filename, upload.token],
    );
    const feedId = created.rows[0]!.id;
    const { records, invalidRows, issues, missingProducts } = await stageFeedRows(client, feed, {
      dataType,
      feedId,
      businessId: upload.businessId,
      matcher,
      autoCreateProducts: input.autoCreateProducts,
      maxIssues: MAX_REPORTED_ISSUES,
    });
    if (invalidRows > 0 && !input.skipInvalidRows) {
      throw new AppError('validation_failed', `${invalidRows} row${invalidRows > 1 ? 's' : ''} of ${upload.filename} cannot be loaded. Fix them and commit again, or commit with skip_invalid_rows to load only the valid rows.`, {
        invalid_rows: invalidRows,
        errors: issues,
        errors_truncated: invalidRows > 0 && issues.length >= MAX_REPORTED_ISSUES,
      });
    }
    if (records === 0) throw new AppError('validation_failed', `${upload.filename} has no rows that can be loaded.`, { invalid_rows: invalidRows, errors: issues });
    const createdProducts = await createProducts(ctx, client, upload.businessId, missingProducts);
    if (Object.keys(createdProducts).length > 0) {
      await client.query(
        `UPDATE ${stagingTable(dataType)} s SET product_id = p.id FROM products p WHERE s.data_feed_id = $1 AND s.product_id IS NULL AND p.business_id = s.business_id AND lower(p.name) = lower(s.product_name)`,
        [feedId],
      );
    }
    const queuedAt = new Date().toISOString();
    const summary = {
      stage: 'queued',
      queued_at: queuedAt,
      updated_at: queuedAt,
      issues: invalidRows > 0 ? [{ type: 'warning', code: 'rows_skipped', message: `${invalidRows} invalid row(s) were skipped.`, rows: issues.slice(0, 50) }] : [],
      error: null,
    };
    await client.query(`UPDATE data_feeds SET status = 'queued', record_count = $2, summary = $3, updated_at = now() WHERE id = $1`, [feedId, records, summary]);
    await writeAudit(ctx, { resource: 'feeds', recordId: String(feedId), action: 'commit', businessId: upload.businessId, after: { filename: upload.filename, dataType, records, skippedRows: invalidRows, createdProducts } });
    await client.query('COMMIT');
    await queue.send(PROCESS_FEED_QUEUE, { feedId }, { singletonKey: `feed-${feedId}` });
    return { success: true, feed_id: feedId, record_count: records, status: 'queued', skipped_rows: invalidRows, created_products: createdProducts };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    feed.table.close();
  }
}
