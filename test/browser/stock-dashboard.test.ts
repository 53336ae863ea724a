import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

/** One store's snapshot day as the stock_health pipeline writes it: [sku, status, on hand, days of cover, suggested qty, order cents]. */
async function snapshot(businessId: string, shopId: string, storeCode: string, rows: [string, string, number, number, number, number][]): Promise<void> {
  const runId = randomUUID();
  for (const [index, [sku, status, onHand, cover, order, orderCents]] of rows.entries()) {
    await session.app.db.pool.query(
      `INSERT INTO stock_health_snapshots (business_id, business_date, pipeline_run_id, file_job_id, store_code, shop_id, sku, product_name,
         on_hand, sold_last_30_days, unit_cost_cents, supplier, lead_time_days, moq, pack_size, open_po_qty, avg_daily_sales, days_of_cover,
         safety_stock, reorder_point, suggested_order_qty, status, stock_value_cents, order_value_cents, source_row)
       VALUES ($1, '2026-12-06', $2, $2, $3, $4, $5, $6, $7, 30, 250, 'Acme', 7, 1, 1, 0, 1, $8, 3, 10, $9, $10, $7 * 250, $11, $12)`,
      [businessId, runId, storeCode, shopId, sku, `Product ${sku}`, onHand, cover, order, status, orderCents, index + 2],
    );
  }
}

describe.skipIf(!canRun)('Stock health dashboard in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    const { t } = session;
    await snapshot(t.businessA, t.shopA1, 'A1', [['BOLT-10', 'stockout', 0, 0, 24, 6000], ['NUT-4', 'critical', 2, 2, 12, 3000], ['WASHER', 'healthy', 40, 40, 0, 0]]);
    await snapshot(t.businessA, t.shopA2, 'A2', [['BOLT-10', 'stockout', 0, 0, 36, 9000], ['GEAR-7', 'low', 8, 8, 6, 1500]]);
  }, 60_000);

  it('renders for a manager of one store: KPIs, status by store and the items to order of that store only', { timeout: 200_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.managerA.email);
    await page.goto(`${session.app.url}/admin/pages/dashboards`);
    await page.getByTestId('dashboards-page').waitFor({ timeout: 150_000 });
    await page.getByTestId('dashboard-select').selectOption({ label: 'Stock health' });
    const kpi = (title: string) => page.locator(`[data-testid="widget-kpi"][data-title="${title}"] [data-testid="kpi-value"]`).first();
    await expect.poll(() => kpi('Stockouts').textContent(), { timeout: 60_000 }).toBe('1');
    await expect.poll(() => kpi('Critical items').textContent(), { timeout: 30_000 }).toBe('1');
    await expect.poll(() => kpi('Items to order').textContent(), { timeout: 30_000 }).toBe('2');
    await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').first().waitFor({ timeout: 30_000 });
    const orders = page.locator('[data-testid="widget-table"][data-title="Items to order, by store"]');
    await expect.poll(() => orders.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    const text = (await page.locator('[data-testid="dashboards-page"]').textContent()) ?? '';
    expect(text).toContain('NUT-4');
    expect(text).not.toContain('GEAR-7');
    await page.screenshot({ path: screenshotPath('stock-health-dashboard-manager'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
