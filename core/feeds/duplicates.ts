import type { SqlQuery } from '../db/index.js';

/** What to do with a file, or rows of it, already loaded: chosen by the person committing it, recorded on the feed. */
export const duplicateChoices = ['skip', 'replace', 'load_anyway'] as const;
export type DuplicateChoice = (typeof duplicateChoices)[number];

export interface EarlierFeed {
  feed_id: number;
  filename: string;
  status: string;
  created_at: string;
}

export interface FeedWithLoadedRows extends EarlierFeed {
  /** Rows of this file that the feed already loaded. */
  rows: number;
  /** The first of them (row numbers of this file). */
  sample_rows: number[];
}

/** What of a file was loaded before: the same file (same bytes), and rows already in the warehouse. */
export interface Duplicates {
  /** Earlier feeds of the business committed from a file with the same content (not failed). */
  same_file: EarlierFeed[];
  /** Rows of this file whose (order id, product, line of that product in the order) is already loaded. */
  already_loaded_rows: number;
  /** The feeds that loaded them, with how many each. */
  loaded_by: FeedWithLoadedRows[];
}

/** What a commit found already loaded and did about it, as recorded on its feed (`summary.duplicates`). */
export interface RecordedDuplicates extends Duplicates {
  choice: DuplicateChoice;
  skipped_rows: number;
  /** Feeds removed when this one loads, in the same transaction. */
  replaces: number[];
}

export const hasDuplicates = (duplicates: Duplicates): boolean => duplicates.same_file.length > 0 || duplicates.already_loaded_rows > 0;

/** The business's earlier feeds of the same content, newest first; a failed feed loaded nothing. */
export async function feedsOfSameFile(query: SqlQuery, businessId: string, contentSha256: string, exceptFeedId?: number): Promise<EarlierFeed[]> {
  if (!contentSha256) return [];
  const rows = await query<EarlierFeed & { created_at: Date }>(
    `SELECT id AS feed_id, filename, status::text AS status, created_at FROM data_feeds
     WHERE business_id = $1 AND content_sha256 = $2 AND status <> 'failed' AND id IS DISTINCT FROM $3
     ORDER BY created_at DESC, id DESC`,
    [businessId, contentSha256, exceptFeedId ?? null],
  );
  return rows.map((row) => ({ ...row, created_at: new Date(row.created_at).toISOString() }));
}

/**
 * The rows of a file (`fileLines`: a SELECT of `row_number, order_id, product_id`) already in the business's
 * facts, per feed that loaded them. A sales line is known by its order id, its product and which line of that
 * product in that order it is (an order may sell the same product on two lines): the k-th such line of the
 * file matches the k-th already loaded (in feed and row order). Rows without an order id or a known product
 * cannot be told apart from a new sale and never match; the file's content hash covers those.
 */
export async function rowsAlreadyLoaded(query: SqlQuery, businessId: string, fileLines: string, params: unknown[]): Promise<{ total: number; byFeed: FeedWithLoadedRows[]; rowNumbers: string }> {
  const businessParam = `$${params.length + 1}`;
  const matched = `
    WITH file_lines AS (
      SELECT row_number, order_id, product_id, row_number() OVER (PARTITION BY order_id, product_id ORDER BY row_number) AS line
      FROM (${fileLines}) l WHERE order_id IS NOT NULL AND product_id IS NOT NULL),
    loaded AS (
      SELECT f.order_id, f.product_id, f.data_feed_id, row_number() OVER (PARTITION BY f.order_id, f.product_id ORDER BY f.data_feed_id, f.source_row) AS line
      FROM fact_sales f WHERE f.business_id = ${businessParam}::uuid AND f.order_id IN (SELECT order_id FROM file_lines))
    SELECT fl.row_number, l.data_feed_id FROM file_lines fl JOIN loaded l USING (order_id, product_id, line)`;
  // The file's lines and the loaded ones are each numbered by a window, whose row counts the planner cannot
  // know: guessing few, it joined them in a nested loop, 40,000 lines against a million loaded ones for minutes
  // (found by bench:feeds). Matching lines by hash is right at every size.
  await query('SET LOCAL enable_nestloop = off', []);
  const rows = await query<FeedWithLoadedRows & { created_at: Date }>(
    `SELECT m.data_feed_id AS feed_id, d.filename, d.status::text AS status, d.created_at, count(*)::int AS rows,
            (array_agg(m.row_number ORDER BY m.row_number))[1:20] AS sample_rows
     FROM (${matched}) m JOIN data_feeds d ON d.id = m.data_feed_id
     GROUP BY m.data_feed_id, d.filename, d.status, d.created_at ORDER BY d.created_at DESC, m.data_feed_id DESC`,
    [...params, businessId],
  );
  await query('SET LOCAL enable_nestloop TO DEFAULT', []);
  return {
    total: rows.reduce((sum, row) => sum + row.rows, 0),
    byFeed: rows.map((row) => ({ ...row, created_at: new Date(row.created_at).toISOString() })),
    rowNumbers: `SELECT row_number FROM (${matched}) m`,
  };
}

/** How a duplicate is worded for the person: which feeds, when. */
export function describeDuplicates(filename: string, duplicates: Duplicates): string {
  const when = (feed: EarlierFeed) => `feed #${feed.feed_id} (${feed.filename}, ${feed.created_at.slice(0, 16).replace('T', ' ')} UTC)`;
  if (duplicates.same_file.length > 0) return `${filename} was already loaded: the same file is ${duplicates.same_file.map(when).join(', ')}.`;
  const rows = duplicates.already_loaded_rows;
  return `${rows} row${rows === 1 ? '' : 's'} of ${filename} ${rows === 1 ? 'was' : 'were'} already loaded by ${duplicates.loaded_by.map(when).join(', ')} (same order id, product and line).`;
}
