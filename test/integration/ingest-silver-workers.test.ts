import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/config.js';
import { systemContext, type Context } from '../../core/context.js';
import { recomputeGold } from '../../core/ingest/gold.js';
import { createLogger } from '../../core/log.js';
import { createRecord } from '../../core/records/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { insertBronzeEvents, posTransaction, silverTotals, type PosTransaction } from '../helpers/ingest.js';

/**
 * Silver workers as separate processes against one database: four draining 20,000 events process each
 * exactly once, and a worker killed (SIGKILL) in the middle of a batch leaves nothing behind, so that after a
 * restart silver and gold hold exactly what a clean run writes.
 */
const workerScript = path.join(projectRoot, 'test', 'helpers', 'silver-worker.ts');
let database: TestDatabase;
let system: Context;
const children: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  system = systemContext('test', database.db, createLogger('silent'));
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => database?.drop());

/** Starts a worker process; `done` is what it printed (the events it claimed) once it drained bronze. */
function startWorker(name: string, batchSize: number): { child: ChildProcess; done: Promise<{ batches: number; eventIds: string[] }> } {
  const url = new URL(database.url);
  url.searchParams.set('application_name', name);
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: url.toString(), INGEST_SILVER_BATCH_SIZE: String(batchSize), NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<{ batches: number; eventIds: string[] }>((resolve, reject) =>
    child.on('exit', (code, signal) => (code === 0 ? resolve(JSON.parse(out) as { batches: number; eventIds: string[] }) : reject(new Error(`worker ${name} exited with ${code ?? signal}: ${err}`)))),
  );
  return { child, done };
}

async function store(businessId: string, code: string) {
  await createRecord(system, 'shops', { businessId, name: code, code });
}

/** `count` transactions over `stores` stores, each with 1–3 lines; every tenth re-sent with other content (a replacement). */
function traffic(prefix: string, count: number, stores: number): PosTransaction[] {
  const sent: PosTransaction[] = [];
  for (let n = 0; n < count; n++) {
    const lines = 1 + (n % 3);
    const items = Array.from({ length: lines }, (_, i) => ({ product_id: `SKU-${(n + i) % 40}`, product_name: `Product ${(n + i) % 40}`, qty: 1 + ((n + i) % 4), unit_price: 1.25 + ((n * 7 + i) % 90) / 10, line_amount: 0 }));
    for (const item of items) item.line_amount = Math.round(item.qty * item.unit_price * 100) / 100;
    const total = Math.round(items.reduce((sum, item) => sum + item.line_amount * 100, 0)) / 100;
    const day = 1 + (n % 28);
    sent.push(posTransaction(`${prefix}-${n}`, `STORE-${1 + (n % stores)}`, { ts: `2026-11-${String(day).padStart(2, '0')}T${String(7 + (n % 12)).padStart(2, '0')}:15:00Z`, total_amount: total, items }));
  }
  return sent;
}

describe('several silver workers', () => {
  it('four worker processes draining 20,000 events process each exactly once', { timeout: 300_000 }, async () => {
    const businessId = (await createRecord(system, 'businesses', { name: 'Four workers' })).id as string;
    for (let s = 1; s <= 5; s++) await store(businessId, `STORE-${s}`);
    for (let p = 0; p < 40; p++) await createRecord(system, 'products', { businessId, name: `Product ${p}`, sellingPriceCents: 100 });
    const sent = traffic('W', 19_000, 5);
    const resent = sent.filter((_, n) => n % 19 === 0).map((t) => ({ ...t, total_amount: Number(t.total_amount) + 1, items: [...t.items, { product_name: 'Product 1', qty: 1, unit_price: 1, line_amount: 1 }] }));
    const events = [...sent, ...resent];
    expect(events).toHaveLength(20_000);
    const ids: string[] = [];
    for (let start = 0; start < events.length; start += 5000) ids.push(...(await insertBronzeEvents(database.db.pool, businessId, events.slice(start, start + 5000).map((payload) => ({ payload })))));

    const workers = [1, 2, 3, 4].map((n) => startWorker(`silver-worker-${n}`, 500));
    const results = await Promise.all(workers.map((worker) => worker.done));
    const claimed = results.flatMap((result) => result.eventIds);
    expect(claimed).toHaveLength(20_000);
    expect(new Set(claimed).size).toBe(20_000);
    expect(new Set(claimed)).toEqual(new Set(ids));

    expect(await database.db.pool.query(`SELECT status, count(*)::int AS n, max(attempts) AS attempts FROM ingest_events WHERE business_id = $1 GROUP BY status`, [businessId]).then((r) => r.rows)).toEqual([{ status: 'processed', n: 20_000, attempts: 1 }]);
    const totals = await silverTotals(database.db.pool, businessId);
    expect(totals.transactions).toBe(19_000);
    // Each transaction holds its latest content: the re-sent ones their second version.
    const stored = new Map((await database.db.pool.query<{ transaction_id: string; total_cents: string; event_id: string }>('SELECT transaction_id, total_cents::text, event_id::text FROM transactions WHERE business_id = $1', [businessId])).rows.map((row) => [row.transaction_id, row]));
    const wrong = sent.flatMap((t, n) => {
      const expected = Math.round(Number(t.total_amount) * 100) + (n % 19 === 0 ? 100 : 0);
      const row = stored.get(t.transaction_id);
      return Number(row?.total_cents) === expected ? [] : [{ id: t.transaction_id, expected, row }];
    });
    expect(wrong).toEqual([]);
    const expectedCents = sent.reduce((sum, t, n) => sum + Math.round(Number(t.total_amount) * 100) + (n % 19 === 0 ? 100 : 0), 0);
    expect(Number(totals.total_cents)).toBe(expectedCents);
    expect(Number(totals.line_cents)).toBe(expectedCents);
    const runs = await database.db.pool.query<{ claimed: number; workers: number }>(`SELECT sum(events_claimed)::int AS claimed, count(DISTINCT worker)::int AS workers FROM ingest_etl_runs`);
    expect(runs.rows[0]!.claimed).toBe(20_000);
    // They ran side by side, sharing the batches.
    expect(runs.rows[0]!.workers).toBeGreaterThan(1);
    const { checks } = await recomputeGold(system, { force: true });
    expect(checks.map((check) => [check.aggregate, check.differences.length])).toEqual(checks.map((check) => [check.aggregate, 0]));
  });

  it('a worker killed in the middle of a batch leaves the events pending; after a restart silver and gold equal a clean run’s', { timeout: 300_000 }, async () => {
    const make = async (name: string) => {
      const businessId = (await createRecord(system, 'businesses', { name })).id as string;
      for (let s = 1; s <= 3; s++) await store(businessId, `STORE-${s}`);
      await insertBronzeEvents(database.db.pool, businessId, traffic('K', 3000, 3).map((payload) => ({ payload })));
      return businessId;
    };
    const clean = await make('Clean run');
    await startWorker('silver-clean', 1000).done;
    const crashed = await make('Crashed run');

    // Hold the worker at the end of its first batch: everything written, its run row waiting for this lock.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE ingest_etl_runs IN EXCLUSIVE MODE');
    const victim = startWorker('silver-victim', 1000);
    victim.done.catch(() => undefined);
    await expect
      .poll(async () => (await database.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'silver-victim' AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO ingest_etl_runs%'`)).rowCount, { timeout: 120_000, interval: 100 })
      .toBe(1);
    const during = await database.db.pool.query(`SELECT count(*)::int AS n FROM transactions WHERE business_id = $1`, [crashed]);
    expect(during.rows[0].n).toBe(0);
    victim.child.kill('SIGKILL');
    await blocker.query('ROLLBACK');
    await blocker.end();
    // Its backend notices the dead client and rolls back, releasing the claimed events.
    await expect.poll(async () => (await database.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'silver-victim'`)).rowCount, { timeout: 60_000, interval: 100 }).toBe(0);
    expect((await database.db.pool.query(`SELECT count(*)::int AS n FROM ingest_events WHERE business_id = $1 AND status = 'pending'`, [crashed])).rows[0].n).toBe(3000);

    await startWorker('silver-restarted', 1000).done;
    expect(await silverTotals(database.db.pool, crashed)).toEqual(await silverTotals(database.db.pool, clean));
    const gold = async (businessId: string) =>
      (await database.db.pool.query(`SELECT sum(transactions)::int AS transactions, sum(lines)::int AS lines, sum(units)::text AS units, sum(sales_cents)::text AS sales FROM gold_sales_daily WHERE business_id = $1`, [businessId])).rows[0];
    expect(await gold(crashed)).toEqual(await gold(clean));
    expect((await gold(clean)).transactions).toBe(3000);
    const { checks } = await recomputeGold(system, { force: true });
    expect(checks.map((check) => [check.aggregate, check.differences.length])).toEqual(checks.map((check) => [check.aggregate, 0]));
  });
});
