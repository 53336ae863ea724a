import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../../core/db/index.js';
import { foldTransactionsIntoGold } from '../../core/ingest/gold.js';

/** A transaction as silver stores it (amounts in cents), for tests that write silver directly. */
export interface SilverTransaction {
  store: string;
  transactionId: string;
  occurredAt: string;
  simulated?: boolean;
  items: { name: string; productId?: string | null; qty: string; unitCents: number }[];
}

/**
 * Writes a batch into bronze and silver as the silver worker does, set-based and in one transaction: a
 * transaction already in silver is replaced (its old content folded out of gold first, -1), then every
 * transaction of the batch is folded in (+1). Stores are shops found or created by code. Answers the
 * transactions' primary keys.
 */
export async function writeSilverBatch(pool: pg.Pool, businessId: string, batch: SilverTransaction[]): Promise<string[]> {
  const rows = batch.map((t) => ({
    store: t.store,
    transaction_id: t.transactionId,
    occurred_at: t.occurredAt,
    simulated: t.simulated ?? false,
    total_cents: t.items.reduce((sum, i) => sum + Math.round(Number(i.qty) * i.unitCents), 0),
    item_count: t.items.length,
    items: t.items.map((i, n) => ({ line_no: n + 1, product_name: i.name, product_id: i.productId ?? null, qty: i.qty, unit_price_cents: i.unitCents, line_amount_cents: Math.round(Number(i.qty) * i.unitCents) })),
    hash: createHash('sha256').update(JSON.stringify(t)).update(String(Math.random())).digest('hex'),
  }));
  return withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO shops (business_id, name, code) SELECT DISTINCT $1::uuid, 'Store ' || s, s FROM unnest($2::text[]) s
       ON CONFLICT DO NOTHING`,
      [businessId, [...new Set(rows.map((r) => r.store))]],
    );
    const batchRows = `jsonb_to_recordset($2::jsonb) AS r(store text, transaction_id text, occurred_at timestamptz, simulated boolean, total_cents bigint, item_count int, items jsonb, hash text)`;
    const replaced = await client.query<{ id: string }>(
      `SELECT t.id FROM transactions t JOIN ${batchRows} ON t.store_code = r.store AND t.transaction_id = r.transaction_id WHERE t.business_id = $1`,
      [businessId, JSON.stringify(rows)],
    );
    await foldTransactionsIntoGold(client, replaced.rows.map((r) => r.id), -1);
    const written = await client.query<{ id: string }>(
      `WITH events AS (
         INSERT INTO ingest_events (business_id, shop_id, store_code, transaction_id, event_hash, payload, simulated, status, processed_at)
         SELECT $1, s.id, r.store, r.transaction_id, decode(r.hash, 'hex'), to_jsonb(r), r.simulated, 'processed', now()
           FROM ${batchRows} JOIN shops s ON s.business_id = $1 AND s.code = r.store
         RETURNING id, shop_id, store_code, transaction_id, payload)
       INSERT INTO transactions (business_id, shop_id, store_code, transaction_id, event_id, occurred_at, total_cents, currency, item_count, simulated)
       SELECT $1, e.shop_id, e.store_code, e.transaction_id, e.id, (e.payload->>'occurred_at')::timestamptz, (e.payload->>'total_cents')::bigint, 'USD',
              (e.payload->>'item_count')::int, (e.payload->>'simulated')::boolean
         FROM events e
       ON CONFLICT (business_id, store_code, transaction_id) DO UPDATE
         SET event_id = EXCLUDED.event_id, occurred_at = EXCLUDED.occurred_at, total_cents = EXCLUDED.total_cents, item_count = EXCLUDED.item_count,
             simulated = EXCLUDED.simulated, processed_at = now()
       RETURNING id`,
      [businessId, JSON.stringify(rows)],
    );
    const pks = written.rows.map((r) => r.id);
    await client.query('DELETE FROM transaction_items WHERE transaction_pk = ANY($1::bigint[])', [pks]);
    await client.query(
      `INSERT INTO transaction_items (business_id, transaction_pk, line_no, product_name, qty, unit_price_cents, line_amount_cents, product_id, link_method, link_confidence)
       SELECT $1, t.id, i.line_no, i.product_name, i.qty, i.unit_price_cents, i.line_amount_cents, i.product_id,
              CASE WHEN i.product_id IS NOT NULL THEN 'exact_id' END, CASE WHEN i.product_id IS NOT NULL THEN 1 END
         FROM ${batchRows}
         JOIN transactions t ON t.business_id = $1 AND t.store_code = r.store AND t.transaction_id = r.transaction_id
         CROSS JOIN LATERAL jsonb_to_recordset(r.items) AS i(line_no int, product_name text, product_id uuid, qty numeric, unit_price_cents bigint, line_amount_cents bigint)`,
      [businessId, JSON.stringify(rows)],
    );
    await foldTransactionsIntoGold(client, pks, 1);
    return pks;
  });
}
