import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { loadSalesFile } from '../helpers/feeds.js';

/** What a newcomer reads on the admin's screens: the product's words, names instead of ids, one date style, their own work. */
const session = useBrowserApp();
const { canRun, signIn } = session;

/** AdminJS's developer wording, which must never reach a person. */
const developerWording = /Resource of given id|Check out console|does not have an action with name|development console|You cannot perform action/;

async function newPage(): Promise<Page> {
  return session.browser.newPage({ viewport: { width: 1400, height: 900 } });
}

describe.skipIf(!canRun)('first impressions in a real browser', () => {
  it('screens are titled by what they show ("Products", "Edit product"), not "List" or "Edit"', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await signIn(page, session.t.users.admin.email);
    await page.goto(`${session.app.url}/admin/resources/Product/actions/list`);
    await page.getByText('Croissant', { exact: true }).first().waitFor();
    // The title, then the count of records in a badge.
    await expect(page.locator('h2').first().textContent()).resolves.toMatch(/^Products\d+$/);
    await page.screenshot({ path: screenshotPath('first-products-title') });
    await page.goto(`${session.app.url}/admin/resources/Product/records/${session.t.productA}/edit`);
    await page.locator('input[name="name"]').waitFor();
    await expect(page.locator('h2').first().textContent()).resolves.toBe('Edit product');
    await page.goto(`${session.app.url}/admin/resources/Product/records/${session.t.productA}/show`);
    await expect.poll(() => page.locator('h2').first().textContent()).toBe('Product details');
    await page.screenshot({ path: screenshotPath('first-product-details') });
    // The breadcrumbs: Home / Products / Details.
    expect(await page.getByText('Show', { exact: true }).count()).toBe(0);
    await page.getByText('Details', { exact: true }).first().waitFor();
    await page.getByText('Home', { exact: true }).first().waitFor();
    await page.close();
  });

  it('a page the role does not open says so in plain words, with no developer wording', { timeout: 90_000 }, async () => {
    const page = await newPage();
    await signIn(page, session.t.users.opsA.email);
    await page.goto(`${session.app.url}/admin/resources/User/actions/list`);
    await page.getByText('This page does not exist, or your role does not open it.', { exact: false }).waitFor();
    await page.screenshot({ path: screenshotPath('first-ops-users-refused') });
    expect(await page.locator('body').innerText()).not.toMatch(developerWording);
    await page.close();
  });

  it('a data feed shows who uploaded it by name, and its times in the one style of the admin\'s lists', { timeout: 120_000 }, async () => {
    const ops = await apiClient(session.app.url, session.t.users.opsA.email);
    const feedId = await loadSalesFile(session.app.url, ops.token, 'product_name,quantity,price,transaction_date,order_id\nCroissant,2,3.00,2026-11-02,A1\n', 'first-impressions.csv');
    const page = await newPage();
    await signIn(page, session.t.users.opsA.email);
    await page.goto(`${session.app.url}/admin/resources/DataFeed/records/${feedId}/show`);
    await page.getByText('Uploaded by', { exact: true }).waitFor();
    const body = await page.locator('body').innerText();
    await page.screenshot({ path: screenshotPath('first-feed-show'), fullPage: true });
    expect(body).toContain(session.t.users.opsA.email);
    expect(body).not.toContain(session.t.users.opsA.id);
    // AdminJS writes "2026-12-07 17:05"; the feed's milestones the same way, with seconds.
    const times = body.match(/\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?/g) ?? [];
    expect(times.length).toBeGreaterThanOrEqual(5);
    expect(body).not.toMatch(/\d{1,2}\/\d{1,2}\/\d{4}/);
    expect(body).not.toMatch(developerWording);
    await page.close();
  });

  it('the Jobs list shows Backhouse\'s own jobs; pg-boss\'s housekeeping only when the filter asks for it', { timeout: 90_000 }, async () => {
    const pool = session.app.db.pool;
    // pg-boss's own queue for cron jobs, as it runs a few times a minute.
    await pool.query(`SELECT pgboss.create_queue('__pgboss__send-it', '{"policy": "standard"}'::json)`);
    await pool.query(`INSERT INTO pgboss.job (name, data, state, completed_on) SELECT '__pgboss__send-it', '{}', 'completed', now() FROM generate_series(1, 30)`);
    await session.app.jobs.send('system.probe', { note: 'first impressions' });
    const page = await newPage();
    await signIn(page, session.t.users.admin.email);
    await page.goto(`${session.app.url}/admin/resources/Job/actions/list`);
    await page.getByText('system.probe', { exact: true }).first().waitFor();
    await page.screenshot({ path: screenshotPath('first-jobs-own') });
    expect(await page.getByText('__pgboss__send-it').count()).toBe(0);
    await page.goto(`${session.app.url}/admin/resources/Job/actions/list?filters.kind=internal`);
    await page.getByText('__pgboss__send-it', { exact: true }).first().waitFor();
    await page.screenshot({ path: screenshotPath('first-jobs-internal') });
    expect(await page.getByText('system.probe', { exact: true }).count()).toBe(0);
    await page.close();
  });
});
