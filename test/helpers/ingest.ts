import { createHash } from 'node:crypto';
import type pg from 'pg';

/** A point-of-sale transaction as devices send it (the document's payload). */
export interface PosTransaction {
  transaction_id: string;
  store_id: string;
  ts: string;
  total_amount: number | string;
  items: { product_id?: string; product_name: string; brand?: string; qty: number | string; unit_price: number | string; line_amount?: number | string }[];
}

/** A well-formed transaction: `lines` items whose amounts make the total exactly. */
export function posTransaction(id: string, store: string, overrides: Partial<PosTransaction> = {}, lines = 3): PosTransaction {
  const items = Array.from({ length: lines }, (_, i) => ({ product_id: `SKU-${i + 1}`, product_name: ['Croissant', 'Baguette', 'Flat White'][i % 3]!, brand: 'House', qty: i + 1, unit_price: 2.5, line_amount: (i + 1) * 2.5 }));
  const total = items.reduce((sum, item) => sum + item.line_amount, 0);
  return { transaction_id: id, store_id: store, ts: '2026-12-01T09:30:00Z', total_amount: total, items, ...overrides };
}

/**
 * Writes events to bronze as the ingest endpoint stores them (one multi-row INSERT; the hash over the body as
 * sent, so a changed body is a new event), pending, and returns their ids in order. `shopId` null leaves the
 * store to be found by code.
 */
export async function insertBronzeEvents(pool: pg.Pool | pg.ClientBase, businessId: string, events: { payload: PosTransaction | Record<string, unknown>; shopId?: string | null; simulated?: boolean }[]): Promise<string[]> {
  const rows = events.map(({ payload, shopId, simulated }, n) => ({
    n,
    shop_id: shopId ?? null,
    store_code: String((payload as { store_id?: unknown }).store_id ?? ''),
    transaction_id: String((payload as { transaction_id?: unknown }).transaction_id ?? ''),
    hash: createHash('sha256').update(JSON.stringify(payload)).digest('hex'),
    payload,
    simulated: simulated ?? false,
  }));
  const { rows: inserted } = await pool.query<{ id: string }>(
    `INSERT INTO ingest_events (business_id, shop_id, store_code, transaction_id, event_hash, payload, simulated)
     SELECT $1, r.shop_id, r.store_code, r.transaction_id, decode(r.hash, 'hex'), r.payload, r.simulated
     FROM jsonb_to_recordset($2::jsonb) AS r(n int, shop_id uuid, store_code text, transaction_id text, hash text, payload jsonb, simulated boolean)
     ORDER BY r.n
     RETURNING id::text`,
    [businessId, JSON.stringify(rows)],
  );
  return inserted.map((row) => row.id);
}

/** Silver's totals for a business: what a clean run and a run after a crash must agree on. */
export async function silverTotals(pool: pg.Pool, businessId: string) {
  const { rows } = await pool.query<{ transactions: number; items: number; total_cents: string; line_cents: string; qty: string }>(
    `SELECT (SELECT count(*)::int FROM transactions WHERE business_id = $1) AS transactions,
            (SELECT count(*)::int FROM transaction_items WHERE business_id = $1) AS items,
            (SELECT COALESCE(sum(total_cents), 0)::text FROM transactions WHERE business_id = $1) AS total_cents,
            (SELECT COALESCE(sum(line_amount_cents), 0)::text FROM transaction_items WHERE business_id = $1) AS line_cents,
            (SELECT COALESCE(sum(qty), 0)::text FROM transaction_items WHERE business_id = $1) AS qty`,
    [businessId],
  );
  return rows[0]!;
}
