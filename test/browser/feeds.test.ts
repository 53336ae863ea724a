import fs from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { callJson, fixturePath, uploadPreview } from '../helpers/feeds.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

describe.skipIf(!canRun)('Data Feeds and Metrics in a real browser', () => {
  it('ops drops a file in, sees the preview, creates the missing product, commits, watches it load, then sees the charts', { timeout: 120_000 }, async () => {
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    await page.getByTestId('feed-file').setInputFiles(fixturePath('sales-basic.csv'));
    await page.getByTestId('preview-table').waitFor();
    await expectText(page, 'summary-valid', '4 valid');
    await expect(page.getByTestId('preview-row-5').textContent()).resolves.toMatch(/missing/);
    await expect(page.getByTestId('preview-row-4').textContent()).resolves.toMatch(/≈ Croissant/);
    await page.screenshot({ path: screenshotPath('feeds-preview'), fullPage: true });

    await page.getByTestId('create-missing').click();
    await page.getByTestId('missing-panel').getByText('Every product is in your catalog.').waitFor();
    expect(await session.app.db.prisma.product.count({ where: { businessId: session.t.businessA, name: 'Cold Brew' } })).toBe(1);

    // The first status request fails (a network blip): the page says so and keeps asking.
    let failedOnce = false;
    await page.route('**/transform-status', (route) => {
      if (failedOnce) return route.continue();
      failedOnce = true;
      return route.abort('connectionreset');
    });
    await page.getByTestId('commit').click();
    await page.getByTestId('feed-status').getByText('transformed').waitFor({ timeout: 30_000 });
    expect(failedOnce).toBe(true);
    expect(await page.getByTestId('feed-status-problem').count()).toBe(0);
    await expectText(page, 'chip-records', '4 records');
    await expect(page.getByTestId('chip-revenue').textContent()).resolves.toMatch(/51\.85/);
    await page.screenshot({ path: screenshotPath('feeds-transformed'), fullPage: true });

    // The feed's history lists it with its status.
    await page.goto(`${session.app.url}/admin/resources/DataFeed`);
    await page.getByText('sales-basic.csv').first().waitFor();
    await page.getByText('transformed').first().waitFor();

    // Metrics is the stored dashboard "Sales & margin": its views are refreshed after the load, and its
    // widgets read them again on their interval, so the new feed appears without a reload.
    await page.goto(`${session.app.url}/admin/pages/metrics`);
    await page.getByTestId('metrics-page').waitFor({ timeout: 60_000 });
    await page.getByTestId('range').selectOption('custom');
    await page.fill('#d-from', '2025-09-01');
    await page.fill('#d-to', '2025-09-30');
    const revenue = page.locator('[data-testid="widget-kpi"][data-title="Revenue"] [data-testid="kpi-value"]');
    await expect.poll(() => revenue.textContent(), { timeout: 60_000 }).toBe('£51.85');
    await expect(page.locator('[data-testid="widget-kpi"][data-title="Orders"] [data-testid="kpi-value"]').textContent()).resolves.toBe('4');
    await expect(page.locator('[data-testid="widget-kpi"][data-title="Margin %"] [data-testid="kpi-value"]').textContent()).resolves.toMatch(/^\d+\.\d+ %$/);
    await page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor();
    await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').first().waitFor();
    await page.locator('[data-testid="widget-donut"] path.recharts-sector').first().waitFor();
    // Every bar of the top products is named (regression: recharts dropped labels that would touch).
    const bars = await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').count();
    await expect(page.locator('[data-testid="widget-bar"] .recharts-xAxis .recharts-cartesian-axis-tick').count()).resolves.toBe(bars);
    await page.screenshot({ path: screenshotPath('metrics'), fullPage: true });

    // Drill down: a click on the top product's bar keeps the figures that follow the product filter to it.
    await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').first().click();
    await expect(page.getByTestId('clear-product').textContent()).resolves.toMatch(/Croissant/);
    await expect.poll(() => revenue.textContent(), { timeout: 30_000 }).toBe('£38.35');
    await page.locator('[data-testid="widget-kpi"][data-title="Orders"] [data-testid="not-filtered"]').waitFor();
    await page.screenshot({ path: screenshotPath('metrics-drilldown'), fullPage: true });
    await page.getByTestId('clear-product').click();
    await expect.poll(() => revenue.textContent(), { timeout: 30_000 }).toBe('£51.85');
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('the preview puts each value under its own header, whatever the file\'s column order, and shows what a bad cell holds', { timeout: 90_000 }, async () => {
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    // Columns in another order than the template's, and one the template does not know (regression: the
    // values were shown in template order under the file's headers).
    const csv = ['transaction_date,notes,price,quantity,product_name', '15/09/2025,hello,"1,234.50",2,Croissant', '16/09/2025,world,abc,1,Croissant'].join('\n');
    await page.getByTestId('feed-file').setInputFiles({ name: 'reordered.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('preview-table').waitFor();
    const headers = (await page.locator('[data-testid="preview-table"] th').allTextContents()).map((h) => h.trim());
    expect(headers).toEqual(['Row', 'Status', 'product_name', 'Match', 'quantity', 'price', 'transaction_date', 'notes (not loaded)']);
    const cellsOf = async (row: number) => Object.fromEntries((await page.getByTestId(`preview-row-${row}`).locator('td').allTextContents()).map((text, i) => [headers[i]!, text]));
    const first = await cellsOf(2);
    expect(first).toMatchObject({ product_name: 'Croissant', quantity: '2', price: '1234.50as written: 1,234.50', transaction_date: '2025-09-15as written: 15/09/2025', 'notes (not loaded)': 'hello' });
    await expectText(page, 'decimal-mark', 'decimal mark .');
    const second = await cellsOf(3);
    expect(second.Status).toBe('invalid: price is not a number');
    expect(second.price).toBe('abc');
    await page.screenshot({ path: screenshotPath('feeds-preview-columns'), fullPage: true });
    expect(await page.getByTestId('date-format-assumed').count()).toBe(0);

    // Dates that read either way: the order taken is shown as an assumption.
    await page.getByTestId('feed-file').setInputFiles({ name: 'ambiguous.csv', mimeType: 'text/csv', buffer: Buffer.from('product_name,quantity,price,Sold On\nCroissant,1,2.95,01/02/2025\n') });
    await expectText(page, 'date-format-assumed', 'Sold On: DD/MM/YYYY assumed (no day above 12 in the first rows)');
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('invalid rows past the rows shown are counted and named at the preview, and Commit says why it waits until they are skipped (regression: found only by the commit)', { timeout: 90_000 }, async () => {
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    const good = Array.from({ length: 55 }, (_, i) => `Croissant,${1 + (i % 3)},2.95,2025-09-${String(1 + (i % 28)).padStart(2, '0')}`);
    const csv = ['product_name,quantity,price,transaction_date', ...good, 'Croissant,one,2.95,2025-09-20'].join('\n');
    await page.getByTestId('feed-file').setInputFiles({ name: 'late-bad.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('preview-table').waitFor();
    await expectText(page, 'summary-invalid', '1 invalid');
    await expectText(page, 'invalid-row-57', 'quantity "one" is not a number');
    await expect(page.getByTestId('commit').isDisabled()).resolves.toBe(true);
    await expectText(page, 'commit-blockers', '1 row is invalid: skip it or fix the file.');
    await page.screenshot({ path: screenshotPath('feeds-commit-blocked'), fullPage: true });
    await page.locator('label[for="skip-invalid"]').click();
    await page.getByTestId('commit').click();
    await page.getByTestId('feed-status').getByText('transformed').waitFor({ timeout: 30_000 });
    await expectText(page, 'chip-records', '55 records');
    await page.getByText('1 invalid row was skipped.').waitFor();

    // The feed's own page tells its steps and the rows skipped as a table, not as the summary's JSON.
    const feedId = /Feed #(\d+)/.exec((await page.getByTestId('feed-progress').textContent())!)![1];
    await page.goto(`${session.app.url}/admin/resources/DataFeed/records/${feedId}/show`);
    await page.getByTestId('feed-milestones').getByText('Load finished').waitFor({ timeout: 30_000 });
    expect((await page.getByTestId('feed-milestones').locator('th').allTextContents())).toEqual(['Commit started', 'Queued', 'Load started', 'Load finished', 'Last update']);
    const skipped = await page.getByTestId('feed-skipped-rows').locator('tbody tr td').allTextContents();
    expect(skipped).toEqual(['57', 'quantity', 'one', 'is not a number']);
    expect(await page.getByTestId('feed-summary').textContent()).not.toContain('{');
    await page.screenshot({ path: screenshotPath('feeds-show'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('an admin chooses the business before the file, and is told so when they forget', { timeout: 90_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.admin.email);
    await page.goto(`${session.app.url}/admin/resources/DataFeed/actions/upload`);
    await page.getByTestId('business').waitFor({ timeout: 90_000 });
    await page.getByTestId('drop-zone').getByText('Choose the business first').waitFor();
    await page.getByTestId('feed-file').setInputFiles(fixturePath('sales-basic.csv'));
    await expectText(page, 'feed-error', 'Choose the business sales-basic.csv is for, then drop it again.');
    await page.getByTestId('business').selectOption({ label: 'Alpha Bakery' });
    await page.getByTestId('feed-file').setInputFiles(fixturePath('sales-basic.csv'));
    await page.getByTestId('preview-table').waitFor();
    expect(await page.getByTestId('feed-error').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('a file that cannot be read says what is wrong with it: too many columns, a workbook cut short (regression: the libraries\' own text)', { timeout: 90_000 }, async () => {
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    const header = ['product_name', 'quantity', 'price', 'transaction_date', ...Array.from({ length: 1496 }, (_, i) => `extra_${i}`)];
    const wide = Buffer.from(`${header.join(',')}\nCroissant,1,2.95,2025-09-01\n`);
    await page.getByTestId('feed-file').setInputFiles({ name: 'wide.csv', mimeType: 'text/csv', buffer: wide });
    await expectText(page, 'feed-error', 'wide.csv has 1,500 columns, more than the 1,000 a file may have.');
    const workbook = fs.readFileSync(fixturePath('sales.xlsx'));
    await page.getByTestId('feed-file').setInputFiles({ name: 'cut.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: workbook.subarray(0, workbook.length - 300) });
    await expectText(page, 'feed-error', 'cut.xlsx is damaged or incomplete');
    await page.screenshot({ path: screenshotPath('feeds-unreadable-workbook'), fullPage: true });
    expect(await page.getByTestId('feed-error').textContent()).not.toMatch(/FILE_ENDED|undefined/);
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

describe.skipIf(!canRun)('the Data Feeds history, live', () => {
  async function commitSales(token: string, filename: string, csv: string): Promise<number> {
    const preview = await uploadPreview(session.app.url, token, { name: filename, bytes: Buffer.from(csv) });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    const commit = await callJson(session.app.url, token, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, auto_create_products: true });
    expect(commit.status, JSON.stringify(commit.body)).toBe(202);
    return commit.body!.feed_id as number;
  }

  it('a long commit shows how far it has read, on the page and in the open history, then loads', { timeout: 150_000 }, async () => {
    const rows = 100_000;
    const csv = ['product_name,quantity,price,transaction_date', ...Array.from({ length: rows }, (_, i) => `Croissant,${1 + (i % 5)},2.95,2025-11-${String(1 + (i % 28)).padStart(2, '0')}`)].join('\n');
    const pageErrors: string[] = [];
    const page = await session.openUploadWorkbench(pageErrors);
    await page.getByTestId('feed-file').setInputFiles({ name: 'long-commit.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('preview-table').waitFor();
    // Signed in before the locks below: a sign-in is audited too.
    const history = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    history.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(history, session.t.users.opsA.email);

    // Staging waits behind the first lock; the commit's last step (its audit entry) behind the second, so
    // the progress it wrote last stays what others see until both are released.
    const blockers = await Promise.all(['LOCK TABLE staging_sales_items IN SHARE MODE', 'LOCK TABLE audit_log IN SHARE MODE'].map(async (lock) => {
      const blocker = new pg.Client({ connectionString: session.app.database.url });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query(lock);
      return blocker;
    }));
    try {
      await page.getByTestId('commit').click();
      const progress = page.getByTestId('committing').getByTestId('feed-commit-progress');
      await progress.waitFor({ timeout: 30_000 });
      await expect(progress.textContent()).resolves.toMatch(/0% of the file read, 0 rows so far/);
      const feedId = (await session.app.db.pool.query<{ id: number }>(`SELECT id FROM data_feeds WHERE filename = 'long-commit.csv'`)).rows[0]!.id;

      await history.goto(`${session.app.url}/admin/resources/DataFeed`);
      const cell = history.getByTestId(`feed-status-cell-${feedId}`);
      await cell.waitFor({ timeout: 60_000 });
      expect(await cell.getByTestId('feed-status').getAttribute('data-status')).toBe('processing');
      await cell.getByTestId('feed-commit-progress').waitFor();

      // Progress is written at most once a second: let one pass, then let the rows through.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await blockers[0]!.query('ROLLBACK');
      await expect.poll(async () => Number(await progress.getAttribute('data-percent')), { timeout: 30_000 }).toBeGreaterThan(0);
      await expect(progress.textContent()).resolves.toMatch(/[1-9]\d?% of the file read, [\d,]+ rows so far/);
      await expect.poll(async () => Number(await cell.getByTestId('feed-commit-progress').getAttribute('data-percent')), { timeout: 30_000 }).toBeGreaterThan(0);
      await page.getByTestId('commit').scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshotPath('feeds-commit-progress') });
      await history.screenshot({ path: screenshotPath('feeds-history-committing'), fullPage: true });

      await blockers[1]!.query('ROLLBACK');
      await page.getByTestId('feed-progress').getByTestId('feed-status').getByText('transformed').waitFor({ timeout: 60_000 });
      await expectText(page, 'chip-records', `${rows.toLocaleString('en-US')} records`);
      expect(await page.getByTestId('feed-commit-progress').count()).toBe(0);
      await cell.locator('[data-testid="feed-status"][data-status="transformed"]').waitFor({ timeout: 30_000 });
      expect(await cell.getByTestId('feed-commit-progress').count()).toBe(0);
      expect(pageErrors).toEqual([]);
      await history.close();
      await page.close();
    } finally {
      for (const blocker of blockers) await blocker.end();
    }
  });

  it('an open list shows loading feeds in progress, then transformed with their chips, or failed with the error, without a reload', { timeout: 150_000 }, async () => {
    const ops = (await apiClient(session.app.url, session.t.users.opsA.email)).token;
    // Holds every load at its first write to fact_sales, so the feeds stay in progress until released.
    const blocker = new pg.Client({ connectionString: session.app.database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE fact_sales IN SHARE MODE');
      const loading = await commitSales(ops, 'history-live.csv', ['product_name,quantity,price,transaction_date', 'Croissant,10,2.95,2025-10-01', 'Croissant,4,2.95,2025-10-02', 'Sourdough Loaf,2,6.50,2025-10-02'].join('\n'));
      const failing = await commitSales(ops, 'history-failing.csv', ['product_name,quantity,price,transaction_date', 'Croissant,1,2.95,2025-10-03'].join('\n'));

      const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await signIn(page, session.t.users.opsA.email);
      const listUrl = `${session.app.url}/admin/resources/DataFeed`;
      await page.goto(listUrl);
      const loadingCell = page.getByTestId(`feed-status-cell-${loading}`);
      const failingCell = page.getByTestId(`feed-status-cell-${failing}`);
      // The first visit bundles the admin's components, which takes a while.
      await loadingCell.waitFor({ timeout: 90_000 });
      for (const cell of [loadingCell, failingCell]) {
        expect(await cell.getByTestId('feed-status').getAttribute('data-status')).toMatch(/^(queued|transforming)$/);
        expect(await cell.getByTestId('feed-chips').count()).toBe(0);
      }
      await page.screenshot({ path: screenshotPath('feeds-history-loading'), fullPage: true });
      // Survives only if the page is never reloaded.
      await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));

      // A feed committed after the list was fetched is announced, and listed on request, still without a reload.
      expect(await page.getByTestId('new-feeds').count()).toBe(0);
      const later = await commitSales(ops, 'history-later.csv', ['product_name,quantity,price,transaction_date', 'Croissant,3,2.95,2025-10-04'].join('\n'));
      await page.getByTestId('new-feeds').getByText('1 feed was committed since this list was loaded.').waitFor({ timeout: 30_000 });
      await page.screenshot({ path: screenshotPath('feeds-history-new-feed'), fullPage: true });
      await page.getByTestId('show-new-feeds').click();
      await page.getByTestId(`feed-status-cell-${later}`).waitFor({ timeout: 30_000 });
      await expect.poll(() => page.getByTestId('new-feeds').count(), { timeout: 15_000 }).toBe(0);

      // The second feed's staged rows vanish, as when the database restarts before a load: that load fails.
      await session.app.db.pool.query('DELETE FROM staging_sales_items WHERE data_feed_id = $1', [failing]);
      await blocker.query('ROLLBACK');

      await loadingCell.locator('[data-testid="feed-status"][data-status="transformed"]').waitFor({ timeout: 30_000 });
      // 14 croissants at 2.95 (cost 0.90) and 2 loaves at 6.50 whose cost is unknown: the margin is the
      // croissants' (41.30 − 12.60 = 28.70, 69.49 % of their revenue), and the feed says it is incomplete.
      await expect(loadingCell.getByTestId('chip-records').textContent()).resolves.toBe('3 records');
      await expect(loadingCell.getByTestId('chip-revenue').textContent()).resolves.toMatch(/54\.30/);
      await expect(loadingCell.getByTestId('chip-cogs').textContent()).resolves.toMatch(/12\.60/);
      await expect(loadingCell.getByTestId('chip-margin').textContent()).resolves.toMatch(/28\.70/);
      await expect(loadingCell.getByTestId('chip-margin-percent').textContent()).resolves.toBe('69.49%');
      await expect(loadingCell.getByTestId('feed-warnings').textContent()).resolves.toMatch(/1 warning.*Margin incomplete: 1 product without cost/);

      await failingCell.locator('[data-testid="feed-status"][data-status="failed"]').waitFor({ timeout: 30_000 });
      await expect(failingCell.getByTestId('feed-failure').textContent()).resolves.toMatch(/staged rows of this feed are gone/);
      expect(await failingCell.getByTestId('feed-chips').count()).toBe(0);

      expect(page.url()).toBe(listUrl);
      expect(await page.evaluate(() => (window as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);
      await page.screenshot({ path: screenshotPath('feeds-history'), fullPage: true });

      // The feed's own page shows the same status and chips.
      await page.goto(`${listUrl}/records/${loading}/show`);
      await page.getByTestId(`feed-status-cell-${loading}`).getByTestId('chip-records').getByText('3 records').waitFor();
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      await blocker.end();
    }
  });
});


async function expectText(page: Page, testId: string, text: string): Promise<void> {
  await page.getByTestId(testId).getByText(text).first().waitFor({ timeout: 15_000 });
}
