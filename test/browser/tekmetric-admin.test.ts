import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { executeSyncRun } from '../../core/tekmetric/sync/execute.js';
import { requestSyncRun } from '../../core/tekmetric/sync/runs.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { managerOfShops } from '../helpers/tekmetric.js';

/**
 * Tekmetric in the admin, in a real browser: an admin connects a shop through the form (test, link, connect);
 * a manager reads a repair order's page (jobs and lines nested, totals against Tekmetric's, no personal
 * data); ops take a snapshot from it.
 */
const session = useBrowserApp();
const { canRun, signIn } = session;
let fake: FakeTekmetric;

const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) => (await session.app.db.pool.query(text, params)).rows as T[];

describe.skipIf(!canRun)('Tekmetric admin screens in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    fake = await startFakeTekmetric({ seed: 53, shops: 2, repairOrdersPerShop: 60, days: 20 });
    forgetTekmetricTokens();
  }, 60_000);
  afterAll(async () => fake?.close());

  it('an admin tests a new connection, sees its shops, links one to a business and connects', { timeout: 240_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, session.t.users.admin.email);
    await page.goto(`${session.app.url}/admin/resources/TekmetricConnection/actions/connect`);
    await page.getByTestId('tekmetric-connect').waitFor({ timeout: 150_000 });
    await page.getByTestId('tm-connect-name').fill('Garage group');
    await page.getByTestId('tm-connect-base-url').fill(fake.url);
    await page.getByTestId('tm-connect-client-id').fill(fake.clientId);
    await page.getByTestId('tm-connect-client-secret').fill('not-the-secret');
    await page.getByTestId('tm-connect-test').click();
    await expect.poll(() => page.getByTestId('tm-connect-problem').textContent(), { timeout: 30_000 }).toMatch(/refused the client id and secret/);
    await page.screenshot({ path: screenshotPath('tekmetric-connect-refused') });

    await page.getByTestId('tm-connect-client-secret').fill(fake.clientSecret);
    await page.getByTestId('tm-connect-test').click();
    await expect.poll(() => page.getByTestId('tm-connect-shop').count(), { timeout: 30_000 }).toBe(2);
    const [first, second] = fake.shops;
    await page.locator(`[data-testid="tm-connect-shop"][data-shop-id="${first!.shop.id}"] select`).selectOption({ label: 'Beta Garage' });
    await page.screenshot({ path: screenshotPath('tekmetric-connect-shops') });
    // Nothing is stored by a test.
    expect(await sql(`SELECT id FROM tekmetric_connections`)).toEqual([]);

    await page.getByTestId('tm-connect-save').click();
    await expect.poll(() => page.getByTestId('tm-connect-done').textContent(), { timeout: 30_000 }).toMatch(/Connected: 2 shop\(s\) linked/);
    await page.screenshot({ path: screenshotPath('tekmetric-connect-done') });
    expect(pageErrors).toEqual([]);
    await page.close();

    const shops = await sql<{ id: string; business: string }>(`SELECT s.id::text, b.name AS business FROM tm_shops s JOIN businesses b ON b.id = s.business_id ORDER BY s.id`);
    expect(shops).toEqual([
      { id: String(first!.shop.id), business: 'Beta Garage' },
      { id: String(second!.shop.id), business: second!.shop.nickname || second!.shop.name },
    ]);
    const [connection] = await sql<{ name: string; client_secret_sealed: string }>(`SELECT name, client_secret_sealed FROM tekmetric_connections`);
    expect(connection!.name).toBe('Garage group');
    expect(connection!.client_secret_sealed).not.toContain(fake.clientSecret);
    const [audit] = await sql<{ after: { shops: { shopId: number; businessId: string }[] } }>(`SELECT after FROM audit_log WHERE resource = 'tekmetricConnections' AND action = 'create'`);
    expect(audit!.after.shops).toContainEqual(expect.objectContaining({ shopId: first!.shop.id, businessId: session.t.businessB }));
    expect(JSON.stringify(audit)).not.toContain(fake.clientSecret);

    // A manager may not open the form.
    const manager = await session.browser.newPage();
    await signIn(manager, session.t.users.managerB.email);
    const refused = await manager.request.get(`${session.app.url}/admin/api/resources/TekmetricConnection/actions/connect`);
    expect(refused.status()).toBe(403);
    await manager.close();
  });

  it('a manager of the shop reads a repair order’s jobs and lines nested, and how its totals add up, without customers’ personal data; ops take a snapshot', { timeout: 240_000 }, async () => {
    const shop = fake.shops[0]!;
    const run = await requestSyncRun(session.app.system, null, { kind: 'incremental', shopId: shop.shop.id, trigger: 'cli' });
    await executeSyncRun(session.app.system, session.app.config, run.id);
    const [ours] = await sql<{ backhouse_shop_id: string }>(`SELECT backhouse_shop_id FROM tm_shops WHERE id = $1`, [shop.shop.id]);
    const manager = await managerOfShops(session.app.system, 'manager.ro@test.local', session.t.businessB, [ours!.backhouse_shop_id]);
    const order = shop.repairOrders.find((o) => !o.deletedDate && o.jobs.length >= 2 && o.jobs.some((j) => j.parts.length > 0 && j.labor.length > 0) && o.customerId)!;
    const customer = shop.customers.find((c) => c.id === order.customerId)!;
    const lineCount = order.jobs.reduce((n, j) => n + j.parts.length + j.labor.length + j.fees.length + j.discounts.length, 0);

    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1400 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, manager.email);
    await page.goto(`${session.app.url}/admin/resources/TekmetricRepairOrder/records/${encodeURIComponent(`${shop.shop.id}:${order.id}`)}/show`);
    await page.getByTestId('tekmetric-ro').waitFor({ timeout: 150_000 });
    await expect.poll(() => page.getByTestId('ro-job').count(), { timeout: 30_000 }).toBe(order.jobs.length);
    expect(await page.locator('[data-testid="ro-job"] [data-testid="ro-line"]').count()).toBe(lineCount);
    const total = page.locator('[data-testid="ro-total-row"][data-kind="totalCents"] td');
    const money = (cents: number) => (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    expect(await total.nth(2).textContent()).toBe(money(order.totalSales));
    const authorizedOnly = order.jobs.every((j) => j.authorized) && order.sublets.every((s) => s.authorized);
    if (authorizedOnly) expect(await page.getByTestId('ro-variance').textContent()).toContain('add up to Tekmetric');
    const text = (await page.getByTestId('tekmetric-ro').textContent()) ?? '';
    expect(text).toContain(`customer #${customer.id}`);
    expect(text).not.toContain(`${customer.firstName} ${customer.lastName}`);
    if (customer.email) expect(text).not.toContain(customer.email);
    expect(await page.getByTestId('ro-snapshot-take').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('tekmetric-repair-order-manager'), fullPage: true });

    // Another shop's repair order is not theirs.
    const elsewhere = fake.shops[1]!.repairOrders[0]!;
    const refused = await page.request.get(`${session.app.url}/admin/api/resources/TekmetricRepairOrder/records/${encodeURIComponent(`${fake.shops[1]!.shop.id}:${elsewhere.id}`)}/show`);
    expect(refused.status()).not.toBe(200);
    // Nor may a manager take a snapshot through the action.
    const snapshotRefused = await page.request.post(`${session.app.url}/admin/api/resources/TekmetricRepairOrder/records/${encodeURIComponent(`${shop.shop.id}:${order.id}`)}/snapshot`, { headers: { origin: session.app.url }, data: {} });
    expect(snapshotRefused.status()).toBe(403);
    expect(pageErrors).toEqual([]);
    await page.close();

    const ops = await session.browser.newPage({ viewport: { width: 1400, height: 1400 } });
    await signIn(ops, session.t.users.opsB.email);
    await ops.goto(`${session.app.url}/admin/resources/TekmetricRepairOrder/records/${encodeURIComponent(`${shop.shop.id}:${order.id}`)}/show`);
    await ops.getByTestId('ro-snapshot-take').waitFor({ timeout: 60_000 });
    const before = await ops.getByTestId('ro-snapshot').count();
    await ops.getByTestId('ro-snapshot-take').click();
    await expect.poll(() => ops.getByTestId('ro-snapshot').count(), { timeout: 30_000 }).toBe(before + 1);
    expect(await ops.getByTestId('ro-snapshot').first().textContent()).toMatch(/^manual · /);
    await ops.screenshot({ path: screenshotPath('tekmetric-repair-order-snapshot'), fullPage: true });
    await ops.close();
    const audits = await sql(`SELECT action, record_id FROM audit_log WHERE resource = 'tm_ro_snapshots'`);
    expect(audits).toEqual([{ action: 'snapshot', record_id: `${shop.shop.id}/${order.id}` }]);
  });
});
