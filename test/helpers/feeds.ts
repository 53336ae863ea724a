import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { projectRoot } from '../../core/config.js';
import type { ReadableFile } from '../../core/files/file.js';

export const fixturePath = (name: string) => path.join(projectRoot, 'test', 'fixtures', 'feeds', name);

/**
 * A file held in memory as the reader's source, handed out in pieces of `pieceSize` bytes (whole by default),
 * so that records and line breaks can straddle them; with `failAfter`, reading past that many bytes fails as a
 * lost connection would.
 */
export function memorySource(filename: string, bytes: Buffer, options: { pieceSize?: number; failAfter?: number } = {}): ReadableFile {
  const pieceSize = options.pieceSize ?? Math.max(1, bytes.length);
  return {
    filename,
    byteSize: bytes.length,
    open: (offset = 0) =>
      Readable.from(
        (function* () {
          for (let at = offset; at < bytes.length; at += pieceSize) {
            if (options.failAfter !== undefined && at > options.failAfter) throw new Error('connection lost');
            yield bytes.subarray(at, at + pieceSize);
          }
        })(),
      ),
  };
}

export const fixtureSource = (name: string) => memorySource(name, fs.readFileSync(fixturePath(name)));

/** POST /dashboard/data-feeds/preview as a browser's FormData would (fields first, then the file). */
export async function uploadPreview(baseUrl: string, token: string, file: { name: string; bytes?: Buffer }, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const bytes = file.bytes ?? fs.readFileSync(fixturePath(file.name));
  form.append('file', new Blob([new Uint8Array(bytes)]), file.name);
  const res = await fetch(`${baseUrl}/dashboard/data-feeds/preview`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function callJson(baseUrl: string, token: string, method: string, urlPath: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

/** Polls transform-status (as the page does) until the feed is transformed or failed. */
export async function waitForFeed(baseUrl: string, token: string, feedId: number, timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await callJson(baseUrl, token, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`);
    if (res.status !== 200) throw new Error(`transform-status answered ${res.status}: ${JSON.stringify(res.body)}`);
    if (res.body!.status === 'transformed' || res.body!.status === 'failed') return res.body!;
    if (Date.now() > deadline) throw new Error(`feed ${feedId} still ${res.body!.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A sales file's whole way in: preview, commit (creating missing products; loaded even if loaded before, as tests load the same rows again), and wait until it is transformed. */
export async function loadSalesFile(baseUrl: string, token: string, csv: string, name = 'sales.csv'): Promise<number> {
  const preview = await uploadPreview(baseUrl, token, { name, bytes: Buffer.from(csv) });
  if (preview.status !== 200) throw new Error(`preview answered ${preview.status}: ${JSON.stringify(preview.body)}`);
  const commit = await callJson(baseUrl, token, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', auto_create_products: true });
  if (commit.status !== 202) throw new Error(`commit answered ${commit.status}: ${JSON.stringify(commit.body)}`);
  const feedId = commit.body!.feed_id as number;
  const loaded = await waitForFeed(baseUrl, token, feedId);
  if (loaded.status !== 'transformed') throw new Error(`feed ${feedId} ${loaded.status}: ${JSON.stringify(loaded.summary)}`);
  return feedId;
}

/** The ISO date `offset` days from `today` (an ISO date). */
export function daysFrom(today: string, offset: number): string {
  const date = new Date(`${today}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + offset);
  return date.toISOString().slice(0, 10);
}

/** The pieces a large feed's partition is made of (in name order): their rows and their indexes ("btree (…)"). */
export async function feedPieces(pool: pg.Pool, feedId: number): Promise<{ rows: number; indexes: string[] }[]> {
  const pieces = await pool.query<{ rows: number; indexes: string[] }>(
    `SELECT (SELECT count(*)::int FROM fact_sales f WHERE f.tableoid = i.inhrelid) AS rows,
            array(SELECT regexp_replace(pg_get_indexdef(x.indexrelid), '^.* USING ', '') FROM pg_index x WHERE x.indrelid = i.inhrelid) AS indexes
     FROM pg_inherits i WHERE i.inhparent = $1::regclass ORDER BY i.inhrelid::regclass::text`,
    [`fact_sales_feed_${feedId}`],
  );
  return pieces.rows;
}

/** Tables a load of the feed worked with that are not part of the warehouse (none once it is done), by name. */
export async function loadLeftovers(pool: pg.Pool, feedId: number): Promise<string[]> {
  const tables = await pool.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relname LIKE $1 AND relkind = 'r' AND NOT relispartition ORDER BY relname`, [`fact\\_sales\\_feed\\_${feedId}\\_%`]);
  return tables.rows.map((r) => r.relname);
}

/** Gathers staging's statistics while it holds only another feed's rows: they then make any other feed one row. */
export async function analyzeStagingWithoutFeed(pool: pg.Pool, businessId: string): Promise<void> {
  await pool.query(
    `INSERT INTO staging_sales_items (data_feed_id, row_number, business_id, product_name, quantity, unit_price, transaction_date)
     SELECT 2000000000, g, $1, 'Croissant', 1, 2.95, '2025-09-05' FROM generate_series(1, 50) g`,
    [businessId],
  );
  await pool.query('ANALYZE staging_sales_items');
  await pool.query('DELETE FROM staging_sales_items WHERE data_feed_id = 2000000000');
}

/** The feeds staging's statistics know by id (its most common `data_feed_id` values). */
export async function feedsKnownToPlanner(pool: pg.Pool): Promise<number[]> {
  const known = await pool.query<{ feeds: number[] }>(`SELECT most_common_vals::text::int[] AS feeds FROM pg_stats WHERE tablename = 'staging_sales_items' AND attname = 'data_feed_id'`);
  return known.rows[0]?.feeds ?? [];
}
