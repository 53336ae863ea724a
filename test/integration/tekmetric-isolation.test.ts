import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createRecord } from '../../core/records/service.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { clientFor, ensureEnvironmentConnection, linkShops, type LinkedShop } from '../../core/tekmetric/connections.js';
import { sealSecret } from '../../core/sealedSecrets.js';
import { runDueSyncs } from '../../core/tekmetric/sync/schedule.js';
import { readAsReporter } from '../../core/warehouse/reporting.js';
import { adminClient, apiClient, PASSWORD, seedTenants, startTestApp, type TestApp, type Tenants } from '../helpers/app.js';

/**
 * Shop isolation: two Tekmetric shops of one business, a manager of the first. Through the API and in a direct
 * query as the reporting role, the manager reads nothing of the second shop and no customer's personal data;
 * syncs run as jobs and report their progress.
 */
let fake: FakeTekmetric;
let app: TestApp;
let tenants: Tenants;
let shopA: LinkedShop;
let shopB: LinkedShop;
const managerEmail = 'manager.tekmetric@test.local';

beforeAll(async () => {
  fake = await startFakeTekmetric({ seed: 3, shops: 2, repairOrdersPerShop: 60, days: 20 });
  forgetTekmetricTokens();
  app = await startTestApp({ TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
  tenants = await seedTenants(app.system);
  const connection = (await ensureEnvironmentConnection(app.system, app.config))!;
  const linked = await linkShops(app.system, connection, clientFor(app.system, connection, app.config), { businessId: tenants.businessA });
  shopA = linked[0]!;
  shopB = linked[1]!;
  await createRecord(app.system, 'users', { email: managerEmail, role: 'manager', businessId: tenants.businessA, shopIds: [shopA!.backhouseShopId], password: PASSWORD });
}, 120_000);
afterAll(async () => {
  await app?.close();
  await fake?.close();
});

async function syncedThroughApi(shopId: number): Promise<string> {
  const admin = await apiClient(app.url, tenants.users.admin.email);
  const started = await admin.call('POST', '/api/sync/full-backfill', { shop_id: shopId, days_back: 365 });
  expect(started.status).toBe(202);
  const runId = started.body!.data.sync_run_id as string;
  await expect.poll(async () => (await admin.call('GET', `/api/sync/runs/${runId}`)).body!.data.status, { timeout: 60_000, interval: 200 }).toBe('succeeded');
  return runId;
}

describe('Tekmetric shop isolation', () => {
  let runB: string;

  it('syncs run as jobs: 202 with a run id, then progress and counts until it succeeds', async () => {
    await syncedThroughApi(shopA.shopId);
    runB = await syncedThroughApi(shopB.shopId);
    const admin = await apiClient(app.url, tenants.users.admin.email);
    const run = (await admin.call('GET', `/api/sync/runs/${runB}`)).body!.data;
    expect(run.progress.percent).toBe(100);
    expect(run.counts.entities.repair_orders.fetched).toBe(fake.shops[1]!.repairOrders.filter((o) => !o.deletedDate).length + fake.shops[1]!.repairOrders.filter((o) => o.deletedDate).length);
    expect(run.log.map((line: { entity: string }) => line.entity).sort()).toEqual(['appointments', 'customers', 'employees', 'repair_orders', 'vehicles']);
    // A second run of the same shop while none is open is accepted; bad input is a 400 that says what.
    const bad = await admin.call('POST', '/api/sync/repair-orders', { shop_id: shopA.shopId, board: 'SIDEWAYS' });
    expect(bad.status).toBe(400);
    expect(bad.body!.error.message).toMatch(/board/);
  });

  it('a manager of shop A reads nothing of shop B through the API, and may not start syncs', async () => {
    // The sync computed both shops' daily metrics; the manager gets shop A's only.
    const range = 'from=2025-01-01&to=2027-12-31';
    const manager = await apiClient(app.url, managerEmail);
    const daily = await manager.call('GET', `/api/tekmetric/metrics/daily?${range}`);
    expect(daily.status).toBe(200);
    expect(daily.body!.data.length).toBeGreaterThan(0);
    expect(new Set(daily.body!.data.map((row: { shopId: number }) => row.shopId))).toEqual(new Set([shopA.shopId]));
    const technicians = await manager.call('GET', `/api/tekmetric/metrics/technicians?${range}`);
    expect(new Set(technicians.body!.data.map((row: { shopId: number }) => row.shopId))).toEqual(new Set([shopA.shopId]));
    expect((await manager.call('GET', `/api/tekmetric/metrics/daily?${range}&shop_id=${shopB.shopId}`)).status).toBe(404);
    expect((await manager.call('GET', `/api/sync/runs/${runB}`)).status).toBe(404);
    const status = await manager.call('GET', '/api/sync/status');
    expect(new Set(status.body!.data.map((row: { shopId: number }) => row.shopId))).toEqual(new Set([shopA.shopId]));
    expect((await manager.call('POST', '/api/sync/customers', { shop_id: shopA.shopId })).status).toBe(403);

    // Ops of another business do not even see the shops.
    const opsB = await apiClient(app.url, tenants.users.opsB.email);
    expect((await opsB.call('POST', '/api/sync/customers', { shop_id: shopA.shopId })).status).toBe(404);
    // The whole business's admin view sees both.
    const admin = await apiClient(app.url, tenants.users.admin.email);
    const all = await admin.call('GET', `/api/tekmetric/metrics/daily?${range}&business_id=${tenants.businessA}`);
    expect(new Set(all.body!.data.map((row: { shopId: number }) => row.shopId))).toEqual(new Set([shopA.shopId, shopB.shopId]));
  });

  it('as the reporting role, a reader limited to shop A sees no row of shop B in any Tekmetric table, and no personal data of customers', async () => {
    const scope = { businessId: shopA.businessId, shopIds: [shopA.backhouseShopId] };
    const tables = ['tm_shops', 'tm_employees', 'tm_vehicles', 'tm_repair_orders', 'tm_jobs', 'tm_job_parts', 'tm_job_labor', 'tm_sublets', 'tm_fees', 'tm_discounts', 'tm_concerns', 'tm_appointments', 'tm_daily_shop_metrics', 'tm_sync_cursors', 'tm_sync_log'];
    const seen = await readAsReporter(app.db.pool, scope, async (client) => {
      const counts: Record<string, { a: number; b: number }> = {};
      for (const table of tables) {
        const column = table === 'tm_shops' ? 'id' : 'shop_id';
        const row = (await client.query<{ a: string; b: string }>(`SELECT count(*) FILTER (WHERE ${column} = $1) AS a, count(*) FILTER (WHERE ${column} = $2) AS b FROM ${table}`, [shopA.shopId, shopB.shopId])).rows[0]!;
        counts[table] = { a: Number(row.a), b: Number(row.b) };
      }
      return counts;
    });
    for (const table of tables) expect(seen[table]!.b, table).toBe(0);
    expect(seen.tm_repair_orders!.a).toBeGreaterThan(0);
    expect(seen.tm_job_parts!.a).toBeGreaterThan(0);

    // The owner (the app) sees shop B's rows, so the zeros above are the policies' doing.
    const ownerCount = (await app.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tm_repair_orders WHERE shop_id = $1`, [shopB.shopId])).rows[0]!.n;
    expect(Number(ownerCount)).toBeGreaterThan(0);

    // Customers: the personal columns are not readable by the reporting role at all; the analytics view is.
    await expect(readAsReporter(app.db.pool, scope, (client) => client.query('SELECT first_name FROM tm_customers'))).rejects.toThrow(/permission denied/);
    const analytics = await readAsReporter(app.db.pool, scope, async (client) => (await client.query<{ shop_id: string }>('SELECT * FROM customers_analytics')).rows);
    expect(analytics.length).toBeGreaterThan(0);
    expect(new Set(analytics.map((row) => Number(row.shop_id)))).toEqual(new Set([shopA.shopId]));
    expect(Object.keys(analytics[0]!)).not.toContain('first_name');
    expect(Object.keys(analytics[0]!)).not.toContain('email');
    // No business set: nothing at all.
    const none = await readAsReporter(app.db.pool, {}, async (client) => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM tm_repair_orders')).rows[0]!.n));
    expect(none).toBe(0);
  });
});

describe('Tekmetric in the admin', () => {
  it('a manager of shop A lists and opens only shop A’s records, and never the customers with personal data', async () => {
    const manager = await adminClient(app.url, managerEmail);
    const list = await manager.call('GET', '/admin/api/resources/TekmetricRepairOrder/actions/list?perPage=100');
    expect(list.status).toBe(200);
    expect(list.body!.meta.total).toBeGreaterThan(0);
    expect(new Set(list.body!.records.map((r: { params: { shopId: number } }) => Number(r.params.shopId)))).toEqual(new Set([shopA.shopId]));
    const orderOfB = (await app.db.pool.query<{ id: string }>(`SELECT id::text FROM tm_repair_orders WHERE shop_id = $1 LIMIT 1`, [shopB.shopId])).rows[0]!.id;
    expect((await manager.call('GET', `/admin/api/resources/TekmetricRepairOrder/records/${shopB.shopId}:${orderOfB}/show`)).status).toBe(404);
    const orderOfA = (await app.db.pool.query<{ id: string }>(`SELECT id::text FROM tm_repair_orders WHERE shop_id = $1 AND deleted_at IS NULL LIMIT 1`, [shopA.shopId])).rows[0]!.id;
    const shown = await manager.call('GET', `/admin/api/resources/TekmetricRepairOrder/records/${shopA.shopId}:${orderOfA}/show`);
    expect(shown.status).toBe(200);
    expect(shown.body!.record.params.totalAddsUp).toMatch(/^yes/);
    expect((await manager.call('GET', '/admin/api/resources/TekmetricCustomer/actions/list')).status).toBe(403);
    const analytics = await manager.call('GET', '/admin/api/resources/TekmetricCustomerAnalytics/actions/list?perPage=100');
    expect(analytics.status).toBe(200);
    expect(new Set(analytics.body!.records.map((r: { params: { shopId: number } }) => Number(r.params.shopId)))).toEqual(new Set([shopA.shopId]));
    expect(Object.keys(analytics.body!.records[0].params)).not.toContain('email');
    const shops = await manager.call('GET', '/admin/api/resources/TekmetricShop/actions/list');
    expect(shops.body!.records.map((r: { id: string }) => r.id)).toEqual([String(shopA.shopId)]);
    // The manager may not start a sync from the admin either.
    expect((await manager.call('POST', `/admin/api/resources/TekmetricShop/records/${shopA.shopId}/sync`, { mode: 'incremental' })).status).toBe(403);
  });

  it('an admin starts "Sync one repair order by id" from the shop and the run finishes', async () => {
    const admin = await adminClient(app.url, tenants.users.admin.email);
    const order = fake.shops[0]!.repairOrders.find((o) => !o.deletedDate)!;
    const bad = await admin.call('POST', `/admin/api/resources/TekmetricShop/records/${shopA.shopId}/sync`, { mode: 'repair_order', repairOrderId: 'abc' });
    expect(bad.body!.notice.type).toBe('error');
    const started = await admin.call('POST', `/admin/api/resources/TekmetricShop/records/${shopA.shopId}/sync`, { mode: 'repair_order', repairOrderId: String(order.id) });
    expect(started.status).toBe(200);
    const runId = started.body!.runId as string;
    await expect.poll(async () => (await admin.call('GET', `/admin/api/resources/TekmetricSyncRun/records/${runId}/show`)).body!.record.params.status, { timeout: 30_000, interval: 200 }).toBe('succeeded');
  });
});

describe('a failed sync', () => {
  it('is recorded with its reason and notified to the webhooks subscribed to tekmetric.sync.failed', async () => {
    await app.db.pool.query(`INSERT INTO webhooks (business_id, name, url, event_types, secret_sealed) VALUES ($1, 'Ops alerts', 'http://127.0.0.1:9/hook', ARRAY['tekmetric.sync.failed'], $2)`, [
      tenants.businessA,
      sealSecret('whsec-test'),
    ]);
    const admin = await apiClient(app.url, tenants.users.admin.email);
    const started = await admin.call('POST', '/api/sync/repair-orders/999999999', { shop_id: shopA.shopId });
    expect(started.status).toBe(202);
    const runId = started.body!.data.sync_run_id as string;
    await expect.poll(async () => (await admin.call('GET', `/api/sync/runs/${runId}`)).body!.data.status, { timeout: 30_000, interval: 200 }).toBe('failed');
    const run = (await admin.call('GET', `/api/sync/runs/${runId}`)).body!.data;
    expect(run.error).toMatch(/404/);
    expect(run.log[0]).toMatchObject({ entity: 'repair_orders', status: 'failed' });
    const deliveries = (await app.db.pool.query<{ event_type: string; payload: { runId: string; shopId: number } }>(`SELECT event_type, payload FROM webhook_deliveries`)).rows;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ event_type: 'tekmetric.sync.failed', payload: { runId, shopId: shopA.shopId } });
  });
});

describe('Tekmetric connections', () => {
  it('an admin stores a connection (checked, secret sealed, never shown); wrong credentials are a clear 400; managers are refused', async () => {
    const admin = await apiClient(app.url, tenants.users.admin.email);
    const wrong = await admin.call('POST', '/api/tekmetric/connections', { name: 'Wrong', base_url: `${fake.url}/`, client_id: fake.clientId, client_secret: 'nope' });
    expect(wrong.status).toBe(400);
    expect(wrong.body!.error.message).toMatch(/refused the client id and secret/);
    const bad = await admin.call('POST', '/api/tekmetric/connections', { name: '', base_url: 'ftp://x', client_id: 'a', client_secret: 'b' });
    expect(bad.status).toBe(400);
    const manager = await apiClient(app.url, managerEmail);
    expect((await manager.call('POST', '/api/tekmetric/connections', { name: 'Mine', base_url: fake.url, client_id: fake.clientId, client_secret: fake.clientSecret })).status).toBe(403);
    const stored = await admin.call('POST', '/api/tekmetric/connections', { name: 'Second door', base_url: `${fake.url}/`, client_id: fake.clientId, client_secret: fake.clientSecret });
    expect(stored.status).toBe(201);
    expect(JSON.stringify(stored.body)).not.toContain(fake.clientSecret);
    expect(stored.body!.data.shops.map((s: { shopId: number }) => s.shopId).sort()).toEqual([shopA.shopId, shopB.shopId].sort());
    const listed = await (await adminClient(app.url, tenants.users.admin.email)).call('GET', '/admin/api/resources/TekmetricConnection/actions/list');
    expect(listed.body!.records.map((r: { params: { secret: string } }) => r.params.secret)).toEqual(['stored, sealed']);
    expect((await (await adminClient(app.url, managerEmail)).call('GET', '/admin/api/resources/TekmetricConnection/actions/list')).status).toBe(403);
  });
});

describe('the schedule', () => {
  it('starts an incremental run for each shop due, none while one is open or within the interval, and purges old raw payloads', { timeout: 60_000 }, async () => {
    await app.db.pool.query(`INSERT INTO tm_raw_payloads (shop_id, business_id, entity, payload, fetched_at) VALUES ($1, $2, 'customers', '{}', now() - interval '30 days'), ($1, $2, 'customers', '{}', now())`, [shopA.shopId, shopA.businessId]);
    const first = await runDueSyncs(app.system, app.jobs, 14);
    expect(first.started.sort()).toEqual([shopA.shopId, shopB.shopId].sort());
    expect(first.purgedRawPayloads).toBe(1);
    expect((await runDueSyncs(app.system, app.jobs, 14)).started).toEqual([]);
    const open = async () => Number((await app.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tm_sync_runs WHERE trigger = 'schedule' AND status = 'succeeded'`)).rows[0]!.n);
    await expect.poll(open, { timeout: 45_000, interval: 250 }).toBe(2);
    expect((await runDueSyncs(app.system, app.jobs, 14)).started).toEqual([]);
  });
});
