import type { SqlQuery } from '../db/index.js';

/**
 * A rate shared by every process that uses the same key: `perSecond` tokens come back each second, up to
 * `burst` held at once. Kept in PostgreSQL (`rate_limit_buckets`) because the processes that must share
 * it (web processes behind a balancer, workers syncing with one set of credentials) share nothing else.
 */
export interface RateLimit {
  key: string;
  perSecond: number;
  burst: number;
}

export interface Take {
  /** Whether the caller may go ahead now. */
  granted: boolean;
  /** When not granted: how long until `cost` tokens are back (or, for a reservation, its turn). */
  waitMs: number;
}

export function checkRateLimit(limit: Omit<RateLimit, 'key'> & { key?: string }, cost: number): void {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1) || !(cost > 0) || cost > limit.burst) {
    throw new RangeError(`rate limit ${limit.key}: perSecond > 0, burst >= 1 and 0 < cost <= burst are required`);
  }
}

/**
 * The upsert behind `takeToken`, for the buckets named by `source` (a SELECT answering a `key` column), so that
 * a caller can take its token in the statement that finds the key (core/ingest/keys.ts: one round trip per
 * request). `perSecond`, `burst` and `cost` are SQL expressions (placeholders). Answers `key`, `tokens` and
 * `last_granted` (whether this take was granted) per bucket.
 */
export function takeTokenStatement(source: string, params: { perSecond: string; burst: string; cost: string }): string {
  const { perSecond, burst, cost } = params;
  const refilled = `LEAST(${burst}::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.refilled_at)::float8 * ${perSecond}::float8)`;
  return `INSERT INTO rate_limit_buckets AS b (key, tokens, refilled_at, last_granted)
       SELECT source.key, ${burst}::float8 - ${cost}::float8, clock_timestamp(), true FROM (${source}) AS source
     ON CONFLICT (key) DO UPDATE SET
       tokens = ${refilled} - CASE WHEN ${refilled} >= ${cost}::float8 THEN ${cost}::float8 ELSE 0 END,
       refilled_at = clock_timestamp(),
       last_granted = ${refilled} >= ${cost}::float8
     RETURNING key, tokens, last_granted`;
}

/** A take's answer from the bucket's row after `takeTokenStatement`. */
export function takeOf(limit: Omit<RateLimit, 'key'>, row: { tokens: number; last_granted: boolean }, cost = 1): Take {
  if (row.last_granted) return { granted: true, waitMs: 0 };
  return { granted: false, waitMs: Math.ceil(((cost - row.tokens) / limit.perSecond) * 1000) };
}

/**
 * Takes `cost` tokens if the bucket holds them, and otherwise takes nothing and says how long to wait: a
 * refused request never uses up the rate of the ones that follow. One statement, serialised per key by
 * its row lock, so concurrent takers in any process never both get the last token.
 */
export async function takeToken(query: SqlQuery, limit: RateLimit, cost = 1): Promise<Take> {
  checkRateLimit(limit, cost);
  const [row] = await query<{ tokens: number; last_granted: boolean }>(takeTokenStatement('SELECT $1::text AS key', { perSecond: '$2', burst: '$3', cost: '$4' }), [limit.key, limit.perSecond, limit.burst, cost]);
  if (!row) throw new Error(`rate limit ${limit.key}: the bucket returned no row`);
  return takeOf(limit, row, cost);
}

/**
 * Reserves `cost` tokens whether or not the bucket holds them now, and says how long the caller must wait
 * before its turn: callers that must go ahead eventually (an API client under its plan's limit) are spaced
 * evenly in the order they asked, with no retry storm. The bucket may go negative by the reservations.
 */
export async function reserveToken(query: SqlQuery, limit: RateLimit, cost = 1): Promise<Take> {
  checkRateLimit(limit, cost);
  const [row] = await query<{ tokens: number }>(
    `INSERT INTO rate_limit_buckets AS b (key, tokens, refilled_at, last_granted)
       VALUES ($1, $3::float8 - $4::float8, clock_timestamp(), true)
     ON CONFLICT (key) DO UPDATE SET
       tokens = LEAST($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.refilled_at)::float8 * $2::float8) - $4::float8,
       refilled_at = clock_timestamp(),
       last_granted = true
     RETURNING tokens`,
    [limit.key, limit.perSecond, limit.burst, cost],
  );
  if (!row) throw new Error(`rate limit ${limit.key}: the bucket returned no row`);
  const waitMs = row.tokens >= 0 ? 0 : Math.ceil((-row.tokens / limit.perSecond) * 1000);
  return { granted: waitMs === 0, waitMs };
}

/** Waits for a reservation's turn (see `reserveToken`); an aborted wait ends with the signal's reason. */
export async function waitForToken(query: SqlQuery, limit: RateLimit, cost = 1, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const { waitMs } = await reserveToken(query, limit, cost);
  if (waitMs === 0) return;
  signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, waitMs);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
