import type PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { INGEST_SILVER_QUEUE, ingestQueues } from '../../jobs/ingest.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { insertBronzeEvents, posTransaction } from '../helpers/ingest.js';

/**
 * Lines of the seed document's acceptance checklist that no other test held: bronze → silver on a schedule
 * every minute (a missed notification is caught up), and silver's foreign keys and line integrity, so that no
 * orphaned row can exist.
 */
let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  await app.db.pool.query(`UPDATE shops SET code = 'STORE-001' WHERE id = $1`, [t.shopA1]);
}, 120_000);
afterAll(async () => app?.close());

/** The PostgreSQL error code a statement fails with (null when it succeeds, rolled back either way). */
async function failureOf(sql: string, params: unknown[] = []): Promise<string | null> {
  const client = await app.db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(sql, params);
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? 'unknown';
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('bronze → silver every minute', () => {
  it('is scheduled every minute, and the scheduled job moves events whose notification was missed', { timeout: 60_000 }, async () => {
    const schedule = await app.db.pool.query(`SELECT cron, timezone FROM pgboss.schedule WHERE name = $1`, [INGEST_SILVER_QUEUE]);
    expect(schedule.rows).toEqual([{ cron: '* * * * *', timezone: 'UTC' }]);
    // Stored without NOTIFY (a listener that was reconnecting): only the schedule's job moves them.
    const ids = await insertBronzeEvents(app.db.pool, t.businessA, [{ payload: posTransaction('M-1', 'STORE-001') }, { payload: posTransaction('M-2', 'STORE-001') }]);
    const queue = ingestQueues.find((definition) => definition.name === INGEST_SILVER_QUEUE)!;
    await queue.handle(app.system, { id: 'scheduled', data: {} } as PgBoss.JobWithMetadata<unknown>, app.config, app.jobs, new AbortController().signal);
    await vi.waitFor(async () => expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM ingest_events WHERE id = ANY($1::bigint[]) AND status = 'processed'`, [ids])).rows[0].n).toBe(2), { timeout: 20_000, interval: 100 });
    expect((await app.db.pool.query(`SELECT transaction_id FROM transactions WHERE business_id = $1 ORDER BY transaction_id`, [t.businessA])).rows.map((row) => row.transaction_id)).toEqual(['M-1', 'M-2']);
  });
});

describe('silver fidelity: foreign keys, line integrity, no orphans', () => {
  it('refuses rows that point nowhere, duplicate or impossible lines, and deleting what silver points to', async () => {
    const { rows } = await app.db.pool.query<{ id: string; event_id: string; shop_id: string }>(`SELECT id::text, event_id::text, shop_id FROM transactions WHERE transaction_id = 'M-1'`);
    const transaction = rows[0]!;
    const line = `INSERT INTO transaction_items (business_id, transaction_pk, line_no, product_name, qty, unit_price_cents, line_amount_cents) VALUES ($1, $2, $3, 'Croissant', 1, 250, 250)`;
    // A line of no transaction, a transaction of no shop, of no event, of no business: foreign keys (23503).
    expect(await failureOf(line, [t.businessA, '999999999', 1])).toBe('23503');
    const transactionRow = `INSERT INTO transactions (business_id, shop_id, store_code, transaction_id, event_id, occurred_at, total_cents, currency, item_count) VALUES ($1, $2, 'STORE-001', 'X-1', $3, now(), 250, 'GBP', 1)`;
    expect(await failureOf(transactionRow, [t.businessA, '00000000-0000-4000-8000-000000000000', transaction.event_id])).toBe('23503');
    expect(await failureOf(transactionRow, [t.businessA, transaction.shop_id, '999999999'])).toBe('23503');
    expect(await failureOf(transactionRow, ['00000000-0000-4000-8000-000000000000', transaction.shop_id, transaction.event_id])).toBe('23503');
    // A line number twice in one transaction (23505), and a line number below 1 (23514).
    expect(await failureOf(line, [t.businessA, transaction.id, 1])).toBe('23505');
    expect(await failureOf(line, [t.businessA, transaction.id, 0])).toBe('23514');
    // The same transaction twice for one store (23505): a re-send replaces it instead.
    expect(await failureOf(transactionRow.replace("'X-1'", "'M-1'"), [t.businessA, transaction.shop_id, transaction.event_id])).toBe('23505');
    // What silver points to cannot be deleted from under it (ON DELETE RESTRICT): its bronze event, its shop.
    // PostgreSQL 18 says restrict_violation (23001), earlier versions foreign_key_violation (23503).
    const restricted = ['23001', '23503'];
    expect(restricted).toContain(await failureOf('DELETE FROM ingest_events WHERE id = $1', [transaction.event_id]));
    expect(restricted).toContain(await failureOf('DELETE FROM shops WHERE id = $1', [transaction.shop_id]));
    // A transaction removed takes its lines with it: no line is ever left without its transaction.
    const client = await app.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM transactions WHERE id = $1', [transaction.id]);
      expect((await client.query(`SELECT count(*)::int AS n FROM transaction_items WHERE transaction_pk = $1`, [transaction.id])).rows[0].n).toBe(0);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    const orphans = await app.db.pool.query(`SELECT count(*)::int AS n FROM transaction_items i LEFT JOIN transactions t ON t.id = i.transaction_pk WHERE t.id IS NULL`);
    expect(orphans.rows[0].n).toBe(0);
  });
});
