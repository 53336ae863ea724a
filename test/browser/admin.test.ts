import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

/** Errors the page logs, except the font stylesheet AdminJS asks a public host for (no network here). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|fonts\.googleapis|Failed to load resource/.test(message.text())) errors.push(message.text());
  });
  return errors;
}


describe.skipIf(!canRun)('the admin in a real browser', () => {
  it('an admin signs in, opens Products, creates one and sees it listed', { timeout: 90_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = collectErrors(page);
    await signIn(page, session.t.users.admin.email);
    await page.getByTestId('tile-products').waitFor();
    await page.screenshot({ path: screenshotPath('admin-home') });
    await page.getByText('Catalog', { exact: true }).click();
    await page.getByRole('link', { name: 'Products' }).first().click();
    await page.waitForURL(/\/admin\/resources\/Product/);
    await expectText(page, 'Croissant');
    await page.screenshot({ path: screenshotPath('admin-products-list') });

    await page.goto(`${session.app.url}/admin/resources/Product/actions/new`);
    // The form starts from the table's defaults: active, counted each, cost unknown until given.
    await page.locator('input[name="name"]').waitFor();
    await expect(page.locator('input[name="unit"]').inputValue()).resolves.toBe('each');
    await expect(page.locator('input[name="costPriceCents"]').inputValue()).resolves.toBe('');
    await expect(page.locator('input[type="checkbox"][name="active"], input[type="checkbox"]#active').first().isChecked()).resolves.toBe(true);
    await page.fill('input[name="name"]', 'Browser Baguette');
    await page.fill('input[name="category"]', 'Bread');
    await page.fill('input[name="sellingPriceCents"]', '325');
    await page.fill('input[name="costPriceCents"]', '90');
    // The business is a searchable select over the Business resource.
    const businessSelect = page.locator('section').filter({ hasText: 'Business' }).locator('input[id^="react-select"]').first();
    await businessSelect.fill('Alpha');
    await page.getByText('Alpha Bakery', { exact: true }).first().click();
    await page.screenshot({ path: screenshotPath('admin-product-new') });
    await page.getByRole('button', { name: /save/i }).click();
    await page.waitForURL(/\/admin\/resources\/Product(\/records\/[^/]+\/show|$|\?)/);

    await page.goto(`${session.app.url}/admin/resources/Product`);
    await expectText(page, 'Browser Baguette');
    await page.screenshot({ path: screenshotPath('admin-product-created') });
    const saved = await session.app.db.prisma.product.findFirstOrThrow({ where: { name: 'Browser Baguette' } });
    expect(saved).toMatchObject({ businessId: session.t.businessA, sellingPriceCents: 325, costPriceCents: 90, category: 'Bread', unit: 'each', active: true });
    expect(await session.app.db.prisma.auditLog.count({ where: { recordId: saved.id, action: 'create', userId: session.t.users.admin.id } })).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a manager sees no Products menu, and typing its address shows no products', async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(page, session.t.users.managerA.email);
    await page.getByTestId('tile-shops').waitFor();
    expect(await page.getByTestId('tile-products').count()).toBe(0);
    expect(await page.getByText('Catalog', { exact: true }).count()).toBe(0);
    // Open every group the manager has: Shops is there, Products and Users are not.
    await page.getByText('Organisation', { exact: true }).click();
    await page.getByRole('link', { name: 'Shops' }).first().waitFor();
    expect(await page.getByRole('link', { name: 'Products' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0);
    expect(await page.getByText('People And Access', { exact: true }).count()).toBe(0);
    await page.screenshot({ path: screenshotPath('manager-home') });

    await page.goto(`${session.app.url}/admin/resources/Product`);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: screenshotPath('manager-products-typed-url') });
    expect(await page.getByText('Croissant').count()).toBe(0);
    await page.close();
  });
});

async function expectText(page: Page, text: string): Promise<void> {
  await page.getByText(text, { exact: true }).first().waitFor({ timeout: 15_000 });
}
