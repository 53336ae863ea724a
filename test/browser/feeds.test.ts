import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { fixturePath } from '../helpers/feeds.js';

const session = useBrowserApp();
const { canRun, signIn } = session;


describe.skipIf(!canRun)('Data Feeds and Metrics in a real browser', () => {
  it('ops drops a file in, sees the preview, creates the missing product, commits, watches it load, then sees the charts', { timeout: 120_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.opsA.email);
    // The first visit bundles the admin's components (recharts included), which takes a while.
    await page.goto(`${session.app.url}/admin/resources/DataFeed/actions/upload`);
    await page.getByTestId('data-feed-upload').waitFor({ timeout: 90_000 });
    await page.getByTestId('feed-file').setInputFiles(fixturePath('sales-basic.csv'));
    await page.getByTestId('preview-table').waitFor();
    await expectText(page, 'summary-valid', '4 valid');
    await expect(page.getByTestId('preview-row-5').textContent()).resolves.toMatch(/missing/);
    await expect(page.getByTestId('preview-row-4').textContent()).resolves.toMatch(/≈ Croissant/);
    await page.screenshot({ path: screenshotPath('feeds-preview'), fullPage: true });

    await page.getByTestId('create-missing').click();
    await page.getByTestId('missing-panel').getByText('Every product is in your catalog.').waitFor();
    expect(await session.app.db.prisma.product.count({ where: { businessId: session.t.businessA, name: 'Cold Brew' } })).toBe(1);

    await page.getByTestId('commit').click();
    await page.getByTestId('feed-status').getByText('transformed').waitFor({ timeout: 30_000 });
    await expectText(page, 'chip-records', '4 records');
    await expect(page.getByTestId('chip-revenue').textContent()).resolves.toMatch(/51\.85/);
    await page.screenshot({ path: screenshotPath('feeds-transformed'), fullPage: true });

    // The feed's history lists it with its status.
    await page.goto(`${session.app.url}/admin/resources/DataFeed`);
    await page.getByText('sales-basic.csv').first().waitFor();
    await page.getByText('transformed').first().waitFor();
    await page.screenshot({ path: screenshotPath('feeds-history') });

    await page.goto(`${session.app.url}/admin/pages/metrics`);
    await page.getByTestId('metrics-page').waitFor({ timeout: 60_000 });
    await page.getByTestId('range').selectOption('custom');
    await page.fill('#m-from', '2025-09-01');
    await page.fill('#m-to', '2025-09-30');
    await expectText(page, 'kpi-revenue', '51.85');
    await page.locator('[data-testid="trend-chart"] path.recharts-curve').first().waitFor();
    expect(await page.locator('[data-testid="trend-chart"] path.recharts-curve').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="top-products-chart"] path.recharts-rectangle').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="split-chart"] path.recharts-sector').count()).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('metrics'), fullPage: true });

    // Drill down: a click on a product's bar shows that product's trend.
    await page.locator('[data-testid="top-products-chart"] path.recharts-rectangle').first().click();
    await page.getByTestId('clear-product').waitFor();
    await page.screenshot({ path: screenshotPath('metrics-drilldown'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('a manager gets no Data Feeds screen but does see their Metrics', { timeout: 90_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(page, session.t.users.managerA.email);
    expect(await page.getByText('Data', { exact: true }).count()).toBe(0);
    await page.goto(`${session.app.url}/admin/resources/DataFeed/actions/upload`);
    await page.waitForLoadState('networkidle');
    expect(await page.getByTestId('data-feed-upload').count()).toBe(0);
    await page.goto(`${session.app.url}/admin/pages/metrics`);
    await page.getByTestId('metrics-page').waitFor({ timeout: 60_000 });
    await page.close();
  });
});

async function expectText(page: Page, testId: string, text: string): Promise<void> {
  await page.getByTestId(testId).getByText(text).first().waitFor({ timeout: 15_000 });
}
