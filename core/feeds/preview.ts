import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { callerBusiness } from '../auth/business.js';
import type pg from 'pg';
import { AppError } from '../errors.js';
import { loadMatcher } from './catalog.js';
import type { ProductMatch } from './matching.js';
import type { RowIssue } from './rows.js';
import type { FeedSettings } from './settings.js';
import { openFeedTable } from './table.js';
import { templates, type DataType } from './templates.js';
import { deleteUpload, findUpload, setUploadDateFormat, storeUpload } from './uploads.js';
import { checkDateFormat } from './dates.js';
import { currencyMarkOf, currencyMismatch } from './values.js';

export interface PreviewRow {
  row_number: number;
  original: Record<string, string>;
  normalized: Record<string, string | null>;
  valid: boolean;
  issues: RowIssue[];
  product_match: ProductMatch | null;
}

export interface PreviewResult {
  success: true;
  upload_token: string;
  data_type: DataType;
  filename: string;
  headers: string[];
  column_mapping: Record<string, string>;
  rows: PreviewRow[];
  summary: {
    total_rows: number;
    valid_rows: number;
    invalid_rows: number;
    new_product_candidates: string[];
    /** True when the file has more rows than the preview shows; totals then count the shown rows. */
    truncated: boolean;
    date_formats: Record<string, string | null>;
    /** Date columns whose day/month order is assumed (day first), since no day above 12 is among the first rows. */
    date_formats_assumed: string[];
    /** The date format a person gave for this upload, which reads its date column instead of the detected one; null when detected. */
    date_format_given: string | null;
    /** Each number column's decimal mark, as found in the file's first rows (or from its other columns, or its delimiter). */
    decimal_marks: Record<string, '.' | ','>;
    /** The currency marks written beside the shown rows' amounts ("$", "EUR"), and a warning when they cannot be the business's currency. */
    currency_marks: string[];
    currency_warning: string | null;
    format: 'csv' | 'xlsx';
    encoding?: string;
    /** Set when part of the file was read in another encoding than its start (a file that mixes encodings). */
    encoding_warning?: string;
    delimiter?: string;
    ignored_columns: string[];
  };
}

/** The business a feed is for: a scoped user's own; an admin must name one. */
export async function feedBusinessId(ctx: Context, requested: string | undefined): Promise<string> {
  const business = await callerBusiness(ctx, requested, {
    refused: 'You can only load data into your own business.',
    missing: 'Say which business the data is for: business_id is required for admins.',
  });
  return business.id;
}

/** The currency the business keeps its figures in (ISO 4217), which a file's currency marks are checked against. */
export async function businessCurrency(db: Pick<pg.ClientBase, 'query'>, businessId: string): Promise<string> {
  const result = await db.query<{ currency: string }>('SELECT currency FROM businesses WHERE id = $1', [businessId]);
  return result.rows[0]!.currency;
}

/**
 * Keeps the uploaded file under a new token and shows its first rows as they would load: original and
 * normalized values, problems per row, and each product's match in the business's catalog.
 */
export async function previewFeed(
  ctx: Context,
  settings: FeedSettings,
  input: { businessId?: string; dataType: DataType; filename: string; stream: AsyncIterable<Buffer>; dateFormat?: string },
): Promise<PreviewResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const businessId = await feedBusinessId(ctx, input.businessId);
  const dateFormat = input.dateFormat ? checkDateFormat(input.dateFormat) : null;
  const stored = await storeUpload(ctx, { businessId, dataType: input.dataType, filename: input.filename, stream: input.stream }, { maxBytes: settings.maxUploadBytes, ttlSeconds: settings.uploadTtlSeconds });
  try {
    if (dateFormat) await setUploadDateFormat(ctx, stored.token, dateFormat);
    return await previewUpload(ctx, settings, stored.token);
  } catch (error) {
    // A file we cannot read is not kept: there is nothing to commit.
    await deleteUpload(ctx, stored.token);
    throw error;
  }
}

/**
 * Reads a kept upload's dates in the format a person typed (null: as detected again), for its preview and
 * its commit, and answers the preview read that way.
 */
export async function previewWithDateFormat(ctx: Context, settings: FeedSettings, token: string, dateFormat: string | null): Promise<PreviewResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const upload = await findUpload(ctx, token);
  await setUploadDateFormat(ctx, upload.token, dateFormat === null ? null : checkDateFormat(dateFormat));
  return previewUpload(ctx, settings, upload.token);
}

/** The preview of an upload already kept (also used to show a token's preview again). */
export async function previewUpload(ctx: Context, settings: FeedSettings, token: string): Promise<PreviewResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const upload = await findUpload(ctx, token);
  const feed = await openFeedTable(upload.dataType, upload, settings.previewRows + 1, upload.dateFormat, settings);
  const matcher = await loadMatcher(ctx, upload.businessId, settings.fuzzyThreshold);
  const rows: PreviewRow[] = [];
  let truncated = false;
  try {
    for await (const row of feed.rows(true)) {
      if (rows.length === settings.previewRows) {
        truncated = true;
        break;
      }
      const name = row.normalized.product_name;
      const match = name ? matcher.match(name) : null;
      const issues = [...row.issues];
      if (match?.status === 'missing') issues.push({ row: row.rowNumber, column: 'product_name', value: name!, reason: 'is not in your catalog' });
      rows.push({ row_number: row.rowNumber, original: row.original, normalized: row.normalized, valid: row.issues.length === 0, issues, product_match: match });
    }
  } finally {
    feed.table.close();
  }
  if (rows.length === 0) {
    throw new AppError('validation_failed', `${upload.filename} has a header row but no data rows. Add the rows under the header (or check that this is the right file), then upload it again.`);
  }
  // One candidate per product, whatever the case it is written in (the first spelling wins).
  const candidates = new Map<string, string>();
  for (const row of rows) {
    const name = row.normalized.product_name;
    if (row.product_match?.status === 'missing' && name && !candidates.has(name.toLowerCase())) candidates.set(name.toLowerCase(), name);
  }
  const moneyHeaders = templates[upload.dataType].filter((column) => column.money && feed.mapping.columns.has(column.name)).map((column) => feed.table.headers[feed.mapping.columns.get(column.name)!]!);
  const currencyMarks = [...new Set(rows.flatMap((row) => moneyHeaders.map((header) => currencyMarkOf(row.original[header] ?? '')).filter((mark): mark is string => mark !== null)))];
  return {
    success: true,
    upload_token: upload.token,
    data_type: upload.dataType,
    filename: upload.filename,
    headers: feed.table.headers,
    column_mapping: Object.fromEntries([...feed.mapping.columns].map(([column, index]) => [column, feed.table.headers[index]!])),
    rows,
    summary: {
      total_rows: rows.length,
      valid_rows: rows.filter((row) => row.valid).length,
      invalid_rows: rows.filter((row) => !row.valid).length,
      new_product_candidates: [...candidates.values()].sort((a, b) => a.localeCompare(b)),
      truncated,
      date_formats: Object.fromEntries(feed.formats.dates),
      date_formats_assumed: [...feed.formats.assumedDayMonthOrder],
      date_format_given: upload.dateFormat,
      decimal_marks: Object.fromEntries(feed.formats.decimalMarks),
      currency_marks: currencyMarks,
      currency_warning: currencyMismatch(currencyMarks, await businessCurrency(ctx.db.pool, upload.businessId)),
      format: feed.table.format,
      encoding: feed.table.encoding,
      ...(feed.table.decoding?.warning ? { encoding_warning: feed.table.decoding.warning } : {}),
      delimiter: feed.table.delimiter,
      ignored_columns: feed.mapping.unknown,
    },
  };
}
