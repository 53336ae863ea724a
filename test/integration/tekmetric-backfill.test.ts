import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { systemContext, type Context } from '../../core/context.js';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createLogger } from '../../core/log.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { clientFor, ensureEnvironmentConnection, linkShops } from '../../core/tekmetric/connections.js';
import { executeSyncRun, type SyncConfig } from '../../core/tekmetric/sync/execute.js';
import { requestSyncRun, type RunKind, type RunParams } from '../../core/tekmetric/sync/runs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * "Backfill N days" and the incremental cursors: a backfill never moves a cursor backwards, and moves it
 * forward only when its window reached back to the cursor, so that no change between the cursor and the
 * window's start is skipped by the next incremental run.
 */
let database: TestDatabase;
let fake: FakeTekmetric;
let ctx: Context;
let config: SyncConfig;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  database = await createTestDatabase();
  fake = await startFakeTekmetric({ seed: 23, shops: 2, repairOrdersPerShop: 60, days: 30 });
  forgetTekmetricTokens();
  config = loadConfig({ TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
  ctx = systemContext('test', database.db, createLogger('silent'));
  const connection = (await ensureEnvironmentConnection(ctx, config))!;
  await linkShops(ctx, connection, clientFor(ctx, connection, config));
});
afterAll(async () => {
  await fake?.close();
  await database?.drop();
});

async function sync(shopId: number, kind: RunKind, params: RunParams = {}) {
  const run = await requestSyncRun(ctx, null, { kind, shopId, params, trigger: 'cli' });
  return executeSyncRun(ctx, config, run.id);
}

async function cursorOf(shopId: number, stream = 'repair_orders'): Promise<Date | null> {
  const { rows } = await database.db.pool.query<{ updated_through: Date | null }>(`SELECT updated_through FROM tm_sync_cursors WHERE shop_id = $1 AND stream = $2`, [shopId, stream]);
  return rows[0]?.updated_through ?? null;
}

const ordersOf = async (shopId: number) => Number((await database.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tm_repair_orders WHERE shop_id = $1`, [shopId])).rows[0]!.n);
const statusOf = async (shopId: number, id: number) => (await database.db.pool.query<{ status_id: number }>(`SELECT status_id FROM tm_repair_orders WHERE shop_id = $1 AND id = $2`, [shopId, id])).rows[0]?.status_id;
/** Repair orders (not deleted) an incremental read from this cursor gets back: changed since it, less the minute of overlap. */
const changedSince = (orders: { deletedDate?: string | null; updatedDate: string }[], cursorMs: number) => orders.filter((o) => !o.deletedDate && Date.parse(o.updatedDate) >= cursorMs - 60_000).length;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe('Backfill N days and the cursors', () => {
  it('a shop never synced: a 3-day backfill brings those days but sets no cursor, and the next incremental run reads the whole history', async () => {
    const shop = fake.shops[0]!;
    const recent = shop.repairOrders.filter((o) => !o.deletedDate && Date.parse(o.updatedDate) >= fake.data.nowMs() - 2 * DAY_MS).length;
    await sync(shop.shop.id, 'backfill', { daysBack: 3 });
    expect(await ordersOf(shop.shop.id)).toBeGreaterThanOrEqual(recent);
    expect(await ordersOf(shop.shop.id)).toBeLessThan(shop.repairOrders.length);
    for (const stream of ['employees', 'customers', 'repair_orders', 'repair_orders_deleted']) expect(await cursorOf(shop.shop.id, stream)).toBeNull();

    await sync(shop.shop.id, 'incremental');
    expect(await ordersOf(shop.shop.id)).toBe(shop.repairOrders.length);
    expect(await cursorOf(shop.shop.id)).not.toBeNull();
  });

  it('a backfill reaching back past the cursor moves it forward to what it read, and the next incremental run reads only the overlap', async () => {
    const shop = fake.shops[0]!;
    const before = (await cursorOf(shop.shop.id))!;
    const order = shop.repairOrders.find((o) => !o.deletedDate && [1, 2].includes(o.repairOrderStatus.id))!;
    fake.data.setRepairOrderStatus(order.id, 3);
    await sync(shop.shop.id, 'backfill', { daysBack: 3 });
    expect(await statusOf(shop.shop.id, order.id)).toBe(3);
    const after = (await cursorOf(shop.shop.id))!;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
    expect(after.getTime()).toBeGreaterThanOrEqual(Date.parse(order.updatedDate));

    const counts = await sync(shop.shop.id, 'incremental');
    // Only what changed since the cursor (less its minute of overlap) comes back, and nothing is written again.
    expect(counts.entities.repair_orders!.fetched).toBe(changedSince(shop.repairOrders, after.getTime()));
    expect(counts.entities.repair_orders!.fetched).toBeLessThan(shop.repairOrders.length / 2);
    expect(counts.entities.repair_orders!.written).toBe(0);
  });

  it('a backfill that does not reach back to the cursor leaves it, so a change older than the backfill is still read by the next incremental run', async () => {
    const shop = fake.shops[0]!;
    // The shop was last synced ten days ago (as the fake's clock goes); five days ago an order changed upstream.
    await database.db.pool.query(`UPDATE tm_sync_cursors SET updated_through = $2 WHERE shop_id = $1 AND stream = 'repair_orders'`, [shop.shop.id, iso(fake.data.nowMs() - 10 * DAY_MS)]);
    const stale = (await cursorOf(shop.shop.id))!;
    const order = shop.repairOrders.find((o) => !o.deletedDate && o.repairOrderStatus.id !== 6 && Date.parse(o.updatedDate) < fake.data.nowMs() - 6 * DAY_MS)!;
    order.repairOrderStatus = { ...order.repairOrderStatus, id: 6, code: 'AR', name: 'Accounts Receivable' };
    order.updatedDate = iso(fake.data.nowMs() - 5 * DAY_MS);

    await sync(shop.shop.id, 'backfill', { daysBack: 3 });
    expect(await statusOf(shop.shop.id, order.id)).not.toBe(6);
    expect(await cursorOf(shop.shop.id)).toEqual(stale);

    await sync(shop.shop.id, 'incremental');
    expect(await statusOf(shop.shop.id, order.id)).toBe(6);
    expect((await cursorOf(shop.shop.id))!.getTime()).toBeGreaterThan(stale.getTime());
  });

  it('a backfill never moves a cursor backwards, and a board or a limit never moves it', async () => {
    const shop = fake.shops[0]!;
    const current = (await cursorOf(shop.shop.id))!;
    await sync(shop.shop.id, 'backfill', { daysBack: 30 });
    expect((await cursorOf(shop.shop.id))!.getTime()).toBeGreaterThanOrEqual(current.getTime());

    const other = fake.shops[1]!;
    await sync(other.shop.id, 'entities', { entities: ['repair_orders'], board: 'POSTED' });
    await sync(other.shop.id, 'entities', { entities: ['repair_orders'], limit: 10 });
    expect(await cursorOf(other.shop.id)).toBeNull();
  });

  it('a window over the whole history (board ALL, no days) gives a shop never synced its cursor', async () => {
    const shop = fake.shops[1]!;
    const started = Date.now();
    await sync(shop.shop.id, 'entities', { entities: ['repair_orders'], board: 'ALL' });
    expect(await ordersOf(shop.shop.id)).toBe(shop.repairOrders.length);
    // The latest change read, but never past when the window opened by our clock (the fake dates some changes ahead).
    const latest = Math.max(...shop.repairOrders.filter((o) => !o.deletedDate).map((o) => Date.parse(o.updatedDate)));
    const cursor = (await cursorOf(shop.shop.id))!.getTime();
    expect(cursor).toBeGreaterThanOrEqual(Math.min(latest, started));
    expect(cursor).toBeLessThanOrEqual(Math.min(latest, Date.now()));
    const counts = await sync(shop.shop.id, 'entities', { entities: ['repair_orders'] });
    expect(counts.entities.repair_orders!.written).toBe(0);
    const deletedCursor = (await cursorOf(shop.shop.id, 'repair_orders_deleted'))!.getTime();
    const deletedSince = shop.repairOrders.filter((o) => o.deletedDate && Date.parse(o.deletedDate) >= deletedCursor - 60_000).length;
    expect(counts.entities.repair_orders!.fetched).toBe(changedSince(shop.repairOrders, cursor) + deletedSince);
  });
});
