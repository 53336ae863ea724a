import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type Context } from '../../core/context.js';
import { withTransaction } from '../../core/db/index.js';
import { foldTransactionsIntoGold, goldAggregates, recomputeGold } from '../../core/ingest/gold.js';
import { assertAggregateTable } from '../../core/warehouse/aggregates.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { drainToSilver } from '../../core/ingest/silver.js';
import { insertBronzeEvents, type PosTransaction } from '../helpers/ingest.js';
import { writeSilverBatch, type SilverTransaction } from '../helpers/silver.js';

/** Gold folded from silver batches, against gold recomputed from silver. */

const BUSINESS = '0a000000-0000-4000-8000-0000000000f1';
let database: TestDatabase;
let pool: pg.Pool;
let ctx: Context;
let products: string[];

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function transactionOf(next: () => number, id: string, occurredAt: string, simulated: boolean): SilverTransaction {
  const lines = 1 + Math.floor(next() * 4);
  return {
    store: `STORE-${1 + Math.floor(next() * 3)}`,
    transactionId: id,
    occurredAt,
    simulated,
    items: Array.from({ length: lines }, () => {
      const linked = next() < 0.8;
      const n = Math.floor(next() * products.length);
      return { name: linked ? `Product ${n}` : `Unlisted ${n}`, productId: linked ? products[n] : null, qty: String(1 + Math.floor(next() * 3)), unitCents: 50 + Math.floor(next() * 2000) };
    }),
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  pool = database.db.pool;
  ctx = systemContext('test', database.db, pino({ level: 'silent' }));
  await pool.query(`INSERT INTO businesses (id, name, timezone) VALUES ($1, 'Gold Co', 'Europe/Berlin')`, [BUSINESS]);
  const inserted = await pool.query<{ id: string }>(`INSERT INTO products (business_id, name, selling_price_cents, category) SELECT $1, 'Product ' || g, 100, CASE WHEN g % 2 = 0 THEN 'Drinks' ELSE 'Snacks' END FROM generate_series(0, 9) g RETURNING id`, [BUSINESS]);
  products = inserted.rows.map((r) => r.id);
});
afterAll(async () => database?.drop());

describe('gold', () => {
  it('has what folding needs on every aggregate table', async () => {
    for (const aggregate of goldAggregates) await assertAggregateTable(pool, aggregate);
  });

  it('folds a batch in the batch\'s own transaction: visible to it at once, to others at its commit', async () => {
    const outside = await pool.connect();
    try {
      await withTransaction(pool, async (client) => {
        await client.query(`INSERT INTO shops (business_id, name, code) VALUES ($1, 'Store one', 'STORE-1') ON CONFLICT DO NOTHING`, [BUSINESS]);
        const event = await client.query<{ id: string }>(
          `INSERT INTO ingest_events (business_id, shop_id, store_code, transaction_id, event_hash, payload, status) SELECT $1, id, 'STORE-1', 'T-VISIBLE', '\\x01', '{}', 'processed' FROM shops WHERE business_id = $1 AND code = 'STORE-1' RETURNING id`,
          [BUSINESS],
        );
        const tx = await client.query<{ id: string }>(
          `INSERT INTO transactions (business_id, shop_id, store_code, transaction_id, event_id, occurred_at, total_cents, currency, item_count)
           SELECT $1, id, 'STORE-1', 'T-VISIBLE', $2, '2026-12-05T10:30:00Z', 1234, 'USD', 1 FROM shops WHERE business_id = $1 AND code = 'STORE-1' RETURNING id`,
          [BUSINESS, event.rows[0]!.id],
        );
        await client.query(`INSERT INTO transaction_items (business_id, transaction_pk, line_no, product_name, qty, unit_price_cents, line_amount_cents) VALUES ($1, $2, 1, 'Coffee', 2, 617, 1234)`, [BUSINESS, tx.rows[0]!.id]);
        await foldTransactionsIntoGold(client, [BigInt(tx.rows[0]!.id)], 1);
        const inside = await client.query(`SELECT to_char(hour, 'YYYY-MM-DD HH24:MI') AS hour, transactions, units, sales_cents FROM gold_sales_hourly WHERE business_id = $1`, [BUSINESS]);
        // 10:30 UTC is 11:30 in Berlin: gold's hours are the business's.
        expect(inside.rows).toEqual([{ hour: '2026-12-05 11:00', transactions: '1', units: '2.000', sales_cents: '1234' }]);
        expect((await outside.query('SELECT count(*)::int AS n FROM gold_sales_hourly WHERE business_id = $1', [BUSINESS])).rows[0].n).toBe(0);
      });
      expect((await outside.query('SELECT sum(sales_cents)::int AS s FROM gold_sales_daily WHERE business_id = $1', [BUSINESS])).rows[0].s).toBe(1234);
      const mix = await outside.query(`SELECT unlinked_name, lines, units FROM gold_product_mix_daily WHERE business_id = $1`, [BUSINESS]);
      expect(mix.rows).toEqual([{ unlinked_name: 'Coffee', lines: '1', units: '2.000' }]);
    } finally {
      outside.release();
    }
  });

  it('equals its recomputation from silver after a long run of batches with replacements, duplicates and late events', async () => {
    const next = random(17);
    let sent = 0;
    const sentIds: string[] = [];
    for (let batch = 0; batch < 40; batch++) {
      const transactions: SilverTransaction[] = [];
      for (let i = 0; i < 60; i++) {
        const roll = next();
        // A resend of an earlier transaction: the same again (a duplicate) or corrected content (a replacement).
        const earlier = roll < 0.15 && sentIds.length > 0 ? sentIds[Math.floor(next() * sentIds.length)]! : null;
        const id = earlier ?? `T-${++sent}`;
        if (transactions.some((t) => t.transactionId === id)) continue;
        // Late events: a tenth happened days before the batch that brings them.
        const daysAgo = next() < 0.1 ? 3 + Math.floor(next() * 10) : Math.floor(batch / 10);
        const at = new Date(Date.UTC(2026, 11, 6, Math.floor(next() * 24), Math.floor(next() * 60)) - daysAgo * 86_400_000).toISOString();
        const simulated = next() < 0.7;
        transactions.push(transactionOf(next, id, at, simulated));
        if (!earlier) sentIds.push(id);
      }
      // A transaction id is unique per store: writing one under another store is another transaction.
      await writeSilverBatch(pool, BUSINESS, transactions);
    }
    // A re-link: lines of one product moved to another, folded out and in around the change.
    await withTransaction(pool, async (client) => {
      const touched = await client.query<{ transaction_pk: string }>('SELECT DISTINCT transaction_pk FROM transaction_items WHERE product_id = $1', [products[3]]);
      const pks = touched.rows.map((r) => r.transaction_pk);
      await foldTransactionsIntoGold(client, pks, -1);
      await client.query('UPDATE transaction_items SET product_id = $2 WHERE product_id = $1', [products[3], products[4]]);
      await foldTransactionsIntoGold(client, pks, 1);
    });

    const silver = await pool.query(`SELECT count(*)::int AS n, sum(total_cents)::bigint AS cents, bool_or(simulated) AND NOT bool_and(simulated) AS mixed FROM transactions WHERE business_id = $1`, [BUSINESS]);
    const goldDaily = await pool.query(`SELECT sum(transactions)::int AS n, sum(sales_cents)::bigint AS cents FROM gold_sales_daily WHERE business_id = $1`, [BUSINESS]);
    expect(silver.rows[0].mixed).toBe(true);
    expect(goldDaily.rows[0]).toEqual({ n: silver.rows[0].n, cents: silver.rows[0].cents });
    expect((await pool.query('SELECT count(*)::int AS n FROM gold_product_mix_daily WHERE product_id = $1', [products[3]])).rows[0].n).toBe(0);

    const check = await recomputeGold(ctx, { force: true });
    expect(check.checks.map((c) => [c.aggregate, c.differences.length])).toEqual(goldAggregates.map((a) => [a.table, 0]));
    expect(check.alerted).toEqual([]);
  });

  it('finds a difference injected into gold, raises an alert naming it, and repairs it', async () => {
    const row = await pool.query<{ shop_id: string; day: string }>(`SELECT shop_id, to_char(day, 'YYYY-MM-DD') AS day FROM gold_sales_daily WHERE business_id = $1 ORDER BY day LIMIT 1`, [BUSINESS]);
    const { shop_id: shopId, day } = row.rows[0]!;
    await pool.query(`UPDATE gold_sales_daily SET sales_cents = sales_cents + 500 WHERE business_id = $1 AND shop_id = $2 AND day = $3 AND NOT simulated`, [BUSINESS, shopId, day]);
    await pool.query(`UPDATE gold_sales_daily SET sales_cents = sales_cents + 500 WHERE business_id = $1 AND shop_id = $2 AND day = $3 AND simulated`, [BUSINESS, shopId, day]);
    const found = await recomputeGold(ctx, { force: true });
    const daily = found.checks.find((c) => c.aggregate === 'gold_sales_daily')!;
    expect(daily.differences.length).toBeGreaterThanOrEqual(1);
    for (const difference of daily.differences) {
      expect(difference.key).toMatchObject({ business_id: BUSINESS, shop_id: shopId, day });
      expect(Number(difference.stored!.sales_cents) - Number(difference.expected!.sales_cents)).toBe(500);
    }
    expect(found.checks.filter((c) => c.aggregate !== 'gold_sales_daily').every((c) => c.differences.length === 0)).toBe(true);
    expect(found.alerted).toEqual(['gold_sales_daily']);
    const alert = await pool.query(`SELECT message FROM warehouse_alerts WHERE kind = 'aggregate_mismatch' AND closed_at IS NULL`);
    expect(alert.rows.map((r) => r.message)).toEqual([expect.stringContaining(`Aggregate gold_sales_daily differs from its recomputation`)]);

    const repaired = await recomputeGold(ctx, { force: true, repair: true });
    expect(repaired.checks.find((c) => c.aggregate === 'gold_sales_daily')!.repaired).toBe(true);
    const clean = await recomputeGold(ctx, { force: true });
    expect(clean.checks.every((c) => c.differences.length === 0)).toBe(true);
    expect((await pool.query(`SELECT count(*)::int AS n FROM warehouse_alerts WHERE kind = 'aggregate_mismatch' AND closed_at IS NULL`)).rows[0].n).toBe(0);
  });

  it('equals its recomputation after a long simulated run through the silver worker, with duplicates, corrections and late events', { timeout: 180_000 }, async () => {
    const next = random(99);
    const sent: PosTransaction[] = [];
    const bodies = new Set<string>();
    await pool.query(`INSERT INTO shops (business_id, name, code) SELECT $1, 'Store ' || g, 'STORE-' || g FROM generate_series(1, 3) g ON CONFLICT DO NOTHING`, [BUSINESS]);
    const worker = { batchSize: 150, linkThreshold: 0.85, maxTransactionCents: 1_000_000, futureToleranceSeconds: 300, worker: 'gold-test' };
    for (let round = 0; round < 8; round++) {
      const events: { payload: PosTransaction; simulated: boolean }[] = [];
      for (let i = 0; i < 250; i++) {
        const roll = next();
        const earlier = sent.length > 0 ? sent[Math.floor(next() * sent.length)]! : null;
        if (earlier && roll < 0.06) {
          // A duplicate: the same transaction again, its timestamp written another way (other bytes, same instant).
          events.push({ payload: { ...earlier, ts: earlier.ts.replace('.000Z', 'Z') }, simulated: true });
        } else if (earlier && roll < 0.1 && earlier.items.length > 1) {
          // A correction: the till voided the last line.
          const items = earlier.items.slice(0, -1);
          events.push({ payload: { ...earlier, items, total_amount: Math.round(items.reduce((sum, item) => sum + Number(item.line_amount) * 100, 0)) / 100 }, simulated: true });
        } else {
          const lateDays = next() < 0.1 ? 2 + Math.floor(next() * 5) : 0;
          const items = Array.from({ length: 1 + Math.floor(next() * 3) }, () => {
            const n = Math.floor(next() * 12);
            const qty = 1 + Math.floor(next() * 3);
            const unit = (100 + Math.floor(next() * 900)) / 100;
            return { product_id: `SKU-${n}`, product_name: n < 10 ? `Product ${n}` : `Street food ${n}`, qty, unit_price: unit, line_amount: Math.round(qty * unit * 100) / 100 };
          });
          const payload: PosTransaction = {
            transaction_id: `SIM-${round}-${i}`,
            store_id: `STORE-${1 + Math.floor(next() * 3)}`,
            ts: new Date(Date.UTC(2026, 11, 5 - lateDays, Math.floor(next() * 24), Math.floor(next() * 60))).toISOString(),
            total_amount: Math.round(items.reduce((sum, item) => sum + item.line_amount * 100, 0)) / 100,
            items,
          };
          sent.push(payload);
          events.push({ payload, simulated: true });
        }
      }
      // The endpoint answers a body it has already stored with its first event: bronze holds each body once.
      const unique = events.filter((e) => !bodies.has(JSON.stringify(e.payload)) && bodies.add(JSON.stringify(e.payload)));
      await insertBronzeEvents(pool, BUSINESS, unique);
      await drainToSilver(ctx, worker);
    }
    const moved = await pool.query(`SELECT count(*) FILTER (WHERE status = 'processed')::int AS processed, count(*) FILTER (WHERE status <> 'processed')::int AS other FROM ingest_events WHERE business_id = $1 AND payload ? 'store_id'`, [BUSINESS]);
    expect(moved.rows[0].other).toBe(0);
    expect(moved.rows[0].processed).toBeGreaterThan(1800);
    const silver = await pool.query(`SELECT count(*)::int AS n, sum(total_cents)::bigint AS cents FROM transactions WHERE business_id = $1`, [BUSINESS]);
    const goldDaily = await pool.query(`SELECT sum(transactions)::int AS n, sum(sales_cents)::bigint AS cents FROM gold_sales_daily WHERE business_id = $1`, [BUSINESS]);
    expect(goldDaily.rows[0]).toEqual(silver.rows[0]);
    const check = await recomputeGold(ctx, { force: true });
    expect(check.checks.map((c) => [c.aggregate, c.differences.length])).toEqual(goldAggregates.map((a) => [a.table, 0]));
  });

  it('skips the nightly check when nothing was written since the last clean one', async () => {
    await recomputeGold(ctx, { force: true });
    await expect.poll(async () => (await recomputeGold(ctx)).checks.map((c) => c.skipped), { timeout: 15_000, interval: 500 }).toEqual(goldAggregates.map(() => 'unchanged'));
  });
});
