import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { callJson } from '../helpers/feeds.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

/** The upload page's choices about a file's names and dates, in a real browser. */
describe.skipIf(!canRun)('mapping names to products and typing a date format on the upload page', () => {
  it('ops searches the catalog for a missing name, maps it, and the row matches; the next file matches it too', { timeout: 120_000 }, async () => {
    const ops = (await apiClient(session.app.url, session.t.users.opsA.email)).token;
    expect((await callJson(session.app.url, ops, 'POST', '/api/products', { name: 'Kouign-amann', sellingPriceCents: 420, costPriceCents: 150 })).status).toBe(201);
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    const csv = 'product_name,quantity,price,transaction_date\nCroissant,1,2.95,2025-09-01\nBreton butter cake,2,4.20,2025-09-01\n';
    await page.getByTestId('feed-file').setInputFiles({ name: 'names.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('preview-table').waitFor();
    await expect(page.getByTestId('preview-row-3').textContent()).resolves.toMatch(/missing/);

    await page.getByTestId('map-product-Breton butter cake').click();
    await page.getByTestId('catalog-search').fill('kouign');
    await page.getByTestId('catalog-result').getByText('Kouign-amann').waitFor();
    await page.screenshot({ path: screenshotPath('feeds-map-name-search'), fullPage: true });
    await page.getByTestId('catalog-result').getByText('Kouign-amann').click();

    await page.getByTestId('preview-row-3').getByText('= Kouign-amann (your mapping)').waitFor({ timeout: 15_000 });
    await page.getByTestId('missing-panel').getByText('Every product is in your catalog.').waitFor();
    expect(await page.getByTestId('summary-invalid').textContent()).toBe('0 invalid');
    await page.screenshot({ path: screenshotPath('feeds-map-name-mapped'), fullPage: true });

    // A later file writing the name another way matches it without asking.
    await page.getByTestId('feed-file').setInputFiles({ name: 'later.csv', mimeType: 'text/csv', buffer: Buffer.from('product_name,quantity,price,transaction_date\nBRETON BUTTER-CAKE,1,4.20,2025-09-02\n') });
    await page.getByTestId('preview-row-2').getByText('= Kouign-amann (your mapping)').waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('dates detection is unsure of are flagged; the format typed reads them, and a wrong one is explained', { timeout: 120_000 }, async () => {
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    const csv = 'product_name,quantity,price,Sold On\nCroissant,1,2.95,03/04/2026\nCroissant,1,2.95,05/06/2026\n';
    await page.getByTestId('feed-file').setInputFiles({ name: 'us-dates.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('preview-table').waitFor();
    await page.getByTestId('date-format-read').getByText('Sold On: read as DD/MM/YYYY, found in the file. Not sure: type the format the file uses.').waitFor();
    expect(await page.getByTestId('preview-row-2').locator('td[data-column="transaction_date"]').textContent()).toMatch(/^2026-04-03/);

    await page.getByTestId('date-format-input').fill('MM/DD');
    await page.getByTestId('date-format-apply').click();
    await page.getByTestId('feed-error').getByText('The date format “MM/DD” must name a day, a month and a year.', { exact: false }).waitFor();

    await page.getByTestId('date-format-input').fill('MM/DD/YYYY');
    await page.getByTestId('date-format-apply').click();
    await page.getByTestId('date-format-read').getByText('Sold On: read as MM/DD/YYYY, the format you gave').waitFor();
    expect(await page.getByTestId('preview-row-2').locator('td[data-column="transaction_date"]').textContent()).toMatch(/^2026-03-04/);
    expect(await page.getByTestId('feed-error').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('feeds-date-format-typed'), fullPage: true });

    await page.getByTestId('commit').click();
    await page.getByTestId('feed-progress').getByText('transformed').waitFor({ timeout: 60_000 });
    const loaded = await session.app.db.pool.query<{ d: string }>(`SELECT to_char(date_key, 'YYYY-MM-DD') AS d FROM fact_sales f JOIN data_feeds df ON df.id = f.data_feed_id WHERE df.filename = 'us-dates.csv' ORDER BY f.source_row`);
    expect(loaded.rows.map((row) => row.d)).toEqual(['2026-03-04', '2026-05-06']);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('a mapping reads dates in a format typed on the mapping page', { timeout: 180_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1500, height: 1300 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.opsA.email);
    await page.goto(`${session.app.url}/admin/pages/mapping`);
    await page.getByTestId('mapping-page').waitFor({ timeout: 120_000 });
    const orders = ['Order No,Order Date,Customer,Total', 'A-1,2026.29.11,C1,120.00', 'A-2,2026.30.11,C2,80.50'].join('\n');
    await page.getByTestId('source-file').setInputFiles({ name: 'odd-dates.csv', mimeType: 'text/csv', buffer: Buffer.from(orders) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('proposal-note').waitFor();
    const dateRow = page.locator('[data-testid="mapping-row"][data-source="Order Date"]');
    await dateRow.locator('[data-testid="target"]').selectOption('order_date');
    // The proposal's own steps (an automatic date_parse, which no format it knows satisfies) make way for the typed one.
    while ((await dateRow.getByTestId('transform-step').count()) > 0) await dateRow.getByLabel('remove step').first().click();
    await dateRow.getByLabel('add transform').selectOption('date_parse');
    await dateRow.getByLabel('format').fill('YYYY.DD.MM');
    await dateRow.getByRole('button', { name: 'Add' }).click();
    await dateRow.getByTestId('transform-step').filter({ hasText: 'YYYY.DD.MM' }).waitFor();
    await page.getByTestId('preview-mapping').click();
    await page.getByTestId('mapping-preview').waitFor();
    await expect(page.getByTestId('preview-row').first().textContent()).resolves.toContain('2026-11-29');
    await page.screenshot({ path: screenshotPath('mapping-date-format-typed'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});

