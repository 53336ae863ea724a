import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTekmetric, type FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import type { LinkedShop } from '../../core/tekmetric/connections.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { managerOfShops, syncFakeIntoBusiness } from '../helpers/tekmetric.js';

const session = useBrowserApp();
const { canRun, signIn } = session;
let fake: FakeTekmetric;
let shops: LinkedShop[];
let manager: { email: string };

describe.skipIf(!canRun)('Shop dashboard in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    fake = await startFakeTekmetric({ seed: 41, shops: 2, repairOrdersPerShop: 200, days: 45 });
    shops = await syncFakeIntoBusiness(session.app.system, fake, session.t.businessB);
    manager = await managerOfShops(session.app.system, 'manager.shop@test.local', session.t.businessB, [shops[0]!.backhouseShopId]);
  }, 180_000);
  afterAll(async () => fake?.close());

  it('renders for a manager of one shop: KPIs, charts, technicians and work in progress of that shop only', { timeout: 200_000 }, async () => {
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1400 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, manager.email);
    await page.goto(`${session.app.url}/admin/pages/dashboards`);
    await page.getByTestId('dashboards-page').waitFor({ timeout: 150_000 });
    await page.getByTestId('dashboard-select').selectOption({ label: 'Shop' });
    const kpi = (title: string) => page.locator(`[data-testid="widget-kpi"][data-title="${title}"] [data-testid="kpi-value"]`).first();
    await expect.poll(() => kpi('Total sales').textContent(), { timeout: 60_000 }).toMatch(/^\$[\d,]+\.\d\d$/);
    await expect.poll(() => kpi('Car count').textContent(), { timeout: 30_000 }).toMatch(/^[1-9][\d,]*$/);
    await expect.poll(() => kpi('GP %').textContent(), { timeout: 30_000 }).toMatch(/\d/);
    await page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="widget-bar"] path.recharts-rectangle').first().waitFor({ timeout: 30_000 });
    const technicians = page.locator('[data-testid="widget-table"][data-title="Technicians: hours sold, hours worked, efficiency"]');
    await expect.poll(() => technicians.locator('tbody tr').count(), { timeout: 30_000 }).toBe(fake.shops[0]!.technicians.length);
    const open = page.locator('[data-testid="widget-table"][data-title="Open repair orders"]');
    await expect.poll(() => open.locator('tbody tr').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const text = (await page.locator('[data-testid="dashboards-page"]').textContent()) ?? '';
    expect(text).toContain(shops[0]!.name);
    expect(text).not.toContain(shops[1]!.name);
    await page.screenshot({ path: screenshotPath('tekmetric-shop-dashboard-manager'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
