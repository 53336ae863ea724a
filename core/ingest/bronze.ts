import type { Context } from '../context.js';
import { AppError } from '../errors.js';
import { canonicalEvent } from './canonical.js';
import type { IngestGrant } from './keys.js';
import { checkTransaction, type PayloadProblem, type TransactionPayload } from './payload.js';

/** The bronze answer for one transaction of a request. */
export type IngestOutcome =
  | { index: number; transactionId: string | null; status: 'accepted' | 'duplicate'; eventId: string }
  | { index: number; transactionId: string | null; status: 'refused'; reason: 'invalid' | 'store_not_allowed'; problems: PayloadProblem[] };

export interface IngestOptions {
  /** The request's Idempotency-Key: one body per key (a batch's i-th transaction is `key#i`). */
  idempotencyKey?: string | null;
  /** Whether the key names one transaction (a single send) rather than a batch. */
  single?: boolean;
  /** When each transaction was received (demo history back-dates them); now by default. */
  receivedAt?: (payload: TransactionPayload) => Date;
}

const IDEMPOTENCY_INDEX = 'ingest_events_idempotency_key';

interface Ready {
  index: number;
  payload: TransactionPayload;
  shopId: string;
  hash: string;
  /** The payload's canonical JSON, as stored. */
  json: string;
  idempotencyKey: string | null;
}

/**
 * Stores transactions in bronze (ingest_events), each once: a transaction already stored (the same
 * canonical content, whatever its key order or number spelling) answers with the event it already is.
 * Invalid transactions and those of stores the key may not ingest for are refused one by one; the others
 * are stored together by ONE statement, committed before this returns, which also wakes the silver worker
 * (NOTIFY ingest_events, delivered at commit). An Idempotency-Key used before with another body is a 422
 * for the whole request, and nothing of it is stored.
 */
export async function ingestTransactions(ctx: Context, grant: IngestGrant, transactions: readonly unknown[], options: IngestOptions = {}): Promise<IngestOutcome[]> {
  const outcomes: (IngestOutcome | null)[] = transactions.map(() => null);
  const ready: Ready[] = [];
  transactions.forEach((input, index) => {
    const checked = checkTransaction(input);
    const transactionId = typeof (input as { transaction_id?: unknown } | null)?.transaction_id === 'string' ? (input as { transaction_id: string }).transaction_id : null;
    if (!checked.ok) {
      outcomes[index] = { index, transactionId, status: 'refused', reason: 'invalid', problems: checked.problems };
      return;
    }
    const shopId = grant.shopIdByCode.get(checked.payload.store_id);
    if (!shopId) {
      const allowed = [...grant.shopIdByCode.keys()].sort();
      outcomes[index] = {
        index,
        transactionId,
        status: 'refused',
        reason: 'store_not_allowed',
        problems: [{ path: 'store_id', reason: `this API key may not ingest for store "${checked.payload.store_id}"; it may for ${allowed.length ? allowed.join(', ') : 'no store'}` }],
      };
      return;
    }
    const key = options.idempotencyKey ? (options.single ? options.idempotencyKey : `${options.idempotencyKey}#${index}`) : null;
    const canonical = canonicalEvent(checked.payload);
    ready.push({ index, payload: checked.payload, shopId, hash: canonical.hash.toString('hex'), json: canonical.json, idempotencyKey: key });
  });

  if (options.idempotencyKey) await refuseReusedIdempotencyKeys(ctx, grant, transactions.length, ready, options);

  // One row per distinct content: the same transaction twice in one batch is one event (and ON CONFLICT may
  // not touch one row twice in a statement).
  const firstByHash = new Map<string, Ready>();
  for (const entry of ready) if (!firstByHash.has(entry.hash)) firstByHash.set(entry.hash, entry);
  const rows = [...firstByHash.values()];
  const stored = new Map<string, { id: string; inserted: boolean }>();
  if (rows.length > 0) {
    const receivedAt = options.receivedAt;
    try {
      const result = await ctx.db.pool.query<{ id: string; hash: string; inserted: boolean }>(
        // Rows go in by hash: two batches holding the same transactions insert them in the same order and
        // cannot deadlock. DO UPDATE (not DO NOTHING) so that RETURNING answers for a row another request
        // committed after this statement's snapshot; xmax = 0 only on a row this statement inserted.
        `WITH stored AS (
           INSERT INTO ingest_events AS e (business_id, shop_id, store_code, transaction_id, event_hash, payload, api_key_id, idempotency_key, simulated, received_at)
           SELECT $1, shop_id, store_code, transaction_id, decode(hash, 'hex'), payload::jsonb, $2, idempotency_key, simulated, coalesce(received_at, now())
             FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[], $10::timestamptz[])
                  AS t(shop_id, store_code, transaction_id, hash, payload, idempotency_key, simulated, received_at)
            ORDER BY hash
           ON CONFLICT (business_id, event_hash) DO UPDATE SET event_hash = EXCLUDED.event_hash
           RETURNING e.id, e.event_hash, (e.xmax = 0) AS inserted
         ), woken AS (
           SELECT pg_notify('ingest_events', '') WHERE EXISTS (SELECT 1 FROM stored WHERE inserted)
         )
         SELECT id::text AS id, encode(event_hash, 'hex') AS hash, inserted, (SELECT count(*) FROM woken) AS woken FROM stored`,
        [
          grant.businessId,
          grant.keyId,
          rows.map((row) => row.shopId),
          rows.map((row) => row.payload.store_id),
          rows.map((row) => row.payload.transaction_id),
          rows.map((row) => row.hash),
          rows.map((row) => row.json),
          rows.map((row) => row.idempotencyKey),
          rows.map((row) => row.payload.simulated === true),
          rows.map((row) => (receivedAt ? receivedAt(row.payload) : null)),
        ],
      );
      for (const row of result.rows) stored.set(row.hash, { id: row.id, inserted: row.inserted });
    } catch (error) {
      // Two requests raced with one Idempotency-Key and different bodies: the later one loses.
      if ((error as { code?: string; constraint?: string }).code === '23505' && (error as { constraint?: string }).constraint === IDEMPOTENCY_INDEX) {
        throw reusedKey(options.idempotencyKey ?? '');
      }
      throw error;
    }
  }
  for (const entry of ready) {
    const event = stored.get(entry.hash);
    if (!event) throw new Error(`ingest: no event came back for transaction ${entry.payload.transaction_id}`);
    const first = firstByHash.get(entry.hash) === entry;
    outcomes[entry.index] = { index: entry.index, transactionId: entry.payload.transaction_id, status: first && event.inserted ? 'accepted' : 'duplicate', eventId: event.id };
  }
  ctx.log.debug({ keyId: grant.keyId, received: transactions.length, stored: [...stored.values()].filter((event) => event.inserted).length }, 'ingest: transactions stored');
  return outcomes.map((outcome) => outcome!);
}

function reusedKey(key: string): AppError {
  return new AppError(
    'validation_failed',
    `The Idempotency-Key "${key}" was used before with another body. Send the same body to repeat that request, or use a new key for a new one.`,
    { idempotencyKey: key },
  );
}

/**
 * A key (or a batch's `key#i`) that already names an event with other content means another body under the
 * same Idempotency-Key: 422, before anything is stored. A transaction of the batch that is refused now but
 * was stored under its key then differs too.
 */
async function refuseReusedIdempotencyKeys(ctx: Context, grant: IngestGrant, count: number, ready: Ready[], options: IngestOptions): Promise<void> {
  const base = options.idempotencyKey!;
  const keys = options.single ? [base] : Array.from({ length: count }, (_, index) => `${base}#${index}`);
  const { rows } = await ctx.db.pool.query<{ idempotency_key: string; hash: string }>(
    `SELECT idempotency_key, encode(event_hash, 'hex') AS hash FROM ingest_events WHERE api_key_id = $1 AND idempotency_key = ANY ($2::text[])`,
    [grant.keyId, keys],
  );
  const hashByKey = new Map(ready.map((entry) => [entry.idempotencyKey, entry.hash]));
  if (rows.some((row) => hashByKey.get(row.idempotency_key) !== row.hash)) throw reusedKey(base);
}
