import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { callJson, uploadPreview, waitForFeed } from '../helpers/feeds.js';

const session = useBrowserApp();
const { canRun, signIn } = session;


const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? '').trim();
const blockers = async (page: Page) => (await page.getByTestId('commit-blocker').allTextContents()).map((b) => b.trim());

describe.skipIf(!canRun)('the upload page checks the whole file', () => {
  it('counts every row, lists every invalid row and new product past the rows shown, with progress while it reads, and says why Commit is disabled', { timeout: 120_000 }, async () => {
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    // 2,000 rows; rows 600, 1200 and 1800 are bad, and two products new to the catalog appear after row 50.
    const lines = ['product_name,quantity,price,transaction_date'];
    for (let row = 2; row <= 2001; row++) {
      if (row === 600) lines.push('Croissant,lots,2.95,2025-09-01');
      else if (row === 1200) lines.push('Croissant,1,2.95,2025-13-45');
      else if (row === 1800) lines.push(',1,2.95,2025-09-01');
      else if (row === 700 || row === 701) lines.push('Pain Suisse,1,3.40,2025-09-02');
      else if (row === 900) lines.push('Kouign Amann,1,4.10,2025-09-02');
      else lines.push('Croissant,1,2.95,2025-09-01');
    }
    // The check is held at its last step (it asks which feeds loaded the same file), so its progress stays on screen.
    const blocker = new pg.Client({ connectionString: session.app.database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE data_feeds IN ACCESS EXCLUSIVE MODE');
      await page.getByTestId('feed-file').setInputFiles({ name: 'late-problems.csv', mimeType: 'text/csv', buffer: Buffer.from(lines.join('\n')) });
      await page.getByTestId('check-progress').getByText(/Checking every row of late-problems\.csv: [\d,]+ rows read \(\d+%\)/).waitFor({ timeout: 30_000 });
      await page.screenshot({ path: screenshotPath('feeds-check-progress'), fullPage: true });
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    await page.getByTestId('preview-table').waitFor();
    expect(await page.getByTestId('check-progress').count()).toBe(0);
    expect(await text(page, 'summary-total')).toBe('2,000 rows in the file');
    expect(await text(page, 'summary-valid')).toBe('1,997 valid');
    expect(await text(page, 'summary-invalid')).toBe('3 invalid');
    expect(await text(page, 'summary-new-products')).toBe('2 new products');
    expect(await text(page, 'summary-shown')).toBe('first 50 shown below');
    expect(await page.locator('[data-testid^="invalid-row-"]').allTextContents()).toEqual([
      'Row 600quantity "lots" is not a number',
      expect.stringMatching(/^Row 1200transaction_date "2025-13-45" is not a date/),
      'Row 1800product_name is empty',
    ]);
    // Each with its rows, and a way to map it to a product the catalog has instead.
    expect(await page.getByTestId('new-product').allTextContents()).toEqual(['Kouign AmannMap to a product…1', 'Pain SuisseMap to a product…2']);
    expect(await page.getByTestId('new-product-price').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(['4.10', '3.40']);

    // Commit is disabled, and the page says what stands in the way.
    await expect(page.getByTestId('commit').isDisabled()).resolves.toBe(true);
    expect(await blockers(page)).toEqual(['3 rows are invalid: skip them or fix the file.', '2 products are missing from your catalog: create them or map them to products you have.']);
    await page.getByTestId('commit').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('feeds-whole-file-preview'), fullPage: true });

    // The person changes a price and gives a cost; the other product keeps the file's price and no cost.
    await page.getByLabel('Price of Pain Suisse').fill('3.60');
    await page.getByLabel('Cost of Pain Suisse').fill('1.20');
    await page.getByTestId('create-missing').click();
    await page.getByTestId('missing-panel').getByText('Every product is in your catalog.').waitFor({ timeout: 30_000 });
    const created = await session.app.db.pool.query(`SELECT name, selling_price_cents, cost_price_cents FROM products WHERE business_id = $1 AND name IN ('Pain Suisse', 'Kouign Amann') ORDER BY name`, [session.t.businessA]);
    expect(created.rows).toEqual([
      { name: 'Kouign Amann', selling_price_cents: 410, cost_price_cents: null },
      { name: 'Pain Suisse', selling_price_cents: 360, cost_price_cents: 120 },
    ]);
    expect(await blockers(page)).toEqual(['3 rows are invalid: skip them or fix the file.']);
    await page.locator('label[for="skip-invalid"]').click();
    expect(await page.getByTestId('commit-blockers').count()).toBe(0);
    await page.getByTestId('commit').click();
    await page.getByTestId('feed-progress').getByTestId('feed-status').getByText('transformed').waitFor({ timeout: 60_000 });
    await page.getByText(/Margin incomplete: 1 product without cost/).waitFor();
    await page.getByTestId('chip-margin-incomplete').getByText('margin incomplete: 1 product without cost').waitFor();
    await page.screenshot({ path: screenshotPath('feeds-margin-incomplete'), fullPage: true });

    // Metrics says it too, above the widgets.
    await page.goto(`${session.app.url}/admin/pages/metrics`);
    await page.getByTestId('metrics-page').waitFor({ timeout: 60_000 });
    await page.getByTestId('range').selectOption('custom');
    await page.fill('#d-from', '2025-09-01');
    await page.fill('#d-to', '2025-09-30');
    await expect.poll(() => page.getByTestId('margin-incomplete').textContent(), { timeout: 30_000 }).toMatch(/^Margin incomplete: 1 product without cost/);
    await page.screenshot({ path: screenshotPath('metrics-margin-incomplete'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('warns of a file already loaded, offers skip, replace or load anyway, and commits with the choice', { timeout: 120_000 }, async () => {
    const ops = (await apiClient(session.app.url, session.t.users.opsA.email)).token;
    const csv = ['product_name,quantity,price,transaction_date,order_id', 'Croissant,10,2.95,2025-08-01,D-1', 'Croissant,2,2.95,2025-08-01,D-2'].join('\n');
    const preview = await uploadPreview(session.app.url, ops, { name: 'august.csv', bytes: Buffer.from(csv) });
    const first = await callJson(session.app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token });
    expect(first.status).toBe(202);
    await waitForFeed(session.app.url, ops, first.body!.feed_id);

    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    await page.getByTestId('feed-file').setInputFiles({ name: 'august-again.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    const warning = page.getByTestId('duplicates-warning');
    await warning.waitFor({ timeout: 30_000 });
    await expect(warning.textContent()).resolves.toMatch(new RegExp(`august-again\\.csv was already loaded: the same file is feed #${first.body!.feed_id} \\(august\\.csv, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\)`));
    await expect(warning.textContent()).resolves.toMatch(/Rows already loaded: 2, 3/);
    await expect(page.getByTestId('commit').isDisabled()).resolves.toBe(true);
    expect(await blockers(page)).toEqual([expect.stringMatching(/already loaded.*Choose: skip those rows, replace the earlier feed, or load anyway\.$/)]);
    await page.screenshot({ path: screenshotPath('feeds-duplicate-warning'), fullPage: true });

    await page.getByTestId('duplicates-replace').check();
    expect(await page.getByTestId('commit-blockers').count()).toBe(0);
    await page.getByTestId('commit').click();
    await page.getByTestId('feed-progress').getByTestId('feed-status').getByText('transformed').waitFor({ timeout: 60_000 });
    await page.getByText(new RegExp(`Feed #${first.body!.feed_id} is replaced by this one when it loads\\.`)).waitFor();
    const feeds = await session.app.db.pool.query(`SELECT filename, duplicate_choice FROM data_feeds WHERE business_id = $1 AND filename LIKE 'august%'`, [session.t.businessA]);
    expect(feeds.rows).toEqual([{ filename: 'august-again.csv', duplicate_choice: 'replace' }]);
    const revenue = await session.app.db.pool.query(`SELECT sum(gross_revenue)::text AS revenue FROM fact_sales WHERE business_id = $1 AND date_key = '2025-08-01'`, [session.t.businessA]);
    expect(revenue.rows[0].revenue).toBe('35.40');
    await page.screenshot({ path: screenshotPath('feeds-duplicate-replaced'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
