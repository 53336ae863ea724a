import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/config.js';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * `npm run tekmetric -- sync` killed with SIGKILL in the middle of the repair orders: the next run takes the
 * dead run for dead, resumes from the committed pages, and ends with every record once, none missing.
 */
let database: TestDatabase;
let fake: FakeTekmetric;
let child: ChildProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeTekmetric({ seed: 7, shops: 1, repairOrdersPerShop: 900, days: 60 });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await fake?.close();
  await database?.drop();
});

function cli(args: string[]): ChildProcess {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const env = { ...inherited, DATABASE_URL: database.url, TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret, LOG_LEVEL: 'warn', NODE_ENV: 'test' };
  return spawn(process.execPath, ['--import', 'tsx', 'cli/tekmetric.ts', ...args], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finished(proc: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, output })));
}

const cursorPage = async (shopId: number) =>
  Number((await database.db.pool.query<{ next_page: number }>(`SELECT next_page FROM tm_sync_cursors WHERE shop_id = $1 AND stream = 'repair_orders'`, [shopId])).rows[0]?.next_page ?? 0);

describe('a sync killed with SIGKILL', () => {
  it('resumes at the next run with no gap and no duplicate', { timeout: 180_000 }, async () => {
    const shop = fake.shops[0]!;
    const shopId = shop.shop.id;
    // Slow every answer so the kill lands between repair-order pages.
    fake.delayNext(100_000, 150);
    child = cli(['sync', '--shop', String(shopId)]);
    const first = finished(child);
    await expect.poll(() => cursorPage(shopId), { timeout: 120_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    child.kill('SIGKILL');
    expect((await first).code).toBeNull();

    const [stopped] = (await database.db.pool.query<{ id: string; status: string }>(`SELECT id, status FROM tm_sync_runs WHERE shop_id = $1`, [shopId])).rows;
    expect(stopped!.status).toBe('running');
    const partial = Number((await database.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tm_repair_orders WHERE shop_id = $1`, [shopId])).rows[0]!.n);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(shop.repairOrders.length);

    fake.delayNext(0, 0);
    const requestsBefore = fake.stats.byRoute['GET /api/v1/repair-orders'] ?? 0;
    const second = await finished(cli(['sync', '--shop', String(shopId)]));
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('succeeded');
    // It went on from the committed pages: fewer repair-order pages than a whole pass (9 active + the deleted).
    const pagesAfter = (fake.stats.byRoute['GET /api/v1/repair-orders'] ?? 0) - requestsBefore;
    expect(pagesAfter).toBeGreaterThan(0);
    expect(pagesAfter).toBeLessThan(Math.ceil(shop.repairOrders.length / 100));

    const runs = (await database.db.pool.query<{ status: string; error: string | null }>(`SELECT status, error FROM tm_sync_runs WHERE shop_id = $1 ORDER BY created_at`, [shopId])).rows;
    expect(runs.map((r) => r.status)).toEqual(['failed', 'succeeded']);
    expect(runs[0]!.error).toMatch(/stopped/);

    // Every repair order, job and line exactly once, none missing.
    const ids = (await database.db.pool.query<{ id: string }>(`SELECT id::text FROM tm_repair_orders WHERE shop_id = $1 ORDER BY id`, [shopId])).rows.map((r) => Number(r.id));
    expect(ids).toEqual(shop.repairOrders.map((o) => o.id).sort((a, b) => a - b));
    const lines = (await database.db.pool.query<{ jobs: string; parts: string; labor: string; total: string }>(
      `SELECT (SELECT count(*) FROM tm_jobs WHERE shop_id = $1) AS jobs, (SELECT count(*) FROM tm_job_parts WHERE shop_id = $1) AS parts,
              (SELECT count(*) FROM tm_job_labor WHERE shop_id = $1) AS labor, (SELECT sum(total_sales_cents) FROM tm_repair_orders WHERE shop_id = $1) AS total`,
      [shopId],
    )).rows[0]!;
    const jobs = shop.repairOrders.flatMap((o) => o.jobs);
    expect({ jobs: Number(lines.jobs), parts: Number(lines.parts), labor: Number(lines.labor), total: Number(lines.total) }).toEqual({
      jobs: jobs.length,
      parts: jobs.flatMap((j) => j.parts).length,
      labor: jobs.flatMap((j) => j.labor).length,
      total: shop.repairOrders.reduce((sum, o) => sum + o.totalSales, 0),
    });
    const cursor = (await database.db.pool.query<{ next_page: number; window_start: Date | null; updated_through: Date | null }>(`SELECT next_page, window_start, updated_through FROM tm_sync_cursors WHERE shop_id = $1 AND stream = 'repair_orders'`, [shopId])).rows[0]!;
    expect(cursor).toMatchObject({ next_page: 0, window_start: null });
    expect(cursor.updated_through).not.toBeNull();
  });
});
