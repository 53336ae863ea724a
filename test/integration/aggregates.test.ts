import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../core/db/index.js';
import { alertOnDifferences, assertAggregateTable, foldIntoAggregate, recomputeAggregate, recomputeAggregates, recomputeOrder, type IncrementalAggregate } from '../../core/warehouse/aggregates.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * The incremental-aggregate machinery on a small table of its own: sales lines (the source), their sums per
 * shop and day (folded), and per shop (a rollup of the daily aggregate, for dependency order).
 */

const daily: IncrementalAggregate = {
  table: 'agg_test_daily',
  keys: ['shop', 'day'],
  measures: ['lines', 'amount_cents'],
  count: 'lines',
  source: 'SELECT shop, day, 1::bigint AS lines, amount_cents FROM agg_test_lines',
  sources: ['agg_test_lines'],
};
const perShop: IncrementalAggregate = {
  table: 'agg_test_shop',
  keys: ['shop'],
  measures: ['lines', 'amount_cents'],
  count: 'lines',
  source: 'SELECT shop, lines, amount_cents FROM agg_test_daily',
  sources: ['agg_test_daily'],
};

let database: TestDatabase;
let pool: pg.Pool;

/** Writes source lines and folds them in, in one transaction, as a writer of the source does. */
async function addLines(lines: { shop: string | null; day: string; amount: number }[]): Promise<void> {
  await withTransaction(pool, async (client) => {
    const ids = await client.query<{ id: number }>(
      `INSERT INTO agg_test_lines (shop, day, amount_cents) SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[]) RETURNING id`,
      [lines.map((l) => l.shop), lines.map((l) => l.day), lines.map((l) => l.amount)],
    );
    const delta = { text: 'SELECT shop, day, 1::bigint AS lines, amount_cents FROM agg_test_lines WHERE id = ANY($1::int[])', values: [ids.rows.map((r) => r.id)] };
    await foldIntoAggregate(client, daily, delta, 1);
    await foldIntoAggregate(client, perShop, { text: 'SELECT shop, 1::bigint AS lines, amount_cents FROM agg_test_lines WHERE id = ANY($1::int[])', values: delta.values }, 1);
  });
}

/** Deletes source lines and folds them out (sign -1, read before the delete). */
async function removeLines(ids: number[]): Promise<void> {
  await withTransaction(pool, async (client) => {
    await foldIntoAggregate(client, daily, { text: 'SELECT shop, day, 1::bigint AS lines, amount_cents FROM agg_test_lines WHERE id = ANY($1::int[])', values: [ids] }, -1);
    await foldIntoAggregate(client, perShop, { text: 'SELECT shop, 1::bigint AS lines, amount_cents FROM agg_test_lines WHERE id = ANY($1::int[])', values: [ids] }, -1);
    await client.query('DELETE FROM agg_test_lines WHERE id = ANY($1::int[])', [ids]);
  });
}

const rowsOf = async (table: string) => (await pool.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = database.db.pool;
  await pool.query(`
    CREATE TABLE agg_test_lines (id serial PRIMARY KEY, shop text, day date NOT NULL, amount_cents bigint NOT NULL);
    CREATE TABLE agg_test_daily (shop text, day date NOT NULL, lines bigint NOT NULL, amount_cents bigint NOT NULL);
    CREATE UNIQUE INDEX agg_test_daily_key ON agg_test_daily (shop, day) NULLS NOT DISTINCT;
    CREATE INDEX agg_test_daily_zero ON agg_test_daily ((1)) WHERE lines <= 0;
    CREATE TABLE agg_test_shop (shop text, lines bigint NOT NULL, amount_cents bigint NOT NULL);
    CREATE UNIQUE INDEX agg_test_shop_key ON agg_test_shop (shop) NULLS NOT DISTINCT;
    CREATE INDEX agg_test_shop_zero ON agg_test_shop ((1)) WHERE lines <= 0;
  `);
});
afterAll(async () => database?.drop());

describe('folding deltas', () => {
  it('adds a delta per key, null keys included, and removes a row whose count reaches zero', async () => {
    await addLines([
      { shop: 'north', day: '2026-12-01', amount: 1000 },
      { shop: 'north', day: '2026-12-01', amount: 250 },
      { shop: null, day: '2026-12-01', amount: 99 },
    ]);
    await addLines([{ shop: 'north', day: '2026-12-02', amount: 5 }, { shop: null, day: '2026-12-01', amount: 1 }]);
    expect(await rowsOf('agg_test_daily')).toEqual([
      { shop: 'north', day: expect.any(Date), lines: '2', amount_cents: '1250' },
      { shop: 'north', day: expect.any(Date), lines: '1', amount_cents: '5' },
      { shop: null, day: expect.any(Date), lines: '2', amount_cents: '100' },
    ]);
    const second = await pool.query<{ id: number }>(`SELECT id FROM agg_test_lines WHERE day = '2026-12-02'`);
    await removeLines(second.rows.map((r) => r.id));
    const after = await pool.query(`SELECT shop, to_char(day, 'YYYY-MM-DD') AS day, lines, amount_cents FROM agg_test_daily ORDER BY shop NULLS LAST, day`);
    expect(after.rows).toEqual([
      { shop: 'north', day: '2026-12-01', lines: '2', amount_cents: '1250' },
      { shop: null, day: '2026-12-01', lines: '2', amount_cents: '100' },
    ]);
    expect(await rowsOf('agg_test_shop')).toEqual([
      { shop: 'north', lines: '2', amount_cents: '1250' },
      { shop: null, lines: '2', amount_cents: '100' },
    ]);
  });

  it('folds in the caller\'s transaction: a rollback leaves the aggregate as it was', async () => {
    const before = await rowsOf('agg_test_daily');
    await expect(
      withTransaction(pool, async (client) => {
        await foldIntoAggregate(client, daily, { text: `SELECT 'north'::text AS shop, '2026-12-01'::date AS day, 5::bigint AS lines, 500::bigint AS amount_cents` }, 1);
        expect((await client.query(`SELECT lines FROM agg_test_daily WHERE shop = 'north' AND day = '2026-12-01'`)).rows[0].lines).toBe('7');
        throw new Error('the writer failed after folding');
      }),
    ).rejects.toThrow('the writer failed');
    expect(await rowsOf('agg_test_daily')).toEqual(before);
  });

  it('refuses to fold out what was never folded in, and an empty delta touches nothing', async () => {
    await expect(
      withTransaction(pool, (client) => foldIntoAggregate(client, daily, { text: `SELECT 'south'::text AS shop, '2026-12-01'::date AS day, 1::bigint AS lines, 10::bigint AS amount_cents` }, -1)),
    ).rejects.toThrow(/Folding out rows never folded into agg_test_daily: lines would be -1 at key \["south", ?"2026-12-01"\]/);
    const empty = await withTransaction(pool, (client) => foldIntoAggregate(client, daily, { text: 'SELECT shop, day, 1::bigint AS lines, amount_cents FROM agg_test_lines WHERE false' }, 1));
    expect(empty).toEqual({ folded: 0, removed: 0 });
  });

  it('removes zeroed rows through the zero-count index, not by reading the table', async () => {
    await pool.query(`INSERT INTO agg_test_shop (shop, lines, amount_cents) SELECT 'bulk-' || g, 1, g FROM generate_series(1, 20000) g`);
    await pool.query('ANALYZE agg_test_shop');
    const plan = await pool.query<{ 'QUERY PLAN': unknown }>('EXPLAIN (FORMAT JSON) DELETE FROM agg_test_shop WHERE lines <= 0');
    expect(JSON.stringify(plan.rows[0]!['QUERY PLAN'])).toContain('agg_test_shop_zero');
    await pool.query(`DELETE FROM agg_test_shop WHERE shop LIKE 'bulk-%'`);
  });

  it('has the indexes and check folding needs, and names what is missing', async () => {
    await assertAggregateTable(pool, daily);
    await assertAggregateTable(pool, perShop);
    await pool.query('CREATE TABLE agg_test_bare (shop text PRIMARY KEY, lines bigint NOT NULL, amount_cents bigint NOT NULL)');
    await expect(assertAggregateTable(pool, { ...perShop, table: 'agg_test_bare' })).rejects.toThrow(/partial index WHERE lines <= 0/);
  });
});

describe('recomputing from the sources', () => {
  it('finds no difference after many folds, and reports every injected one with both figures', async () => {
    const days = ['2026-12-01', '2026-12-02', '2026-12-03'];
    for (let batch = 0; batch < 20; batch++) {
      await addLines(Array.from({ length: 25 }, (_, i) => ({ shop: i % 5 === 0 ? null : `shop-${i % 4}`, day: days[(batch + i) % 3]!, amount: batch * 100 + i })));
      if (batch % 4 === 3) {
        const some = await pool.query<{ id: number }>('SELECT id FROM agg_test_lines ORDER BY random() LIMIT 10');
        await removeLines(some.rows.map((r) => r.id));
      }
    }
    const clean = await recomputeAggregates(pool, [perShop, daily], { force: true });
    expect(clean.map((c) => [c.aggregate, c.skipped, c.differences])).toEqual([
      ['agg_test_daily', null, []],
      ['agg_test_shop', null, []],
    ]);

    await pool.query(`UPDATE agg_test_daily SET amount_cents = amount_cents + 7 WHERE shop = 'shop-1' AND day = '2026-12-02'`);
    await pool.query(`DELETE FROM agg_test_daily WHERE shop IS NULL AND day = '2026-12-03'`);
    await pool.query(`INSERT INTO agg_test_daily VALUES ('ghost', '2026-12-09', 1, 42)`);
    const expectedNull = await pool.query(`SELECT count(*)::int AS lines, sum(amount_cents)::int AS amount FROM agg_test_lines WHERE shop IS NULL AND day = '2026-12-03'`);
    const found = await recomputeAggregate(pool, daily, { force: true });
    expect(found.differences).toHaveLength(3);
    expect(found.differences).toContainEqual({ key: { shop: 'ghost', day: '2026-12-09' }, stored: { lines: 1, amount_cents: 42 }, expected: null });
    expect(found.differences).toContainEqual({ key: { shop: null, day: '2026-12-03' }, stored: null, expected: { lines: expectedNull.rows[0].lines, amount_cents: expectedNull.rows[0].amount } });
    const changed = found.differences.find((d) => d.key.shop === 'shop-1')!;
    expect(Number(changed.stored!.amount_cents) - Number(changed.expected!.amount_cents)).toBe(7);
    expect(found.repaired).toBe(false);

    expect(await alertOnDifferences(pool, [found])).toEqual(['agg_test_daily']);
    const alert = await pool.query(`SELECT message FROM warehouse_alerts WHERE kind = 'aggregate_mismatch' AND view_name = 'agg_test_daily' AND closed_at IS NULL`);
    expect(alert.rows[0].message).toMatch(/differs from its recomputation at 3 key\(s\)/);

    const repaired = await recomputeAggregate(pool, daily, { force: true, repair: true });
    expect(repaired).toMatchObject({ repaired: true });
    expect(repaired.differences).toHaveLength(3);
    const after = await recomputeAggregate(pool, daily, { force: true });
    expect(after.differences).toEqual([]);
    await alertOnDifferences(pool, [after]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM warehouse_alerts WHERE kind = 'aggregate_mismatch' AND closed_at IS NULL`)).rows[0].n).toBe(0);
  });

  it('does nothing when nothing was written since its last clean check, and checks again after a write', async () => {
    await recomputeAggregate(pool, daily, { force: true });
    // Statistics of the writes above reach the counters within a second or so: settle them first.
    await expect.poll(async () => (await recomputeAggregate(pool, daily)).skipped, { timeout: 10_000, interval: 300 }).toBe('unchanged');
    await pool.query(`UPDATE agg_test_daily SET amount_cents = amount_cents + 1 WHERE shop = 'shop-2' AND day = '2026-12-01'`);
    await expect.poll(async () => (await recomputeAggregate(pool, daily)).differences.length, { timeout: 10_000, interval: 300 }).toBe(1);
    await recomputeAggregate(pool, daily, { force: true, repair: true });
  });

  it('never runs two checks of one aggregate at once', async () => {
    const holder = await pool.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('aggregate:agg_test_daily', 0))`);
      expect((await recomputeAggregate(pool, daily, { force: true })).skipped).toBe('running');
      expect((await recomputeAggregate(pool, perShop, { force: true })).skipped).toBeNull();
    } finally {
      await holder.query(`SELECT pg_advisory_unlock(hashtextextended('aggregate:agg_test_daily', 0))`);
      holder.release();
    }
  });

  it('keeps exact sums under concurrent writers folding overlapping keys (in and out)', async () => {
    const writers = Array.from({ length: 12 }, (_, w) => async () => {
      await addLines(Array.from({ length: 40 }, (_, i) => ({ shop: `shop-${(w + i) % 3}`, day: ['2026-12-01', '2026-12-02'][(w * i) % 2]!, amount: w * 1000 + i })));
      const mine = await pool.query<{ id: number }>('SELECT id FROM agg_test_lines WHERE amount_cents BETWEEN $1 AND $2 ORDER BY id DESC LIMIT 5', [w * 1000, w * 1000 + 39]);
      await removeLines(mine.rows.map((r) => r.id));
    });
    await Promise.all(writers.map((write) => write()));
    const checks = await recomputeAggregates(pool, [daily, perShop], { force: true });
    expect(checks.map((c) => c.differences)).toEqual([[], []]);
  });

  it('orders aggregates after those they read, and refuses a cycle', () => {
    expect(recomputeOrder([perShop, daily]).map((a) => a.table)).toEqual(['agg_test_daily', 'agg_test_shop']);
    expect(() => recomputeOrder([{ ...daily, sources: ['agg_test_shop'] }, perShop])).toThrow(/dependency cycle/);
  });
});
