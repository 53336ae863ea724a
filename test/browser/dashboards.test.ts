import { beforeAll, describe, expect, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { todayIn } from '../../core/warehouse/ranges.js';
import { refreshChangedViews, refreshViews } from '../../core/warehouse/views.js';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { daysFrom, loadSalesFile } from '../helpers/feeds.js';

const session = useBrowserApp();
const { canRun, signIn } = session;
const today = todayIn('Europe/London');
/** Business A's sales: four years back, two years back, the last two months and today (the period in progress). */
const sales = [
  ['Croissant', '10', '3.00', daysFrom(today, -1450), 'S1'],
  ['Tart', '2', '12.00', daysFrom(today, -700), 'S2'],
  ['Croissant', '4', '3.00', daysFrom(today, -40), 'S5'],
  ['Croissant', '5', '3.00', daysFrom(today, -20), 'S3'],
  ['Tart', '1', '12.00', today, 'S4'],
];
const allTimeRevenue = '£93.00';

describe.skipIf(!canRun)('Dashboards in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    const { app, t } = session;
    const q = (text: string, params: unknown[]) => app.db.pool.query(text, params);
    const source = (await q(`INSERT INTO data_sources (business_id, name, filename, header_fingerprint) VALUES ($1, 'ERP', 'orders.csv', 'fp') RETURNING id`, [t.businessA])).rows[0]!.id as string;
    const orders: [string, string, string, string][] = [
      ['A1', 'ada@example.com', '2026-01-05', '120.00'],
      ['A2', 'C2', '2026-02-10', '80.50'],
      ['A3', 'ada@example.com', '2026-03-12', '42.00'],
    ];
    let row = 0;
    for (const [ref, customer, date, total] of orders) {
      await q(`INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, manager_id, data_source_id, source_row) VALUES ($1, $2, $3, $4, 'paid', $5, $6, $7, $8)`, [t.businessA, ref, customer, date, total, t.users.managerA.id, source, ++row]);
    }
    await q(`INSERT INTO canonical_customers (business_id, customer_ref, name, data_source_id, source_row) VALUES ($1, 'ada@example.com', 'Ada Lovelace', $2, 1)`, [t.businessA, source]);
    await q(`INSERT INTO canonical_invoices (business_id, invoice_ref, customer_ref, invoice_date, amount, paid, data_source_id, source_row) VALUES ($1, 'I1', 'C1', '2026-01-06', 120, true, $2, 1), ($1, 'I2', 'C2', '2026-02-11', 80.5, false, $2, 2)`, [t.businessA, source]);
    const ops = await apiClient(app.url, t.users.opsA.email);
    await loadSalesFile(app.url, ops.token, ['product_name,quantity,price,transaction_date,order_id', ...sales.map((line) => line.join(','))].join('\n'));
    await refreshChangedViews(app.system);
    await refreshViews(app.system, { trigger: 'manual' });
  }, 180_000);

  const kpi = (page: Page, title: string) => page.locator(`[data-testid="widget-kpi"][data-title="${title}"] [data-testid="kpi-value"]`).first();

  it('a manager opens Dashboards and sees the charts drawn, a KPI number in its currency, customers by pseudonym, and the freshness stamp', { timeout: 150_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.managerA.email);
    // The first visit bundles the admin's components (recharts included), which takes a while.
    await page.goto(`${session.app.url}/admin/pages/dashboards`);
    await page.getByTestId('dashboards-page').waitFor({ timeout: 120_000 });
    await page.getByTestId('dashboard-select').selectOption({ label: 'Orders & customers' });
    await page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor({ timeout: 30_000 });
    // Each widget reads its own data, so each is waited for on its own.
    await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="widget-donut"] path.recharts-sector').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => kpi(page, 'Revenue, all time').textContent(), { timeout: 30_000 }).toBe('£242.50');
    const top = page.locator('[data-testid="widget-table"][data-title="Top customers"]');
    await expect.poll(() => top.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await expect(top.getByTestId('personal-data').textContent()).resolves.toMatch(/Names hidden for your role/);
    await expect(top.locator('tbody').textContent()).resolves.toMatch(/Customer [0-9A-F]{6}.*anon-[0-9a-f]{10}.*GBP.*£162\.00/);
    await expect(top.locator('tbody').textContent()).resolves.not.toMatch(/Ada|ada@/);
    await expect(page.getByTestId('freshness').first().textContent()).resolves.toMatch(/refreshed (just now|\d+ min ago)/);
    await page.screenshot({ path: screenshotPath('dashboards-manager'), fullPage: true });
    await top.screenshot({ path: screenshotPath('dashboards-manager-top-customers') });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('ops see customers’ names; range, grouping and comparison live in the address, and switching dashboards reads nothing of the previous one', { timeout: 240_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1400 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const failed: string[] = [];
    page.on('response', (res) => res.url().includes('/api/dashboard') && res.status() >= 400 && failed.push(`${res.status()} ${res.url()}`));
    await signIn(page, session.t.users.opsA.email);
    await page.goto(`${session.app.url}/admin/pages/dashboards`);
    await page.getByTestId('dashboards-page').waitFor({ timeout: 120_000 });
    const dashboards = page.getByTestId('dashboard-select');
    await dashboards.selectOption({ label: 'Orders & customers' });
    const top = page.locator('[data-testid="widget-table"][data-title="Top customers"]');
    await expect.poll(() => top.locator('tbody').textContent(), { timeout: 30_000 }).toMatch(/Ada Lovelace.*ada@example\.com.*£162\.00/);
    await expect(top.getByTestId('personal-data').textContent()).resolves.toMatch(/names shown/i);
    await top.screenshot({ path: screenshotPath('dashboards-ops-top-customers') });

    // Sales & margin over four years by day: too many points, so by week, and the page says so.
    await dashboards.selectOption({ label: 'Sales & margin' });
    await page.getByTestId('range').selectOption('custom');
    await page.getByTestId('from').fill(daysFrom(today, -1460));
    await page.getByTestId('to').fill(today);
    await page.getByTestId('compare').selectOption('previous_year');
    await expect.poll(() => kpi(page, 'Revenue').textContent(), { timeout: 30_000 }).toBe(allTimeRevenue);
    await expect.poll(() => page.getByTestId('grouping-note').textContent(), { timeout: 30_000 }).toMatch(/Grouped by week: 1,461 days are too many points/);
    await expect(page.locator('[data-testid="widget-kpi"][data-title="Revenue"] [data-testid="kpi-change"]').textContent()).resolves.toMatch(/the same period a year earlier.*not over yet/);
    // A percentage's change is in percentage points.
    await expect.poll(() => page.locator('[data-testid="widget-kpi"][data-title="Margin %"] [data-testid="kpi-change"]').textContent(), { timeout: 30_000 }).toMatch(/ pp vs | nothing to compare/);
    await page.locator('[data-testid="widget-line"] .in-progress').first().waitFor({ timeout: 30_000 });
    await expect(page.locator('[data-testid="widget-line"] [data-testid="in-progress"]').textContent()).resolves.toMatch(/still in progress \(dashed\)/);
    await page.screenshot({ path: screenshotPath('dashboards-four-years'), fullPage: true });
    await page.locator('[data-testid="widget-line"]').screenshot({ path: screenshotPath('dashboards-four-years-line') });

    // A reload keeps the dashboard, the range, the grouping asked for and the comparison.
    const address = page.url();
    expect(address).toMatch(/range=custom/);
    await page.reload();
    await page.getByTestId('dashboards-page').waitFor({ timeout: 60_000 });
    await expect.poll(() => kpi(page, 'Revenue').textContent(), { timeout: 30_000 }).toBe(allTimeRevenue);
    expect(await page.getByTestId('range').inputValue()).toBe('custom');
    expect(await page.getByTestId('from').inputValue()).toBe(daysFrom(today, -1460));
    expect(await page.getByTestId('compare').inputValue()).toBe('previous_year');
    expect(await dashboards.locator('option:checked').textContent()).toBe('Sales & margin');
    expect(page.url()).toBe(address);

    // All time: every sale, and the margin % compared in points.
    await page.getByTestId('range').selectOption('all_time');
    await page.getByTestId('group-by').selectOption('month');
    await expect.poll(() => kpi(page, 'Revenue').textContent(), { timeout: 30_000 }).toBe(allTimeRevenue);
    await page.screenshot({ path: screenshotPath('dashboards-all-time'), fullPage: true });

    // Switching dashboards: no read of the previous dashboard's widgets, and no refused request.
    await page.getByTestId('range').selectOption('last_30_days');
    await page.getByTestId('compare').selectOption('previous_period');
    await expect.poll(() => page.locator('[data-testid="widget-kpi"][data-title="Margin %"] [data-testid="kpi-change"]').textContent(), { timeout: 30_000 }).toMatch(/[▲▼] [+−]\d+\.\d pp vs the previous period/);
    const salesWidgets = await page.locator('[data-testid^="widget-"][data-title]').count();
    expect(salesWidgets).toBe(9);
    const requested: string[] = [];
    const track = (request: Request) => request.url().includes('/api/dashboard') && requested.push(request.url());
    for (const [to, from] of [['Orders & customers', 'Sales & margin'], ['Sales & margin', 'Orders & customers'], ['Orders & customers', 'Sales & margin']] as const) {
      const before = await page.evaluate(() => window.location.search);
      const previousId = new URLSearchParams(before).get('dashboard')!;
      requested.length = 0;
      page.on('request', track);
      await dashboards.selectOption({ label: to });
      await expect.poll(() => page.locator('[data-testid^="widget-"][data-title] [data-testid="freshness"]').count(), { timeout: 30_000 }).toBe(to === 'Sales & margin' ? 9 : 6);
      page.off('request', track);
      expect(requested.filter((url) => url.includes(previousId)), `after switching from ${from} to ${to}`).toEqual([]);
    }
    expect(failed).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('the Metrics page opens a shared link with all time, and a four-year custom range, with every sale', { timeout: 120_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.opsA.email);
    await page.goto(`${session.app.url}/admin/pages/metrics?range=all_time&group_by=month&compare=previous_period`);
    await page.getByTestId('metrics-page').waitFor({ timeout: 60_000 });
    await expect.poll(() => kpi(page, 'Revenue').textContent(), { timeout: 30_000 }).toBe(allTimeRevenue);
    expect(await page.getByTestId('range').inputValue()).toBe('all_time');
    expect(await page.getByTestId('group-by').inputValue()).toBe('month');
    await page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: screenshotPath('metrics-all-time'), fullPage: true });
    await page.getByTestId('range').selectOption('custom');
    await page.getByTestId('from').fill(daysFrom(today, -1460));
    await page.getByTestId('to').fill(today);
    await expect.poll(() => kpi(page, 'Revenue').textContent(), { timeout: 30_000 }).toBe(allTimeRevenue);
    await expect.poll(() => page.url()).toContain(`from=${daysFrom(today, -1460)}`);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
