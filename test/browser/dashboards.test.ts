import { beforeAll, describe, expect, it } from 'vitest';
import { refreshViews } from '../../core/warehouse/views.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

describe.skipIf(!canRun)('Dashboards in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    const { app, t } = session;
    const q = (text: string, params: unknown[]) => app.db.pool.query(text, params);
    const source = (await q(`INSERT INTO data_sources (business_id, name, filename, header_fingerprint) VALUES ($1, 'ERP', 'orders.csv', 'fp') RETURNING id`, [t.businessA])).rows[0]!.id as string;
    const orders: [string, string, string, string][] = [
      ['A1', 'C1', '2026-01-05', '120.00'],
      ['A2', 'C2', '2026-02-10', '80.50'],
      ['A3', 'C1', '2026-03-12', '42.00'],
    ];
    let row = 0;
    for (const [ref, customer, date, total] of orders) {
      await q(`INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, manager_id, data_source_id, source_row) VALUES ($1, $2, $3, $4, 'paid', $5, $6, $7, $8)`, [t.businessA, ref, customer, date, total, t.users.managerA.id, source, ++row]);
    }
    await q(`INSERT INTO canonical_invoices (business_id, invoice_ref, customer_ref, invoice_date, amount, paid, data_source_id, source_row) VALUES ($1, 'I1', 'C1', '2026-01-06', 120, true, $2, 1), ($1, 'I2', 'C2', '2026-02-11', 80.5, false, $2, 2)`, [t.businessA, source]);
    await refreshViews(app.system, { trigger: 'manual' });
  }, 180_000);

  it('a manager opens Dashboards and sees the charts drawn, a KPI number and the freshness stamp', { timeout: 150_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.managerA.email);
    // The first visit bundles the admin's components (recharts included), which takes a while.
    await page.goto(`${session.app.url}/admin/pages/dashboards`);
    await page.getByTestId('dashboards-page').waitFor({ timeout: 120_000 });
    await page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor({ timeout: 30_000 });
    // Each widget reads its own data, so each is waited for on its own.
    await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="widget-donut"] path.recharts-sector').first().waitFor({ timeout: 30_000 });
    await expect(page.locator('[data-testid="widget-kpi"] [data-testid="kpi-value"]').first().textContent()).resolves.toBe('242.50');
    await expect.poll(() => page.locator('[data-testid="widget-table"] tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await expect(page.getByTestId('freshness').first().textContent()).resolves.toMatch(/refreshed (just now|\d+ min ago)/);
    await page.screenshot({ path: screenshotPath('dashboards-manager'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
