import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { callerBusiness } from '../auth/business.js';
import type pg from 'pg';
import { AppError } from '../errors.js';
import { copyLines } from '../db/copy.js';
import { loadMatcher } from './catalog.js';
import { checkDateFormat } from '../files/dates.js';
import { inTransaction, type SqlQuery } from '../db/index.js';
import { describeDuplicates, feedsOfSameFile, hasDuplicates, rowsAlreadyLoaded, type Duplicates } from './duplicates.js';
import type { ProductMatcher, ProductMatch } from './matching.js';
import { countingSource } from '../files/file.js';
import { createRowNormalizer, type NormalizedRow, type RowIssue } from './rows.js';
import { createRowChecker } from './stage.js';
import type { FeedSettings } from './settings.js';
import { openFeedTable } from './table.js';
import { templates, type DataType } from './templates.js';
import { deleteUpload, findUpload, setUploadDateFormat, storeUpload } from './uploads.js';
import { currencyMismatch } from '../files/numbers.js';

export interface PreviewRow {
  row_number: number;
  original: Record<string, string>;
  normalized: Record<string, string | null>;
  valid: boolean;
  issues: RowIssue[];
  product_match: ProductMatch | null;
}

export interface InvalidRow {
  row_number: number;
  issues: RowIssue[];
}

export interface NewProductCandidate {
  name: string;
  /** Rows of the file that name it. */
  rows: number;
  first_row: number;
  /** The price the file gives it most often (the lowest of equally frequent ones), as a decimal string; null if none is readable. */
  price: string | null;
}

export interface PreviewResult {
  success: true;
  upload_token: string;
  data_type: DataType;
  filename: string;
  headers: string[];
  column_mapping: Record<string, string>;
  /** The file's first rows (FEED_PREVIEW_ROWS), checked. */
  rows: PreviewRow[];
  summary: {
    /** Counts of the whole file, every row checked. */
    total_rows: number;
    valid_rows: number;
    invalid_rows: number;
    /** Products the catalog lacks, over the whole file. */
    new_products: number;
    /** Their names (the first NEW_PRODUCTS_LISTED, by name); every one with its rows and price: GET …/preview/:token/new-products. */
    new_product_candidates: string[];
    /** The first invalid rows with their problems; every one: GET …/preview/:token/invalid-rows. */
    invalid_row_samples: InvalidRow[];
    /** The rows shown in `rows`. */
    rows_shown: number;
    /** True when the file has more rows than `rows` shows (the counts above are still the whole file's). */
    truncated: boolean;
    /** What of this file was loaded before: the same file, or rows of it. */
    duplicates: Duplicates;
    /** The same in words (which feeds, when), or null when nothing of it was loaded before. */
    duplicates_message: string | null;
    date_formats: Record<string, string | null>;
    /** Date columns whose day/month order is assumed (day first), since no day above 12 is among the first rows. */
    date_formats_assumed: string[];
    /** The date format a person gave for this upload, which reads its date column instead of the detected one; null when detected. */
    date_format_given: string | null;
    /** Each number column's decimal mark, as found in the file's first rows (or from its other columns, or its delimiter). */
    decimal_marks: Record<string, '.' | ','>;
    /** The currency marks written beside the file's amounts ("$", "EUR"), and a warning when they cannot be the business's currency. */
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

/** How far a whole-file check has read. */
export interface CheckProgress {
  rows_read: number;
  /** Share of the file's bytes read (0–100). */
  percent: number;
}

/** New product names listed in the preview's answer itself; the rest are paged. */
const NEW_PRODUCTS_LISTED = 1000;
/** Invalid rows listed in the preview's answer itself; the rest are paged. */
const INVALID_ROWS_LISTED = 20;
/** Invalid rows written to the database at a time while checking. */
const INVALID_ROWS_BATCH = 2000;

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
 * Keeps the uploaded file under a new token and checks all of it as it would load: whole-file counts, every
 * invalid row and every product missing from the catalog (kept with the upload, to page through), what of it
 * was loaded before, and its first rows shown with original and normalized values and each product's match.
 */
export async function previewFeed(
  ctx: Context,
  settings: FeedSettings,
  input: { businessId?: string; dataType: DataType; filename: string; stream: AsyncIterable<Buffer>; dateFormat?: string },
  onProgress?: (progress: CheckProgress) => void,
): Promise<PreviewResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const businessId = await feedBusinessId(ctx, input.businessId);
  const dateFormat = input.dateFormat ? checkDateFormat(input.dateFormat) : null;
  const stored = await storeUpload(ctx, { businessId, dataType: input.dataType, filename: input.filename, stream: input.stream }, { maxBytes: settings.maxUploadBytes, ttlSeconds: settings.uploadTtlSeconds });
  try {
    if (dateFormat) await setUploadDateFormat(ctx, stored.token, dateFormat);
    return await previewUpload(ctx, settings, stored.token, onProgress);
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
export async function previewWithDateFormat(ctx: Context, settings: FeedSettings, token: string, dateFormat: string | null, onProgress?: (progress: CheckProgress) => void): Promise<PreviewResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const upload = await findUpload(ctx, token);
  await setUploadDateFormat(ctx, upload.token, dateFormat === null ? null : checkDateFormat(dateFormat));
  return previewUpload(ctx, settings, upload.token, onProgress);
}

/**
 * The preview of an upload already kept (also used to show a token's preview again, after products were
 * created): the whole file is read and checked in one streamed pass, memory staying flat (findings go to the
 * database as they are found), reporting how far it has read through `onProgress`.
 */
export async function previewUpload(ctx: Context, settings: FeedSettings, token: string, onProgress?: (progress: CheckProgress) => void): Promise<PreviewResult> {
  assertCan(ctx.user, 'feeds', 'new');
  const upload = await findUpload(ctx, token);
  const source = countingSource(upload);
  const feed = await openFeedTable(upload.dataType, source, settings.previewRows, upload.dateFormat, settings);
  const matcher = await loadMatcher(ctx, upload.businessId, settings.fuzzyThreshold);
  const checker = createRowChecker(feed, { dataType: upload.dataType, matcher, missingProductIsBad: false });
  const normalize = createRowNormalizer(upload.dataType, feed.table.headers, feed.mapping, feed.formats);
  const priceAt = checker.indexOf(upload.dataType === 'sales' ? 'price' : 'cost');
  const orderAt = feed.mapping.columns.has('order_id') ? checker.indexOf('order_id') : undefined;
  const rows: PreviewRow[] = [];
  const candidates = new Map<string, { name: string; rows: number; firstRow: number; prices: Map<string, number> }>();
  const invalid: InvalidRow[] = [];
  let pendingInvalid: InvalidRow[] = [];
  let total = 0;
  let invalidRows = 0;
  await ctx.db.pool.query('DELETE FROM upload_invalid_rows WHERE token = $1', [token]);
  await ctx.db.pool.query('DELETE FROM upload_new_products WHERE token = $1', [token]);
  const flushInvalid = async () => {
    if (pendingInvalid.length === 0) return;
    const batch = pendingInvalid;
    pendingInvalid = [];
    await ctx.db.pool.query(
      'INSERT INTO upload_invalid_rows (token, row_number, issues) SELECT $1, r, i FROM unnest($2::int[], $3::jsonb[]) AS t(r, i)',
      [token, batch.map((row) => row.row_number), batch.map((row) => JSON.stringify(row.issues))],
    );
  };
  let lastProgress = 0;
  const client = await ctx.db.pool.connect();
  let duplicates: Duplicates;
  try {
    duplicates = await inTransaction(client, async (tx) => {
      // The file's sales lines (order id, product), to find those already loaded; gone with the transaction.
      await tx.query('CREATE TEMP TABLE upload_lines (row_number int NOT NULL, order_id text NOT NULL, product_id uuid NOT NULL) ON COMMIT DROP');
      const texts: string[] = new Array(checker.stagingColumns.length);
      await copyLines(tx, 'COPY upload_lines (row_number, order_id, product_id) FROM STDIN', async (lines) => {
        for await (const batch of feed.batches()) {
          for (let r = 0; r < batch.cells.length; r++) {
            const rowNumber = batch.rowNumbers[r]!;
            const cells = batch.cells[r]!;
            total++;
            const row = checker.check(cells, texts);
            if (rows.length < settings.previewRows) rows.push(previewRow(normalize(rowNumber, cells, true), matcher));
            if (row.bad) {
              invalidRows++;
              const issues = checker.reasons(rowNumber, cells);
              if (invalid.length < INVALID_ROWS_LISTED) invalid.push({ row_number: rowNumber, issues });
              pendingInvalid.push({ row_number: rowNumber, issues });
              if (pendingInvalid.length >= INVALID_ROWS_BATCH) await flushInvalid();
              continue;
            }
            if (row.missingProduct !== null) {
              const key = row.missingProduct.toLowerCase();
              let candidate = candidates.get(key);
              if (!candidate) candidates.set(key, (candidate = { name: row.missingProduct, rows: 0, firstRow: rowNumber, prices: new Map() }));
              candidate.rows++;
              const price = priceAt === undefined ? '\\N' : texts[priceAt]!;
              if (price !== '\\N') candidate.prices.set(price, (candidate.prices.get(price) ?? 0) + 1);
            } else if (orderAt !== undefined && texts[orderAt] !== '\\N' && row.productId !== '\\N') {
              if (lines.add(`${rowNumber}\t${texts[orderAt]}\t${row.productId}\n`)) await lines.flush();
            }
          }
          if (onProgress && Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
            lastProgress = Date.now();
            onProgress({ rows_read: total, percent: source.byteSize > 0 ? Math.min(99, Math.floor((100 * source.bytesRead()) / source.byteSize)) : 0 });
          }
        }
      });
      await flushInvalid();
      const query: SqlQuery = (sql, params) => tx.query(sql, params).then((result) => result.rows);
      const loaded = orderAt === undefined ? { total: 0, byFeed: [] } : await rowsAlreadyLoaded(query, upload.businessId, 'SELECT row_number, order_id, product_id FROM upload_lines', []);
      return { same_file: await feedsOfSameFile(query, upload.businessId, upload.contentSha256), already_loaded_rows: loaded.total, loaded_by: loaded.byFeed };
    });
  } finally {
    client.release();
    feed.table.close();
  }
  if (total === 0) {
    throw new AppError('validation_failed', `${upload.filename} has a header row but no data rows. Add the rows under the header (or check that this is the right file), then upload it again.`);
  }
  const newProducts: NewProductCandidate[] = [...candidates.values()]
    .map((candidate) => ({ name: candidate.name, rows: candidate.rows, first_row: candidate.firstRow, price: mostFrequent(candidate.prices) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (newProducts.length > 0) {
    await ctx.db.pool.query(
      `INSERT INTO upload_new_products (token, name, row_count, first_row, price)
       SELECT $1, n, c, f, p FROM unnest($2::text[], $3::int[], $4::int[], $5::numeric[]) AS t(n, c, f, p)`,
      [token, newProducts.map((p) => p.name), newProducts.map((p) => p.rows), newProducts.map((p) => p.first_row), newProducts.map((p) => p.price)],
    );
  }
  onProgress?.({ rows_read: total, percent: 100 });
  const currencyMarks = checker.currencyMarks();
  return {
    success: true,
    upload_token: upload.token,
    data_type: upload.dataType,
    filename: upload.filename,
    headers: feed.table.headers,
    column_mapping: Object.fromEntries([...feed.mapping.columns].map(([column, index]) => [column, feed.table.headers[index]!])),
    rows,
    summary: {
      total_rows: total,
      valid_rows: total - invalidRows,
      invalid_rows: invalidRows,
      new_products: newProducts.length,
      new_product_candidates: newProducts.slice(0, NEW_PRODUCTS_LISTED).map((p) => p.name),
      invalid_row_samples: invalid,
      rows_shown: rows.length,
      truncated: total > rows.length,
      duplicates,
      duplicates_message: hasDuplicates(duplicates) ? describeDuplicates(upload.filename, duplicates) : null,
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

/** How often a whole-file check reports how far it has read. */
const PROGRESS_INTERVAL_MS = 250;

/** A row as the preview shows it: its checked values, and its product's match (a missing one is highlighted). */
function previewRow(row: NormalizedRow, matcher: ProductMatcher): PreviewRow {
  const name = row.normalized.product_name;
  const match = name ? matcher.match(name) : null;
  const issues = [...row.issues];
  if (match?.status === 'missing') issues.push({ row: row.rowNumber, column: 'product_name', value: name!, reason: 'is not in your catalog' });
  return { row_number: row.rowNumber, original: row.original, normalized: row.normalized, valid: row.issues.length === 0, issues, product_match: match };
}

/** The most frequent of the values counted; the lowest number among equally frequent ones. */
function mostFrequent(counts: Map<string, number>): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== null && Number(value) < Number(best))) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/** A page of an upload's invalid rows (found by its last check), in file order. */
export async function listInvalidRows(ctx: Context, token: string, page: { offset: number; limit: number }): Promise<{ success: true; total: number; rows: InvalidRow[] }> {
  assertCan(ctx.user, 'feeds', 'new');
  await findUpload(ctx, token);
  const result = await ctx.db.pool.query<InvalidRow & { total: number }>(
    'SELECT row_number, issues, count(*) OVER ()::int AS total FROM upload_invalid_rows WHERE token = $1 ORDER BY row_number OFFSET $2 LIMIT $3',
    [token, page.offset, page.limit],
  );
  const total = result.rows[0]?.total ?? (await ctx.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM upload_invalid_rows WHERE token = $1', [token])).rows[0]!.n;
  return { success: true, total, rows: result.rows.map(({ row_number, issues }) => ({ row_number, issues })) };
}

/** A page of the products an upload names that the catalog lacked at its last check, by name, with their rows and the file's price. */
export async function listNewProducts(ctx: Context, token: string, page: { offset: number; limit: number }): Promise<{ success: true; total: number; products: NewProductCandidate[] }> {
  assertCan(ctx.user, 'feeds', 'new');
  await findUpload(ctx, token);
  const result = await ctx.db.pool.query<{ name: string; row_count: number; first_row: number; price: string | null; total: number }>(
    'SELECT name, row_count, first_row, price::text, count(*) OVER ()::int AS total FROM upload_new_products WHERE token = $1 ORDER BY name OFFSET $2 LIMIT $3',
    [token, page.offset, page.limit],
  );
  const total = result.rows[0]?.total ?? (await ctx.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM upload_new_products WHERE token = $1', [token])).rows[0]!.n;
  return { success: true, total, products: result.rows.map((row) => ({ name: row.name, rows: row.row_count, first_row: row.first_row, price: row.price })) };
}
