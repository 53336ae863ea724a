import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserPrincipal } from '../../core/auth/principal.js';
import { contextFor, systemContext, type Context } from '../../core/context.js';
import { acknowledgeAlert } from '../../core/ingest/alerts.js';
import { recomputeGold } from '../../core/ingest/gold.js';
import { confirmProductLink, linkCoverage, relinkProduct, retryFailedEvents } from '../../core/ingest/review.js';
import { drainToSilver, moveBatchToSilver, type SilverOptions } from '../../core/ingest/silver.js';
import { createLogger } from '../../core/log.js';
import { createRecord } from '../../core/records/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { insertBronzeEvents, posTransaction } from '../helpers/ingest.js';

/**
 * Bronze → silver through the worker's core against a real PostgreSQL: the move, replacement of a re-sent
 * transaction, failed events that never block the others and can be retried, each data-quality rule, and
 * product linking with its review queue.
 */
let database: TestDatabase;
let system: Context;
const options: SilverOptions = { batchSize: 2000, linkThreshold: 0.85, maxTransactionCents: 1_000_000, futureToleranceSeconds: 300, worker: 'test' };

let businessCount = 0;
/** A business of its own for each test: a store, a catalog, and an ops person of it. */
async function business(products: string[] = ['Croissant', 'Baguette', 'Flat White']) {
  const id = (row: Record<string, unknown>) => row.id as string;
  const businessId = id(await createRecord(system, 'businesses', { name: `Bakery ${++businessCount}`, currency: 'EUR' }));
  const shopId = id(await createRecord(system, 'shops', { businessId, name: 'Main street', code: 'STORE-001' }));
  const productIds: Record<string, string> = {};
  for (const name of products) productIds[name] = id(await createRecord(system, 'products', { businessId, name, sellingPriceCents: 250, costPriceCents: 100 }));
  const opsId = id(await createRecord(system, 'users', { email: `ops${businessCount}@silver.test`, role: 'ops', businessId, password: 'correct-horse-battery' }));
  const ops: UserPrincipal = { kind: 'user', id: opsId, email: `ops${businessCount}@silver.test`, name: null, role: 'ops', businessId, shopIds: [] };
  return { businessId, shopId, productIds, ops: contextFor(ops, database.db, system.log) };
}

/** Gold as folded by the batches equals gold recomputed from silver, aggregate by aggregate. */
async function expectGoldMatchesSilver() {
  const { checks } = await recomputeGold(system, { force: true });
  expect(checks.map((check) => [check.aggregate, check.differences.length])).toEqual(checks.map((check) => [check.aggregate, 0]));
}

const query = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await database.db.pool.query(sql, params)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase();
  system = systemContext('test', database.db, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'));
});
afterAll(async () => database?.drop());

describe('moving bronze to silver', () => {
  it('writes each transaction and its lines in cents, marks the events processed, and records the batch', async () => {
    const b = await business();
    const ids = await insertBronzeEvents(database.db.pool, b.businessId, [
      { payload: posTransaction('T-1', 'STORE-001', { total_amount: 17.5 }, 2) },
      { payload: posTransaction('T-2', 'STORE-001', { ts: '2026-12-01T12:00:00+01:00' }, 3), shopId: b.shopId, simulated: true },
    ]);
    // posTransaction's 2 lines: 1 × 2.50 + 2 × 2.50 = 7.50, not 17.50: the lines-to-total rule flags it (below).
    const batch = await moveBatchToSilver(system, options);
    expect(batch).toMatchObject({ claimed: 2, written: 2, failed: 0, superseded: 0 });
    const transactions = await query<{ transaction_id: string; total_cents: string; currency: string; item_count: number; simulated: boolean; shop_id: string; occurred_at: Date }>(
      'SELECT transaction_id, total_cents::text, currency, item_count, simulated, shop_id, occurred_at FROM transactions WHERE business_id = $1 ORDER BY transaction_id',
      [b.businessId],
    );
    expect(transactions).toMatchObject([
      { transaction_id: 'T-1', total_cents: '1750', currency: 'EUR', item_count: 2, simulated: false, shop_id: b.shopId },
      { transaction_id: 'T-2', total_cents: '1500', item_count: 3, simulated: true },
    ]);
    expect(transactions[1]!.occurred_at.toISOString()).toBe('2026-12-01T11:00:00.000Z');
    const items = await query('SELECT line_no, source_product_id, product_name, brand, qty::text, unit_price_cents::text, line_amount_cents::text FROM transaction_items i JOIN transactions t ON t.id = i.transaction_pk WHERE t.transaction_id = $1 AND t.business_id = $2 ORDER BY line_no', ['T-2', b.businessId]);
    expect(items).toEqual([
      { line_no: 1, source_product_id: 'SKU-1', product_name: 'Croissant', brand: 'House', qty: '1.000', unit_price_cents: '250', line_amount_cents: '250' },
      { line_no: 2, source_product_id: 'SKU-2', product_name: 'Baguette', brand: 'House', qty: '2.000', unit_price_cents: '250', line_amount_cents: '500' },
      { line_no: 3, source_product_id: 'SKU-3', product_name: 'Flat White', brand: 'House', qty: '3.000', unit_price_cents: '250', line_amount_cents: '750' },
    ]);
    expect(await query('SELECT status, attempts, error FROM ingest_events WHERE id = ANY($1::bigint[])', [ids])).toEqual([
      { status: 'processed', attempts: 1, error: null },
      { status: 'processed', attempts: 1, error: null },
    ]);
    const [run] = await query('SELECT events_claimed, transactions_written, events_failed, worker FROM ingest_etl_runs ORDER BY id DESC LIMIT 1');
    expect(run).toEqual({ events_claimed: 2, transactions_written: 2, events_failed: 0, worker: 'test' });
    // Nothing pending: no batch, no run row.
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 0 });
    expect(await query('SELECT count(*)::int AS n FROM ingest_etl_runs')).toEqual([{ n: 1 }]);
  });

  it('a re-sent transaction with other content replaces the silver one; an older event never overwrites a newer one', async () => {
    const b = await business();
    await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: posTransaction('R-1', 'STORE-001', {}, 3) }]);
    await drainToSilver(system, options);
    const [before] = await query<{ id: string }>('SELECT id::text FROM transactions WHERE business_id = $1', [b.businessId]);
    // The same transaction twice more in one batch: the latest wins, the other is superseded.
    const [, latest] = await insertBronzeEvents(database.db.pool, b.businessId, [
      { payload: posTransaction('R-1', 'STORE-001', { total_amount: 2.5 }, 1) },
      { payload: posTransaction('R-1', 'STORE-001', { total_amount: 7.5, ts: '2026-12-01T10:00:00Z' }, 2) },
    ]);
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 2, written: 1, superseded: 1 });
    const rows = await query<{ id: string; event_id: string; total_cents: string; item_count: number }>('SELECT id::text, event_id::text, total_cents::text, item_count FROM transactions WHERE business_id = $1', [b.businessId]);
    expect(rows).toEqual([{ id: before!.id, event_id: latest, total_cents: '750', item_count: 2 }]);
    expect(await query('SELECT line_no FROM transaction_items WHERE transaction_pk = $1 ORDER BY line_no', [before!.id])).toEqual([{ line_no: 1 }, { line_no: 2 }]);
    // An event older than the one silver holds (a retried failure, say) is processed without writing.
    await query(`UPDATE ingest_events SET status = 'pending' WHERE business_id = $1 AND id < $2::bigint`, [b.businessId, latest]);
    expect(await moveBatchToSilver(system, options)).toMatchObject({ written: 0, superseded: 2 });
    expect(await query('SELECT event_id::text, total_cents::text FROM transactions WHERE business_id = $1', [b.businessId])).toEqual([{ event_id: latest, total_cents: '750' }]);
    // Gold was folded out (-1) before the replacement and in (+1) after: it holds the latest content only.
    expect(await query('SELECT sum(transactions)::int AS transactions, sum(sales_cents)::text AS sales FROM gold_sales_daily WHERE business_id = $1', [b.businessId])).toEqual([{ transactions: 1, sales: '750' }]);
    await expectGoldMatchesSilver();
  });
});

describe('a transaction and its re-sent version in one batch', () => {
  it('the later event wins', async () => {
    const b = await business();
    const original = posTransaction('B-1', 'STORE-001', { total_amount: 58.15, items: [{ product_id: 'SKU-30', product_name: 'Croissant', qty: 3, unit_price: 19.38, line_amount: 58.14 }] });
    const resent = { ...original, total_amount: original.total_amount as number + 1, items: [...original.items, { product_name: 'Baguette', qty: 1, unit_price: 1, line_amount: 1 }] };
    // Ids of different lengths (991, then 10000 or so): the later is the larger number, not the larger text.
    await query(`SELECT setval('ingest_events_id_seq', 990)`);
    const [first] = await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: original }]);
    expect(first).toBe('991');
    await query(`SELECT setval('ingest_events_id_seq', 9999)`);
    const [latest] = await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: resent }]);
    expect(latest).toBe('10000');
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 2, written: 1, superseded: 1 });
    expect(await query('SELECT event_id::text, total_cents::text, item_count FROM transactions WHERE business_id = $1', [b.businessId])).toEqual([{ event_id: latest, total_cents: '5915', item_count: 2 }]);
  });
});

describe('events that cannot be moved', () => {
  it('an unknown store fails its event with a critical alert, the rest of the batch moves, and a retry after the shop exists moves it', async () => {
    const b = await business();
    const [good1, unknown, malformed, good2] = await insertBronzeEvents(database.db.pool, b.businessId, [
      { payload: posTransaction('U-1', 'STORE-001') },
      { payload: posTransaction('U-2', 'STORE-404') },
      { payload: { transaction_id: 'U-3', store_id: 'STORE-001', ts: 'yesterday', total_amount: '1e400', items: [{ product_name: '', qty: 'two', unit_price: 1 }] } },
      { payload: posTransaction('U-4', 'STORE-001') },
    ]);
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 4, written: 2, failed: 2 });
    const events = await query<{ id: string; status: string; error: string | null }>('SELECT id::text, status, error FROM ingest_events WHERE business_id = $1 ORDER BY id', [b.businessId]);
    expect(events.map((e) => [e.id, e.status])).toEqual([[good1, 'processed'], [unknown, 'failed'], [malformed, 'failed'], [good2, 'processed']]);
    expect(events[1]!.error).toBe('Store STORE-404 is not a shop of this business: create a shop with code STORE-404 (or correct the device), then retry the event.');
    expect(events[2]!.error).toBe('ts: must be a date and time (ISO 8601); total_amount: must be a number below 10^12; items[0].product_name: required; items[0].qty: must be a number below 10^9');
    const alerts = await query('SELECT rule, severity, event_id::text, store_code, transaction_id FROM data_quality_alerts WHERE business_id = $1 ORDER BY event_id', [b.businessId]);
    expect(alerts).toEqual([
      { rule: 'unknown_store', severity: 'critical', event_id: unknown, store_code: 'STORE-404', transaction_id: 'U-2' },
      { rule: 'malformed_event', severity: 'critical', event_id: malformed, store_code: 'STORE-001', transaction_id: 'U-3' },
    ]);

    await createRecord(system, 'shops', { businessId: b.businessId, name: 'New store', code: 'STORE-404' });
    expect(await retryFailedEvents(b.ops, { event_ids: [unknown!] })).toEqual({ retried: 1, event_ids: [unknown] });
    await expect(retryFailedEvents(b.ops, { event_ids: [good1!] })).rejects.toThrow(`Only failed events of Bakery ${businessCount} can be retried; not: ${good1}.`);
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 1, written: 1 });
    expect(await query('SELECT status, attempts FROM ingest_events WHERE id = $1', [unknown])).toEqual([{ status: 'processed', attempts: 2 }]);
    expect(await query(`SELECT action, record_id, before->>'status' AS before FROM audit_log WHERE resource = 'ingestFailures' AND business_id = $1`, [b.businessId])).toEqual([{ action: 'retry', record_id: unknown, before: 'failed' }]);
  });

  it('an event that passes the checks but breaks a constraint is isolated and failed with PostgreSQL’s reason; the others move in the same batch', async () => {
    const b = await business();
    // No line_amount: qty × unit_price in cents is past bigint, which only the INSERT finds out.
    const overflowing = posTransaction('C-2', 'STORE-001', { total_amount: 1, items: [{ product_name: 'Croissant', qty: 999999999, unit_price: 99999999999.99 }] });
    const ids = await insertBronzeEvents(database.db.pool, b.businessId, [
      ...Array.from({ length: 6 }, (_, i) => ({ payload: posTransaction(`C-${i === 1 ? 'x' : i}`, 'STORE-001') })),
      { payload: overflowing },
    ]);
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 7, written: 6, failed: 1 });
    const [failed] = await query<{ id: string; error: string }>(`SELECT id::text, error FROM ingest_events WHERE business_id = $1 AND status = 'failed'`, [b.businessId]);
    expect(failed!.id).toBe(ids[6]);
    expect(failed!.error).toMatch(/^Could not be moved to silver: bigint out of range\. Correct the data/);
    expect(await query('SELECT count(*)::int AS n FROM transactions WHERE business_id = $1', [b.businessId])).toEqual([{ n: 6 }]);
  });
});

describe('data-quality rules at ingestion', () => {
  it('opens one alert per broken rule with its severity, keeps every transaction, and honours a business’s own threshold', async () => {
    const b = await business();
    const future = new Date(Date.now() + 3600_000).toISOString();
    const nearFuture = new Date(Date.now() + 60_000).toISOString();
    const line = (qty: number, unitPrice: number) => ({ product_name: 'Croissant', qty, unit_price: unitPrice, line_amount: qty * unitPrice });
    const ids = await insertBronzeEvents(database.db.pool, b.businessId, [
      { payload: posTransaction('Q-clean', 'STORE-001') },
      { payload: posTransaction('Q-negative-total', 'STORE-001', { total_amount: -5, items: [line(-2, 2.5)] }) },
      { payload: posTransaction('Q-negative-line', 'STORE-001', { total_amount: 2.5, items: [line(2, 2.5), line(-1, 2.5)] }) },
      { payload: posTransaction('Q-large', 'STORE-001', { total_amount: 12000, items: [line(4, 3000)] }) },
      { payload: posTransaction('Q-threshold-exact', 'STORE-001', { total_amount: 10000, items: [line(4, 2500)] }) },
      // 1% apart is allowed; just past it is not.
      { payload: posTransaction('Q-sum-within', 'STORE-001', { total_amount: 101, items: [line(1, 100)] }) },
      { payload: posTransaction('Q-sum-off', 'STORE-001', { total_amount: 101.02, items: [line(1, 100)] }) },
      { payload: posTransaction('Q-future', 'STORE-001', { ts: future }) },
      { payload: posTransaction('Q-near-future', 'STORE-001', { ts: nearFuture }) },
    ]);
    expect(await moveBatchToSilver(system, options)).toMatchObject({ claimed: 9, written: 9, failed: 0 });
    const alerts = await query<{ transaction_id: string; rule: string; severity: string; message: string }>('SELECT transaction_id, rule, severity, message FROM data_quality_alerts WHERE business_id = $1 ORDER BY transaction_id, rule', [b.businessId]);
    expect(alerts.map((a) => [a.transaction_id, a.rule, a.severity])).toEqual([
      ['Q-future', 'future_timestamp', 'warning'],
      ['Q-large', 'over_threshold', 'warning'],
      ['Q-negative-line', 'negative_amount', 'critical'],
      ['Q-negative-total', 'negative_amount', 'critical'],
      ['Q-sum-off', 'line_items_total_mismatch', 'critical'],
    ]);
    expect(alerts.find((a) => a.transaction_id === 'Q-large')!.message).toBe('Transaction Q-large of store STORE-001 totals EUR 12000.00, above the threshold of EUR 10000.00: check that it is real.');
    expect(alerts.find((a) => a.transaction_id === 'Q-sum-off')!.message).toBe('Transaction Q-sum-off of store STORE-001: its lines add up to EUR 100.00 but its total_amount is EUR 101.02 (more than 1% apart). Check the device\'s rounding or missing lines.');
    expect(alerts.find((a) => a.transaction_id === 'Q-negative-total')!.message).toMatch(/has a negative total \(EUR -5\.00\)/);
    expect(await query('SELECT count(*)::int AS n FROM transactions WHERE business_id = $1', [b.businessId])).toEqual([{ n: ids.length }]);
    // The same checks over silver as a function: the criticals it counts are the flagged transactions.
    const checks = await query<{ check_name: string; severity: string; failures: string }>('SELECT check_name, severity, failures::text FROM silver_sanity_checks($1)', [b.businessId]);
    expect(Object.fromEntries(checks.map((c) => [c.check_name, Number(c.failures)]))).toMatchObject({ negative_amounts: 2, line_items_sum_to_total: 1, over_transaction_threshold: 1, future_timestamps: 1, item_count_matches_lines: 0 });

    // A business's own threshold: 500.00 flags what 10,000 did not.
    await query('INSERT INTO ingest_quality_settings (business_id, max_transaction_cents) VALUES ($1, 50000)', [b.businessId]);
    await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: posTransaction('Q-medium', 'STORE-001', { total_amount: 600, items: [line(2, 300)] }) }]);
    await moveBatchToSilver(system, options);
    expect(await query(`SELECT rule, severity FROM data_quality_alerts WHERE business_id = $1 AND transaction_id = 'Q-medium'`, [b.businessId])).toEqual([{ rule: 'over_threshold', severity: 'warning' }]);
  });

  it('an alert is acknowledged once, by a person of its business, audited', async () => {
    const b = await business();
    const other = await business();
    await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: posTransaction('A-1', 'STORE-001', { total_amount: -1, items: [{ product_name: 'Croissant', qty: -1, unit_price: 1, line_amount: -1 }] }) }]);
    await moveBatchToSilver(system, options);
    const [alert] = await query<{ id: string }>('SELECT id::text FROM data_quality_alerts WHERE business_id = $1', [b.businessId]);
    await expect(acknowledgeAlert(other.ops, { alert_id: alert!.id })).rejects.toThrow('was not found');
    const acknowledged = await acknowledgeAlert(b.ops, { alert_id: alert!.id });
    expect(acknowledged.acknowledged_by).toBe(b.ops.user.kind === 'user' ? b.ops.user.id : null);
    expect(acknowledged.acknowledged_at).toBeInstanceOf(Date);
    await expect(acknowledgeAlert(b.ops, { alert_id: alert!.id })).rejects.toThrow(/was acknowledged already/);
    expect(await query(`SELECT action, user_email FROM audit_log WHERE resource = 'dataQualityAlerts' AND record_id = $1`, [alert!.id])).toEqual([{ action: 'acknowledge', user_email: `ops${businessCount - 1}@silver.test` }]);
  });
});

describe('product linking', () => {
  it('links by catalog id, exact name, alias, then fuzzy with its confidence; below the threshold a store product waits for review', async () => {
    const b = await business(['Butter Croissant', 'Sourdough Loaf', 'Flat White', 'Pain au Chocolat', 'Espresso']);
    await query(`INSERT INTO product_aliases (business_id, alias, alias_key, product_id) VALUES ($1, 'Choc Pastry', 'choc pastry', $2)`, [b.businessId, b.productIds['Pain au Chocolat']]);
    const item = (product_name: string, product_id?: string) => ({ product_id, product_name, qty: 1, unit_price: 2, line_amount: 2 });
    await insertBronzeEvents(database.db.pool, b.businessId, [
      {
        payload: posTransaction('L-1', 'STORE-001', {
          total_amount: 12,
          items: [item('whatever the device calls it', b.productIds['Espresso']), item('flat white'), item('Choc Pastry'), item('Croissant Butter'), item('Sourdough Loaves'), item('Gift card')],
        }),
      },
    ]);
    await moveBatchToSilver(system, options);
    const lines = await query<{ product_name: string; product_id: string | null; link_method: string | null; link_confidence: string | null }>(
      'SELECT product_name, product_id, link_method, link_confidence::text FROM transaction_items WHERE business_id = $1 ORDER BY line_no',
      [b.businessId],
    );
    expect(lines).toEqual([
      { product_name: 'whatever the device calls it', product_id: b.productIds['Espresso'], link_method: 'exact_id', link_confidence: '1.000' },
      { product_name: 'flat white', product_id: b.productIds['Flat White'], link_method: 'exact_name', link_confidence: '1.000' },
      { product_name: 'Choc Pastry', product_id: b.productIds['Pain au Chocolat'], link_method: 'alias', link_confidence: '1.000' },
      { product_name: 'Croissant Butter', product_id: b.productIds['Butter Croissant'], link_method: 'fuzzy', link_confidence: '1.000' },
      { product_name: 'Sourdough Loaves', product_id: null, link_method: null, link_confidence: null },
      { product_name: 'Gift card', product_id: null, link_method: null, link_confidence: null },
    ]);
    const queue = await query<{ product_name: string; status: string; product_id: string | null; method: string; confidence: string }>(
      `SELECT product_name, status, product_id, method, confidence::text FROM ingest_product_links WHERE business_id = $1 AND status = 'review' ORDER BY product_name`,
      [b.businessId],
    );
    expect(queue).toHaveLength(2);
    expect(queue[0]).toMatchObject({ product_name: 'Gift card', status: 'review', method: 'fuzzy' });
    expect(Number(queue[0]!.confidence)).toBeLessThan(0.5);
    expect(queue[1]).toMatchObject({ product_name: 'Sourdough Loaves', product_id: b.productIds['Sourdough Loaf'], method: 'fuzzy' });
    expect(Number(queue[1]!.confidence)).toBeGreaterThan(0.8);
    expect(Number(queue[1]!.confidence)).toBeLessThan(0.85);
    expect(await linkCoverage(b.ops, {})).toEqual({ line_items: 6, linked: 4, coverage: 0.6667, awaiting_review: 2 });
  });

  it('confirming or re-linking from the review queue links every line of that store product, is remembered for later events and audited', async () => {
    const b = await business(['Sourdough Loaf', 'Gift Voucher', 'Store Credit']);
    const payload = (id: string) => posTransaction(id, 'STORE-001', { total_amount: 4, items: [{ product_id: 'SD-1', product_name: 'Sourdough Loaves', qty: 1, unit_price: 2, line_amount: 2 }, { product_name: 'Gift card', qty: 1, unit_price: 2, line_amount: 2 }] });
    await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: payload('V-1') }, { payload: payload('V-2') }]);
    await drainToSilver(system, options);
    const links = await query<{ id: string; product_name: string }>(`SELECT id::text, product_name FROM ingest_product_links WHERE business_id = $1 AND status = 'review' ORDER BY product_name`, [b.businessId]);
    const [giftCard, sourdough] = links;

    const confirmed = await confirmProductLink(b.ops, { link_id: sourdough!.id });
    expect(confirmed).toMatchObject({ status: 'confirmed', product_id: b.productIds['Sourdough Loaf'], lines_relinked: 2 });
    // Gift card's suggestion (Gift Voucher) is not what it is: a person links it to Store Credit.
    const relinked = await relinkProduct(b.ops, { link_id: giftCard!.id, product_id: b.productIds['Store Credit']! });
    expect(relinked).toMatchObject({ status: 'confirmed', product_id: b.productIds['Store Credit'], lines_relinked: 2 });
    expect(await linkCoverage(b.ops, {})).toMatchObject({ line_items: 4, linked: 4, coverage: 1, awaiting_review: 0 });
    // Re-linking re-folded gold: the product mix now sells Store Credit, and nothing unlinked.
    expect(await query('SELECT product_id, unlinked_name, sum(lines)::int AS lines FROM gold_product_mix_daily WHERE business_id = $1 GROUP BY 1, 2 HAVING sum(lines) <> 0 ORDER BY 3, 1', [b.businessId])).toEqual(
      [
        { product_id: b.productIds['Sourdough Loaf'], unlinked_name: null, lines: 2 },
        { product_id: b.productIds['Store Credit'], unlinked_name: null, lines: 2 },
      ].sort((x, y) => x.product_id!.localeCompare(y.product_id!)),
    );
    await expectGoldMatchesSilver();

    // Remembered for the store's product id and name: the next event's lines link without the matcher.
    await insertBronzeEvents(database.db.pool, b.businessId, [{ payload: payload('V-3') }]);
    await moveBatchToSilver(system, options);
    expect(await query(`SELECT i.product_id, i.link_method, i.link_confidence::text FROM transaction_items i JOIN transactions t ON t.id = i.transaction_pk WHERE t.transaction_id = 'V-3' AND t.business_id = $1 ORDER BY line_no`, [b.businessId])).toEqual([
      { product_id: b.productIds['Sourdough Loaf'], link_method: 'confirmed', link_confidence: '1.000' },
      { product_id: b.productIds['Store Credit'], link_method: 'confirmed', link_confidence: '1.000' },
    ]);
    expect(await query(`SELECT action, after->>'product_name' AS product FROM audit_log WHERE resource = 'productLinks' AND business_id = $1 ORDER BY id`, [b.businessId])).toEqual([
      { action: 'confirm', product: 'Sourdough Loaf' },
      { action: 'relink', product: 'Store Credit' },
    ]);
    // Another business's product or link is refused.
    const other = await business(['Other Loaf']);
    await expect(relinkProduct(b.ops, { link_id: giftCard!.id, product_id: other.productIds['Other Loaf']! })).rejects.toThrow('is not in this business\'s catalog');
    await expect(confirmProductLink(other.ops, { link_id: giftCard!.id })).rejects.toThrow('was not found');
  });
});
