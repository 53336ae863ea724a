import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '../../core/auth/signIn.js';
import { contextFor } from '../../core/context.js';
import { DEMO_BUSINESS_ID, seedDemoBusiness, seedDemoStock } from '../../core/demo/seed.js';
import { stockBrowseSpecs } from '../../core/pipelines/stock_health/browse.js';
import { browseRows } from '../../core/warehouse/browse.js';
import { dashboardData, listDashboards } from '../../core/warehouse/dashboards.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
let dataDir: string;
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-stock-'));
  app = await startTestApp({ PIPELINE_DATA_DIR: dataDir, PIPELINE_FLUSH_SECONDS: '1' });
  await seedDemoBusiness(app.system);
}, 120_000);
afterAll(async () => {
  await app?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the demo stock day', () => {
  it('processes a day of sample files through the three pipelines, once', async () => {
    const runs = await seedDemoStock(app.system, app.jobs, dataDir);
    expect(runs).toHaveLength(3);
    expect(await seedDemoStock(app.system, app.jobs, dataDir)).toBeNull();
    const statuses = async () => (await app.db.pool.query<{ pipeline_name: string; status: string }>(`SELECT pipeline_name, status FROM pipeline_runs WHERE business_id = $1 ORDER BY pipeline_name`, [DEMO_BUSINESS_ID])).rows;
    await expect.poll(statuses, { timeout: 150_000, interval: 500 }).toEqual([
      { pipeline_name: 'po_snapshot', status: 'completed' },
      { pipeline_name: 'stock_health', status: 'completed' },
      { pipeline_name: 'supplier_master', status: 'completed' },
    ]);
    // Every store row found its supplier (read after the master loaded) and its shop.
    const held = (await app.db.pool.query(`SELECT count(*)::int AS rows, count(supplier)::int AS with_supplier, count(shop_id)::int AS with_shop, sum(open_po_qty)::int AS open_po FROM stock_health_snapshots WHERE business_id = $1`, [DEMO_BUSINESS_ID])).rows[0];
    expect(held).toMatchObject({ rows: 400, with_supplier: 400, with_shop: 400 });
    expect(held.open_po).toBeGreaterThan(0);

    // The demo manager is limited to Harbour Street (HS).
    const manager = await app.db.prisma.user.findUniqueOrThrow({ where: { email: 'manager@demo.backhouse.local' } });
    const seen = await browseRows(contextFor(principalOf(manager), app.db, app.system.log), stockBrowseSpecs.stockHealth, { take: 500 });
    expect(seen.total).toBe(200);
    expect(new Set(seen.rows.map((row) => row['storeCode']))).toEqual(new Set(['HS']));

    // The Stock health dashboard shows that manager Harbour Street's figures of the day, as the snapshot holds them.
    const managerCtx = contextFor(principalOf(manager), app.db, app.system.log);
    const dashboard = (await listDashboards(managerCtx)).find((d) => d.slug === 'stock-health')!;
    const data = await dashboardData(managerCtx, dashboard.id);
    expect(data.widgets.filter((w) => w.error)).toEqual([]);
    const kpi = (title: string) => Number(Object.values(data.widgets.find((w) => w.title === title)!.rows[0] ?? {})[0]);
    const own = (await app.db.pool.query(
      `SELECT count(*) FILTER (WHERE status = 'stockout')::int AS stockouts, count(*) FILTER (WHERE status = 'critical')::int AS critical,
              count(*) FILTER (WHERE suggested_order_qty > 0)::int AS to_order
       FROM stock_health_snapshots WHERE business_id = $1 AND store_code = 'HS'`, [DEMO_BUSINESS_ID])).rows[0];
    expect(own.to_order).toBeGreaterThan(0);
    expect(kpi('Stockouts')).toBe(own.stockouts);
    expect(kpi('Critical items')).toBe(own.critical);
    expect(kpi('Items to order')).toBe(own.to_order);
    const orders = data.widgets.find((w) => w.title === 'Items to order, by store')!.rows;
    expect(orders.length).toBe(Math.min(own.to_order, 100));
    expect(new Set(orders.map((row) => row.store_name)).size).toBe(1);
  }, 200_000);
});
