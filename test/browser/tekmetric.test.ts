import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { clientFor, ensureEnvironmentConnection, linkShops } from '../../core/tekmetric/connections.js';
import { PASSWORD, seedTenants, startTestApp, type TestApp, type Tenants } from '../helpers/app.js';
import { launchBrowser, requireChromiumOrSkip, screenshotPath, signInAs } from '../helpers/browser.js';

const canRun = requireChromiumOrSkip();
let fake: FakeTekmetric;
let app: TestApp;
let tenants: Tenants;
let browser: Browser;
let shopId: number;

beforeAll(async () => {
  if (!canRun) return;
  fake = await startFakeTekmetric({ seed: 11, shops: 1, repairOrdersPerShop: 400, days: 30 });
  forgetTekmetricTokens();
  app = await startTestApp({ TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
  tenants = await seedTenants(app.system);
  const connection = (await ensureEnvironmentConnection(app.system, app.config))!;
  shopId = (await linkShops(app.system, connection, clientFor(app.system, connection, app.config)))[0]!.shopId;
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await fake?.close();
});

describe.skipIf(!canRun)('Tekmetric sync in a real browser', () => {
  it('"Sync now" on a shop shows the run’s progress until it finishes, and the repair orders are then listed', { timeout: 180_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await signInAs(page, app.url, tenants.users.admin.email, PASSWORD);
    // Slow the fake a little so the progress is seen moving before the end.
    fake.delayNext(40, 100);
    await page.goto(`${app.url}/admin/resources/TekmetricShop/records/${shopId}/sync`);
    await page.getByTestId('tekmetric-sync-start').waitFor({ timeout: 90_000 });
    await page.screenshot({ path: screenshotPath('tekmetric-sync-form') });
    await page.getByTestId('tekmetric-sync-start').click();
    await page.getByTestId('tekmetric-sync-progress').waitFor();
    await expect.poll(async () => page.getByTestId('tekmetric-sync-status').textContent(), { timeout: 30_000, interval: 100 }).toMatch(/running/);
    await page.screenshot({ path: screenshotPath('tekmetric-sync-progress') });
    await expect.poll(async () => page.getByTestId('tekmetric-sync-status').textContent(), { timeout: 120_000, interval: 250 }).toMatch(/succeeded · 100\.0%/);
    await page.screenshot({ path: screenshotPath('tekmetric-sync-done') });

    await page.goto(`${app.url}/admin/resources/TekmetricRepairOrder`);
    await page.getByText(String(fake.shops[0]!.repairOrders.filter((o) => !o.deletedDate).at(-1)!.repairOrderNumber)).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: screenshotPath('tekmetric-repair-orders') });
    expect(errors).toEqual([]);
    await page.close();
  });
});
