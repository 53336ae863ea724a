import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor } from '../../core/context.js';
import { DEMO_SHOP_MANAGER_EMAIL, startDemoTekmetric } from '../../core/demo/tekmetric.js';
import { refreshChangedViews } from '../../core/warehouse/views.js';
import { dashboardData, listDashboards } from '../../core/warehouse/dashboards.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** Demo mode: the built-in fake Tekmetric server, connected and synced by the workers, again after a restart. */
let app: TestApp;
const stops: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  app = await startTestApp();
}, 120_000);
afterAll(async () => {
  for (const fake of stops) await fake.close();
  await app?.close();
});

const runs = async () => (await app.db.pool.query<{ status: string; trigger: string }>(`SELECT status, trigger FROM tm_sync_runs ORDER BY created_at`)).rows;

describe('demo Tekmetric', () => {
  it('starts the fake, links its shop to a business named after it, and the workers sync it', { timeout: 120_000 }, async () => {
    stops.push(await startDemoTekmetric(app.system, app.jobs));
    await expect.poll(runs, { timeout: 90_000, interval: 500 }).toEqual([{ status: 'succeeded', trigger: 'demo' }]);
    const shop = (await app.db.pool.query<{ name: string; business: string; orders: string; metrics: string }>(
      `SELECT s.name, b.name AS business, (SELECT count(*) FROM tm_repair_orders r WHERE r.shop_id = s.id) AS orders, (SELECT count(*) FROM tm_daily_shop_metrics m WHERE m.shop_id = s.id) AS metrics
       FROM tm_shops s JOIN businesses b ON b.id = s.business_id`,
    )).rows;
    expect(shop).toHaveLength(1);
    expect(shop[0]!.business).toBeTruthy();
    expect(Number(shop[0]!.orders)).toBe(300);
    expect(Number(shop[0]!.metrics)).toBeGreaterThan(10);
    // The shop's own demo manager (the bakery's currency is not the shop's) sees it on the Shop dashboard.
    const demo = stops[0] as Awaited<ReturnType<typeof startDemoTekmetric>>;
    expect(demo.logins).toEqual([expect.objectContaining({ email: DEMO_SHOP_MANAGER_EMAIL, role: 'manager', generatedPassword: expect.any(String) })]);
    const manager = await app.db.prisma.user.findUniqueOrThrow({ where: { email: DEMO_SHOP_MANAGER_EMAIL } });
    const [linked] = (await app.db.pool.query<{ business_id: string; backhouse_shop_id: string }>(`SELECT business_id, backhouse_shop_id FROM tm_shops`)).rows;
    expect({ businessId: manager.businessId, shopIds: manager.shopIds }).toEqual({ businessId: linked!.business_id, shopIds: [linked!.backhouse_shop_id] });
    await refreshChangedViews(app.system);
    const asManager = contextFor({ kind: 'user', id: manager.id, email: manager.email, name: manager.name, role: 'manager', businessId: manager.businessId, shopIds: manager.shopIds }, app.db, app.log);
    const shopDashboard = (await listDashboards(asManager)).find((d) => d.slug === 'shop')!;
    const data = await dashboardData(asManager, shopDashboard.id);
    const carCount = data.widgets.find((w) => w.title === 'Car count')!;
    expect(Number(Object.values(carCount.rows[0] ?? {})[0])).toBeGreaterThan(0);
    const secret = (await app.db.pool.query<{ sealed: string | null }>(`SELECT client_secret_sealed AS sealed FROM tekmetric_connections`)).rows;
    expect(secret).toHaveLength(1);
    expect(secret[0]!.sealed).not.toContain('backhouse-demo-secret');
  });

  it('after a restart the same connection is used at the fake’s new address, without a second initial sync', { timeout: 60_000 }, async () => {
    await stops.pop()!.close();
    const again = await startDemoTekmetric(app.system, app.jobs);
    stops.push(again);
    const connections = (await app.db.pool.query<{ base_url: string }>(`SELECT base_url FROM tekmetric_connections`)).rows;
    expect(connections).toEqual([{ base_url: again.url }]);
    expect(again.logins).toEqual([]);
    expect(await runs()).toHaveLength(1);
  });
});
