import { describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

// An ERP export: day-first dates, statuses in mixed case, two rows the load must refuse (rows 5 and 6:
// the header is row 1). Revenue of the good, not cancelled orders: 120.00 + 80.50 + 42.00 = 242.50.
const ORDERS = [
  'Order No,Order Date,Customer,Customer Email,Status,Total,Currency',
  'A-1,05/01/2026,C1,ann@example.com,Paid,120.00,GBP',
  'A-2,10/02/2026,C2,bob@example.com,paid,80.50,GBP',
  'A-3,13/03/2026,C1,ann@example.com,PAID,42.00,GBP',
  'A-4,not a date,C3,cy@example.com,paid,10.00,GBP',
  'A-5,14/03/2026,C2,bob@example.com,paid,lots,GBP',
  'A-6,15/03/2026,C4,di@example.com,Cancelled,99.00,GBP',
].join('\n');

const page = async () => {
  const opened = await session.browser.newPage({ viewport: { width: 1500, height: 1300 } });
  const errors: string[] = [];
  opened.on('pageerror', (error) => errors.push(error.message));
  return { page: opened, errors };
};

describe.skipIf(!canRun)('Data sources and mapping in a real browser', () => {
  it('ops maps an export; an admin approves and executes it; the dashboard draws the loaded orders', { timeout: 240_000 }, async () => {
    const { app, t } = session;
    const ops = await page();
    await signIn(ops.page, t.users.opsA.email);
    await ops.page.goto(`${app.url}/admin/pages/mapping`);
    await ops.page.getByTestId('mapping-page').waitFor({ timeout: 120_000 });
    await ops.page.getByTestId('source-file').setInputFiles({ name: 'erp-orders.csv', mimeType: 'text/csv', buffer: Buffer.from(ORDERS) });
    await ops.page.getByRole('button', { name: 'Upload' }).click();
    // The source opens first, its proposal follows: wait for the proposal before reading the editor.
    await ops.page.getByTestId('proposal-note').filter({ hasText: 'Proposed: orders' }).waitFor();

    // The proposal: orders, each column with a target and a reason; the email column flagged as personal data.
    await expect(ops.page.getByTestId('map-table').inputValue()).resolves.toBe('orders');
    const target = (source: string) => ops.page.locator(`[data-testid="mapping-row"][data-source="${source}"] [data-testid="target"]`);
    await expect(target('Order No').inputValue()).resolves.toBe('order_ref');
    await expect(target('Order Date').inputValue()).resolves.toBe('order_date');
    await expect(target('Total').inputValue()).resolves.toBe('total_amount');
    await expect(target('Customer').inputValue()).resolves.toBe('customer_ref');
    await expect(target('Customer Email').inputValue()).resolves.toBe('');
    await expect(ops.page.locator('[data-testid="mapping-row"][data-source="Customer Email"] [data-testid="pii-flag"]').textContent()).resolves.toContain('email');

    // Edit: statuses to lower case, so "Paid" and "PAID" are the same status; then preview.
    const status = ops.page.locator('[data-testid="mapping-row"][data-source="Status"]');
    await expect(status.locator('[data-testid="target"]').inputValue()).resolves.toBe('status');
    await status.getByLabel('add transform').selectOption('lower');
    await status.getByRole('button', { name: 'Add' }).click();
    await status.getByTestId('transform-step').filter({ hasText: 'lower' }).waitFor();
    await ops.page.getByTestId('preview-mapping').click();
    await ops.page.getByTestId('mapping-preview').waitFor();
    const previewRows = ops.page.getByTestId('preview-row');
    await expect(previewRows.count()).resolves.toBe(6);
    await expect(previewRows.first().textContent()).resolves.toContain('2026-01-05');
    await expect(previewRows.first().textContent()).resolves.toContain('paid');
    await expect(previewRows.nth(3).textContent()).resolves.toMatch(/order_date/);

    await ops.page.getByTestId('save-mapping').click();
    await ops.page.locator('[data-testid="version-row"][data-status="draft"]').waitFor();
    // Ops cannot approve: no button, a note instead; and executing waits for an approved mapping.
    expect(await ops.page.getByTestId('approve-mapping').count()).toBe(0);
    await ops.page.getByTestId('awaiting-approval').waitFor();
    expect(await ops.page.getByTestId('execute-mapping').isDisabled()).toBe(true);
    await ops.page.screenshot({ path: screenshotPath('mapping-ops-proposal'), fullPage: true });

    const admin = await page();
    await signIn(admin.page, t.users.admin.email);
    await admin.page.goto(`${app.url}/admin/pages/mapping`);
    await admin.page.getByTestId('source-item').filter({ hasText: 'erp-orders' }).click();
    await admin.page.getByTestId('approve-mapping').click();
    await admin.page.locator('[data-testid="version-row"][data-status="approved"]').waitFor();
    await admin.page.getByTestId('execute-mapping').click();
    await admin.page.locator('[data-testid="execution-status"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
    await expect(admin.page.getByTestId('execution').textContent()).resolves.toContain('4 rows loaded, 2 rejected');
    const rejected = await admin.page.getByTestId('reject-row').allTextContents();
    expect(rejected.some((row) => row.startsWith('5order_date'))).toBe(true);
    expect(rejected.some((row) => row.startsWith('6total_amount'))).toBe(true);
    const csv = await admin.page.evaluate(async () => (await fetch((document.querySelector('[data-testid="rejects-csv"]') as HTMLAnchorElement).href)).text());
    expect(csv.split('\r\n')[0]).toBe('row,column,value,reason');
    expect(csv).toContain('5,order_date,not a date,');
    await expect(admin.page.getByTestId('execution-progress').evaluate((bar) => (bar as HTMLElement).style.width)).resolves.toBe('100%');
    await admin.page.screenshot({ path: screenshotPath('mapping-admin-executed'), fullPage: true });

    // The load asked for a refresh of the views it touched; ops's dashboard then shows the orders.
    await expect.poll(async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM refresh_jobs WHERE view_name = 'monthly_revenue' AND trigger = 'incremental' AND status = 'succeeded'`)).rows[0].n, { timeout: 60_000 }).toBeGreaterThan(0);
    await ops.page.goto(`${app.url}/admin/pages/dashboards`);
    await ops.page.getByTestId('dashboards-page').waitFor({ timeout: 60_000 });
    await ops.page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor({ timeout: 30_000 });
    await expect(ops.page.locator('[data-testid="widget-kpi"] [data-testid="kpi-value"]').first().textContent()).resolves.toBe('£242.50');
    // Nothing loaded invoices: their widget says so rather than drawing an empty chart.
    await ops.page.locator('[data-testid="widget-donut"] [data-testid="widget-empty"]').waitFor({ timeout: 30_000 });
    await ops.page.screenshot({ path: screenshotPath('mapping-dashboard-after-load'), fullPage: true });

    expect(ops.errors).toEqual([]);
    expect(admin.errors).toEqual([]);
    await ops.page.close();
    await admin.page.close();
  });

  it('a source uploaded elsewhere joins the open list without a reload', { timeout: 120_000 }, async () => {
    const { app, t } = session;
    const ops = await page();
    await signIn(ops.page, t.users.opsA.email);
    await ops.page.goto(`${app.url}/admin/pages/mapping`);
    await ops.page.getByTestId('source-list').waitFor({ timeout: 120_000 });
    const listed = await ops.page.getByTestId('source-item').count();

    // A colleague uploads an export through the API while the page stays open.
    const colleague = await apiClient(app.url, t.users.opsA.email);
    const form = new FormData();
    form.append('name', 'Supplier price list');
    form.append('file', new Blob(['SKU,Description,Price\nP-1,Rye loaf,3.20\n']), 'supplier-prices.csv');
    const uploaded = await fetch(`${app.url}/api/data-sources`, { method: 'POST', headers: { authorization: `Bearer ${colleague.token}` }, body: form });
    expect(uploaded.status).toBe(201);

    await ops.page.getByTestId('source-item').filter({ hasText: 'Supplier price list' }).waitFor({ timeout: 15_000 });
    await expect(ops.page.getByTestId('source-item').count()).resolves.toBe(listed + 1);
    await expect(ops.page.getByTestId('source-item').first().textContent()).resolves.toContain('supplier-prices.csv');
    await ops.page.screenshot({ path: screenshotPath('mapping-source-from-elsewhere'), fullPage: true });

    // The computed columns' hint shows expressions the server takes; a spreadsheet-style [Header] is
    // refused with what to write instead, and the message is brought into view from the buttons below.
    await ops.page.getByTestId('source-item').filter({ hasText: 'Supplier price list' }).click();
    await ops.page.getByTestId('proposal-note').waitFor();
    await expect(ops.page.getByTestId('expression-hint').textContent()).resolves.toContain('Quantity * col("Unit Price")');
    // A window short enough that the buttons and the message at the top of the page are not both in it.
    await ops.page.setViewportSize({ width: 1500, height: 600 });
    await ops.page.getByRole('button', { name: '+ computed column' }).click();
    const computed = ops.page.getByTestId('computed-row').last();
    await computed.getByLabel('computed target').selectOption({ index: 1 });
    await computed.getByLabel('expression').fill('[Price] * 2');
    await ops.page.getByTestId('preview-mapping').click();
    const refusal = ops.page.getByTestId('mapping-error');
    await refusal.waitFor();
    await expect(refusal.textContent()).resolves.toMatch(/brackets \(“\[…\]”\) do not name a column: write the header as it is/);
    const box = (await refusal.boundingBox())!;
    const viewport = ops.page.viewportSize()!;
    expect(box.y >= 0 && box.y + box.height <= viewport.height, `the message at ${box.y}, the window ${viewport.height} high`).toBe(true);
    await ops.page.screenshot({ path: screenshotPath('mapping-expression-refused') });
    expect(ops.errors).toEqual([]);
    await ops.page.close();
  });
});
