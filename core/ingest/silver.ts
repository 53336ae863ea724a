import os from 'node:os';
import pg from 'pg';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { foldTransactionsIntoGold } from './gold.js';
import { CatalogCache, linkTransactionItems } from './linking.js';
import { openFailureAlerts, openQualityAlerts, type OpenedAlert, type QualityDefaults } from './quality.js';
import { sendCriticalAlerts } from './alerts.js';

/** The channel bronze's inserts notify (delivered at their commit): the worker wakes at once. */
export const INGEST_EVENTS_CHANNEL = 'ingest_events';

export interface SilverOptions extends QualityDefaults {
  /** Events claimed per batch (one transaction). */
  batchSize: number;
  /** Fuzzy links at or above this confidence are made at once; below it they wait in the review queue. */
  linkThreshold: number;
  /** Who ran a batch (ingest_etl_runs.worker). */
  worker?: string;
}

export interface BatchResult {
  claimed: number;
  /** Transactions inserted or replaced in silver. */
  written: number;
  failed: number;
  /** Events whose transaction silver already holds from a later event (or the batch's later one): processed, nothing written. */
  superseded: number;
  alerts: number;
  /** The ids claimed, for tests proving each event was processed once. */
  eventIds: string[];
}

export const workerName = () => `${os.hostname()}:${process.pid}`;

/** Serialization failures and deadlocks between workers: the whole batch runs again, nothing is failed for them. */
const retryableCodes = new Set(['40001', '40P01']);
const isRetryable = (error: unknown) => retryableCodes.has((error as { code?: string }).code ?? '');

/**
 * Claims up to `batchSize` pending bronze events (FOR UPDATE SKIP LOCKED: workers never share one) and moves
 * them to silver in one transaction, set-based: events that cannot be moved (unknown store, malformed payload,
 * or a constraint their data violates) are failed with their error and an alert, and never hold back the
 * others; data-quality rules open alerts without dropping anything; a re-sent transaction replaces its
 * silver row (gold folded -1 before, +1 after); line items are linked to products; gold folds the batch; an
 * ingest_etl_runs row records it. A worker killed midway rolls everything back: the events stay pending.
 */
export async function moveBatchToSilver(ctx: Context, options: SilverOptions, catalogs = new CatalogCache(options.linkThreshold)): Promise<BatchResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(ctx.db.pool, (client) => moveClaimedBatch(ctx, client, options, catalogs));
    } catch (error) {
      if (!isRetryable(error) || attempt >= 5) throw error;
      ctx.log.warn({ err: error, attempt }, 'silver batch ran into another worker: running it again');
    }
  }
}

async function moveClaimedBatch(ctx: Context, client: pg.PoolClient, options: SilverOptions, catalogs: CatalogCache): Promise<BatchResult> {
  const started = new Date();
  // The gold folds' estimates (a sub-select per transaction) pass jit_above_cost: on a server with JIT
  // (PostgreSQL 15 from Debian) each fold spent ~1 s compiling for a few ms of work.
  await client.query('SET LOCAL jit = off');
  const { rows: claimed } = await client.query<{ id: string }>(
    `SELECT id::text FROM ingest_events WHERE status = 'pending' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [options.batchSize],
  );
  const result: BatchResult = { claimed: claimed.length, written: 0, failed: 0, superseded: 0, alerts: 0, eventIds: claimed.map((row) => row.id) };
  if (claimed.length === 0) return result;
  const alerts: OpenedAlert[] = [];

  // Events that cannot be moved as they are: failed with every reason, each with an alert, the rest go on.
  const problems = await findUnmovableEvents(client, result.eventIds);
  if (problems.length > 0) {
    await markFailed(client, problems.map((p) => ({ id: p.id, error: p.problems.join('; ') })));
    alerts.push(...(await openFailureAlerts(client, problems.map((p) => ({ id: p.id, rule: p.unknown_store ? 'unknown_store' : 'malformed_event', error: p.problems.join('; ') })))));
  }
  const unmovable = new Set(problems.map((p) => p.id));
  const movable = result.eventIds.filter((id) => !unmovable.has(id));
  result.failed = problems.length;

  const moved = await moveOrIsolate(ctx, client, movable, options, catalogs);
  result.written = moved.written;
  result.superseded = moved.superseded;
  result.failed += moved.failed;
  alerts.push(...moved.alerts);
  result.alerts = alerts.length;

  await sendCriticalAlerts(client, alerts);
  await client.query(
    `INSERT INTO ingest_etl_runs (started_at, events_claimed, transactions_written, events_failed, alerts_opened, duration_ms, worker)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [started, result.claimed, result.written, result.failed, result.alerts, Date.now() - started.getTime(), options.worker ?? workerName()],
  );
  return result;
}

interface MoveOutcome {
  written: number;
  superseded: number;
  failed: number;
  alerts: OpenedAlert[];
}

/**
 * Moves the events set-based; when the set fails on something one event's data violates (a constraint, a
 * value out of range) it is split in halves, each under a savepoint, until the failing events are alone:
 * those are failed with PostgreSQL's message, the others moved. A clean batch costs one pass.
 */
async function moveOrIsolate(ctx: Context, client: pg.PoolClient, eventIds: string[], options: SilverOptions, catalogs: CatalogCache): Promise<MoveOutcome> {
  if (eventIds.length === 0) return { written: 0, superseded: 0, failed: 0, alerts: [] };
  await client.query('SAVEPOINT silver_move');
  try {
    const outcome = await moveEvents(ctx, client, eventIds, options, catalogs);
    await client.query('RELEASE SAVEPOINT silver_move');
    return outcome;
  } catch (error) {
    if (isRetryable(error) || !(error instanceof pg.DatabaseError)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT silver_move');
    await client.query('RELEASE SAVEPOINT silver_move');
    ctx.log.warn({ events: eventIds.length, err: error.message }, 'silver batch failed on its data: moving its halves apart to isolate the failing events');
    if (eventIds.length === 1) {
      const message = `Could not be moved to silver: ${error.message}${error.detail ? ` (${error.detail})` : ''}. Correct the data (or what it refers to) and retry the event.`;
      await markFailed(client, [{ id: eventIds[0]!, error: message }]);
      const alerts = await openFailureAlerts(client, [{ id: eventIds[0]!, rule: 'malformed_event', error: message }]);
      ctx.log.warn({ event: eventIds[0], err: error.message }, 'ingest event failed');
      return { written: 0, superseded: 0, failed: 1, alerts };
    }
    const half = Math.ceil(eventIds.length / 2);
    const first = await moveOrIsolate(ctx, client, eventIds.slice(0, half), options, catalogs);
    const second = await moveOrIsolate(ctx, client, eventIds.slice(half), options, catalogs);
    return { written: first.written + second.written, superseded: first.superseded + second.superseded, failed: first.failed + second.failed, alerts: [...first.alerts, ...second.alerts] };
  }
}

interface Unmovable {
  id: string;
  unknown_store: boolean;
  problems: string[];
}

/** The store an event belongs to: the one bronze resolved, else the business's shop whose code the payload names. */
const eventShop = `COALESCE(
  (SELECT s.id FROM shops s WHERE s.id = e.shop_id AND s.business_id = e.business_id),
  (SELECT s.id FROM shops s WHERE s.business_id = e.business_id AND s.code = e.store_code ORDER BY s.created_at LIMIT 1))`;

/**
 * Whether a payload value fits a numeric column: a JSON number well inside the bound is answered at once, anything
 * else by trying the cast (input_is_valid, on PostgreSQL 15 a PL/pgSQL function with a subtransaction per call,
 * which made this check the largest statement of a batch there).
 */
const fitsNumeric = (value: string, type: 'numeric(12,3)' | 'numeric(14,2)') =>
  // CASE, not AND: only CASE promises that the cast is not tried on a string.
  `(CASE WHEN jsonb_typeof(${value}) = 'number' THEN abs((${value})::numeric) < ${type === 'numeric(12,3)' ? '999999999' : '999999999999'} ELSE false END OR input_is_valid(${value} #>> '{}', '${type}'))`;

/**
 * Each event's reasons not to move it, named by their path as the API names them (`items[2].qty`): an unknown
 * store, or a payload the endpoint would refuse (bronze normally holds none: this guards events written by
 * older versions or by hand). Amounts must fit silver's columns.
 */
async function findUnmovableEvents(client: pg.ClientBase, eventIds: string[]): Promise<Unmovable[]> {
  const { rows } = await client.query<Unmovable>(
    `SELECT e.id::text, (${eventShop}) IS NULL AS unknown_store,
            array_remove(ARRAY[
              CASE WHEN (${eventShop}) IS NULL THEN format('Store %s is not a shop of this business: create a shop with code %s (or correct the device), then retry the event.', e.store_code, e.store_code) END,
              CASE WHEN jsonb_typeof(e.payload) <> 'object' THEN 'payload: must be a JSON object' END,
              CASE WHEN NOT (e.payload->>'ts' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}' AND input_is_valid(e.payload->>'ts', 'timestamptz')) THEN 'ts: must be a date and time (ISO 8601)' END,
              CASE WHEN NOT ${fitsNumeric("e.payload->'total_amount'", 'numeric(14,2)')} THEN 'total_amount: must be a number below 10^12' END,
              CASE WHEN jsonb_typeof(e.payload->'items') IS DISTINCT FROM 'array' OR jsonb_array_length(e.payload->'items') = 0 THEN 'items: must be a non-empty list' END
            ] || COALESCE(item_problems.list, ARRAY[]::text[]), NULL) AS problems
     FROM ingest_events e
     LEFT JOIN LATERAL (
       SELECT array_agg(problem ORDER BY n) AS list
       FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e.payload->'items') = 'array' THEN e.payload->'items' ELSE '[]' END) WITH ORDINALITY AS i(item, n)
       CROSS JOIN LATERAL unnest(ARRAY[
         CASE WHEN jsonb_typeof(i.item) <> 'object' THEN format('items[%s]: must be an object', n - 1) END,
         CASE WHEN COALESCE(btrim(i.item->>'product_name'), '') = '' THEN format('items[%s].product_name: required', n - 1) END,
         CASE WHEN NOT ${fitsNumeric("i.item->'qty'", 'numeric(12,3)')} THEN format('items[%s].qty: must be a number below 10^9', n - 1) END,
         CASE WHEN NOT ${fitsNumeric("i.item->'unit_price'", 'numeric(14,2)')} THEN format('items[%s].unit_price: must be a number below 10^12', n - 1) END,
         CASE WHEN i.item ? 'line_amount' AND NOT ${fitsNumeric("i.item->'line_amount'", 'numeric(14,2)')} THEN format('items[%s].line_amount: must be a number below 10^12', n - 1) END
       ]) AS problem
       WHERE problem IS NOT NULL
     ) item_problems ON true
     WHERE e.id = ANY($1::bigint[])`,
    [eventIds],
  );
  return rows.filter((row) => row.problems.length > 0);
}

async function markFailed(client: pg.ClientBase, failures: { id: string; error: string }[]): Promise<void> {
  await client.query(
    `UPDATE ingest_events e SET status = 'failed', error = f.error, attempts = e.attempts + 1, processed_at = now()
     FROM unnest($1::bigint[], $2::text[]) AS f(id, error) WHERE e.id = f.id`,
    [failures.map((f) => f.id), failures.map((f) => f.error)],
  );
}

/** A silver transaction's columns from its event's payload (money in cents, rounded half away from zero). */
const transactionValues = `e.business_id, ${eventShop}, e.store_code, e.transaction_id, e.id,
  (e.payload->>'ts')::timestamptz, round((e.payload->>'total_amount')::numeric * 100)::bigint, b.currency,
  jsonb_array_length(e.payload->'items'), e.simulated`;

/**
 * The set-based move of well-formed events. Of several events of one transaction (business, store, device
 * id) the latest wins; an event older than the one silver holds is superseded. New transactions are inserted;
 * existing ones are locked, folded out of gold, rewritten from the newer event with their lines, and folded in
 * again with the new ones.
 */
async function moveEvents(ctx: Context, client: pg.PoolClient, eventIds: string[], options: SilverOptions, catalogs: CatalogCache): Promise<MoveOutcome> {
  const alerts = await openQualityAlerts(client, eventIds, options);
  const { rows: winners } = await client.query<{ id: string }>(
    // Ordered by the bigint id (e.id), not by the text it is answered as: '191' sorts after '19011'.
    `SELECT DISTINCT ON (e.business_id, e.store_code, e.transaction_id) e.id::text AS id FROM ingest_events e WHERE e.id = ANY($1::bigint[])
     ORDER BY e.business_id, e.store_code, e.transaction_id, e.id DESC`,
    [eventIds],
  );
  const winnerIds = winners.map((row) => row.id);
  // In key order, so that workers inserting or locking the same transactions take them in the same order.
  const { rows: inserted } = await client.query<{ id: string; event_id: string }>(
    `INSERT INTO transactions (business_id, shop_id, store_code, transaction_id, event_id, occurred_at, total_cents, currency, item_count, simulated)
     SELECT ${transactionValues}
     FROM ingest_events e JOIN businesses b ON b.id = e.business_id
     WHERE e.id = ANY($1::bigint[])
     ORDER BY e.business_id, e.store_code, e.transaction_id
     ON CONFLICT (business_id, store_code, transaction_id) DO NOTHING
     RETURNING id::text, event_id::text`,
    [winnerIds],
  );
  const insertedEvents = new Set(inserted.map((row) => row.event_id));
  const existing = winnerIds.filter((id) => !insertedEvents.has(id));
  // FOR UPDATE re-reads a row another worker changed meanwhile, so `t.event_id < e.id` holds on what we replace.
  const { rows: replaced } = existing.length
    ? await client.query<{ id: string }>(
        `SELECT t.id::text FROM transactions t
         JOIN ingest_events e ON e.business_id = t.business_id AND e.store_code = t.store_code AND e.transaction_id = t.transaction_id
         WHERE e.id = ANY($1::bigint[]) AND t.event_id < e.id
         ORDER BY t.business_id, t.store_code, t.transaction_id
         FOR UPDATE OF t`,
        [existing],
      )
    : { rows: [] };
  const replacedPks = replaced.map((row) => row.id);
  if (replacedPks.length > 0) {
    await foldTransactionsIntoGold(client, replacedPks, -1);
    await client.query(
      `UPDATE transactions t
       SET (business_id, shop_id, store_code, transaction_id, event_id, occurred_at, total_cents, currency, item_count, simulated) = (${transactionValues}),
           processed_at = now()
       FROM ingest_events e JOIN businesses b ON b.id = e.business_id
       WHERE t.id = ANY($1::bigint[]) AND e.id = ANY($2::bigint[])
         AND e.business_id = t.business_id AND e.store_code = t.store_code AND e.transaction_id = t.transaction_id`,
      [replacedPks, existing],
    );
    await client.query('DELETE FROM transaction_items WHERE transaction_pk = ANY($1::bigint[])', [replacedPks]);
  }
  const writtenPks = [...inserted.map((row) => row.id), ...replacedPks];
  if (writtenPks.length > 0) {
    await client.query(
      `INSERT INTO transaction_items (business_id, transaction_pk, line_no, source_product_id, product_name, brand, qty, unit_price_cents, line_amount_cents)
       SELECT t.business_id, t.id, i.n, NULLIF(btrim(i.item->>'product_id'), ''), btrim(i.item->>'product_name'), NULLIF(btrim(i.item->>'brand'), ''),
              (i.item->>'qty')::numeric(12,3), round((i.item->>'unit_price')::numeric * 100)::bigint,
              round(COALESCE((i.item->>'line_amount')::numeric, (i.item->>'qty')::numeric * (i.item->>'unit_price')::numeric) * 100)::bigint
       FROM transactions t JOIN ingest_events e ON e.id = t.event_id
       CROSS JOIN LATERAL jsonb_array_elements(e.payload->'items') WITH ORDINALITY AS i(item, n)
       WHERE t.id = ANY($1::bigint[])`,
      [writtenPks],
    );
    await linkTransactionItems(ctx, client, catalogs, writtenPks, options.linkThreshold);
    await foldTransactionsIntoGold(client, writtenPks, 1);
  }
  await client.query(
    `UPDATE ingest_events SET status = 'processed', error = NULL, attempts = attempts + 1, processed_at = now() WHERE id = ANY($1::bigint[])`,
    [eventIds],
  );
  return { written: writtenPks.length, superseded: eventIds.length - writtenPks.length, failed: 0, alerts };
}

export interface DrainResult {
  batches: number;
  claimed: number;
  written: number;
  failed: number;
  eventIds: string[];
}

export interface DrainLimits {
  /** Stop after the batch that ends past this instant (epoch ms). */
  until?: number;
  /** Stop after the current batch once this says so (a process shutting down). */
  stopping?: () => boolean;
  /** Keep the moved events' ids in the result (tests). */
  keepIds?: boolean;
}

/**
 * Moves batches until a batch comes back short of full (nothing more pending for this worker), `until`
 * passes or the process is stopping. Several workers drain side by side: each claims events the others have
 * not locked.
 */
export async function drainToSilver(ctx: Context, options: SilverOptions, catalogs = new CatalogCache(options.linkThreshold), limits: DrainLimits = {}): Promise<DrainResult> {
  const { until = Number.POSITIVE_INFINITY, stopping = () => false, keepIds = false } = limits;
  const total: DrainResult = { batches: 0, claimed: 0, written: 0, failed: 0, eventIds: [] };
  for (;;) {
    const batch = await moveBatchToSilver(ctx, options, catalogs);
    if (batch.claimed > 0) {
      total.batches++;
      total.claimed += batch.claimed;
      total.written += batch.written;
      total.failed += batch.failed;
      if (keepIds) total.eventIds.push(...batch.eventIds);
      ctx.log.debug({ claimed: batch.claimed, written: batch.written, failed: batch.failed, superseded: batch.superseded, alerts: batch.alerts }, 'silver batch moved');
    }
    if (batch.claimed < options.batchSize || Date.now() >= until || stopping()) return total;
  }
}

export interface SilverListener {
  stop(): Promise<void>;
}

/**
 * Keeps one connection listening on `ingest_events` and drains bronze into silver whenever an insert's commit
 * notifies it (notifications arriving during a drain make one more pass, never a queue of them), with `loops`
 * drains side by side: a batch's time is half round trips and waits on the server, which a second loop fills. A lost
 * connection is opened again after a pause growing to 30 s; it drains once on (re)connecting, for whatever
 * arrived while it was away. The per-minute job is the safety net when even that fails.
 */
export function startSilverListener(ctx: Context, options: SilverOptions, loops = 1): SilverListener {
  const catalogs = new CatalogCache(options.linkThreshold);
  let stopped = false;
  let client: pg.Client | null = null;
  let draining: Promise<void> | null = null;
  let again = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let failures = 0;

  const wake = () => {
    if (stopped) return;
    if (draining) {
      again = true;
      return;
    }
    draining = (async () => {
      do {
        again = false;
        try {
          await Promise.all(Array.from({ length: loops }, () => drainToSilver(ctx, options, catalogs, { stopping: () => stopped })));
        } catch (error) {
          ctx.log.error({ err: error }, 'silver drain failed; the next notification or the per-minute job tries again');
        }
      } while (again && !stopped);
      draining = null;
    })();
  };

  const connect = async () => {
    if (stopped) return;
    const listener = new pg.Client({ connectionString: ctx.db.url, application_name: 'backhouse-silver-listener' });
    listener.on('error', (error) => {
      ctx.log.warn({ err: error.message }, 'silver listener lost its connection; reconnecting');
      reconnect(listener);
    });
    listener.on('end', () => reconnect(listener));
    listener.on('notification', wake);
    try {
      await listener.connect();
      await listener.query(`LISTEN ${INGEST_EVENTS_CHANNEL}`);
      client = listener;
      failures = 0;
      wake();
    } catch (error) {
      ctx.log.warn({ err: (error as Error).message }, 'silver listener cannot connect; trying again');
      reconnect(listener);
    }
  };

  const reconnect = (broken: pg.Client) => {
    if (broken !== client && client !== null) return;
    client = null;
    broken.removeAllListeners('end');
    broken.end().catch(() => undefined);
    if (stopped || retryTimer) return;
    failures++;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
  };

  void connect();
  return {
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      const open = client;
      client = null;
      if (open) {
        open.removeAllListeners('end');
        await open.end().catch(() => undefined);
      }
      await draining;
    },
  };
}
