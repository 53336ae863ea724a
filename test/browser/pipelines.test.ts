import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { registerPipeline, unregisterPipeline } from '../../core/pipelines/registry.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { countsPipeline, createCountsTable, writeCountFiles } from '../helpers/pipelines.js';

// Registered before the product starts, so its queue is among the workers'.
registerPipeline(countsPipeline({ exports: true }));
const session = useBrowserApp();
const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-browser-'));
afterAll(() => {
  unregisterPipeline('test_counts');
  fs.rmSync(folder, { recursive: true, force: true });
});

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|fonts\.googleapis|Failed to load resource/.test(message.text())) errors.push(message.text());
  });
  return errors;
}

async function openPipelines(page: Page): Promise<void> {
  await page.goto(`${session.app.url}/admin/pages/pipelines`);
  await page.getByTestId('pipelines-page').waitFor({ timeout: 90_000 });
}

describe.skipIf(!session.canRun)('the Pipelines pages in a real browser', () => {
  it("show today's runs, the stores that have not sent and a failed file; an admin retries it, ops sees no Retry", { timeout: 180_000 }, async () => {
    const { app, t } = session;
    await createCountsTable(app.db);
    await app.db.pool.query(`INSERT INTO shops (business_id, name, code) SELECT $1, 'Shop ' || c, c FROM unnest($2::text[]) AS c`, [t.businessA, ['S01', 'S02', 'S03', 'S04', 'S05', 'S06']]);
    writeCountFiles(folder, ['S01', 'S02', 'S03', 'S04', 'S05'], 12, { store: 'S03', line: 4 });
    fs.writeFileSync(path.join(folder, 'holiday-rota.csv'), 'Name,Day\nAnn,Monday\n');
    await app.db.pool.query(`INSERT INTO pipeline_sources (business_id, name, kind, location) VALUES ($1, 'Store drop folder', 'local', $2)`, [t.businessA, folder]);

    const admin = await session.browser.newPage({ viewport: { width: 1400, height: 1600 } });
    const errors = collectErrors(admin);
    await session.signIn(admin, t.users.admin.email);
    await openPipelines(admin);
    await admin.getByTestId('run-now').click();
    await admin.getByText(/Source polled: 6 new or changed files, 5 queued, 1 unrouted/).waitFor({ timeout: 30_000 });
    // The broken file fails after its three attempts; the four others complete.
    await admin.getByTestId('failed-job').first().waitFor({ timeout: 60_000 });
    await expect.poll(async () => admin.getByTestId('today-runs').innerText(), { timeout: 30_000 }).toMatch(/completed with errors\s*4\/5 files, 1 failed, 48 rows/i);
    await admin.locator('#pipelines-pipeline').selectOption('test_counts');
    // The two seeded shops without a store code have not sent either.
    await expect.poll(async () => admin.getByTestId('stores-not-sent').innerText(), { timeout: 15_000 }).toBe('Not sent: S06, Alpha High Street, Alpha Station');
    expect(await admin.getByTestId('stores-summary').innerText()).toBe("5 of 8 stores have sent today's file; 3 have not.");
    expect(await admin.getByTestId('failed-job').innerText()).toContain('Line 4: Qty "twelve" is not a whole number');
    expect(await admin.getByTestId('sources').innerText()).toContain('holiday-rota.csv');
    await admin.getByTestId('today-run').first().click();
    await admin.getByTestId('run-detail').waitFor();
    expect(await admin.getByTestId('file-job').count()).toBe(5);
    // The day's output of the four stores that loaded, listed on the run.
    await expect.poll(async () => admin.getByTestId('run-outputs').innerText(), { timeout: 30_000 }).toContain('Day outputs: written');
    expect(await admin.getByTestId('run-output').innerText()).toMatch(/^counts_\d{8}\.csv\s+48\s/);
    await admin.screenshot({ path: screenshotPath('pipelines-failed'), fullPage: true });

    // The same run on the admin's Pipeline runs screen, with its Retry action.
    const runId = (await app.db.pool.query<{ id: string }>(`SELECT id FROM pipeline_runs WHERE pipeline_name = 'test_counts'`)).rows[0]!.id;
    await admin.goto(`${app.url}/admin/resources/PipelineRun/records/${runId}/show`);
    await admin.getByText('completed_with_errors').first().waitFor({ timeout: 60_000 });
    expect(await admin.locator('[data-testid="action-retry"]').count()).toBe(1);
    await admin.screenshot({ path: screenshotPath('pipelines-admin-run'), fullPage: true });
    // A source's form: a local folder that is not there is refused on the field, saying what to do.
    await admin.goto(`${app.url}/admin/resources/PipelineSource/actions/new`);
    await admin.locator('input[name="name"]').waitFor({ timeout: 60_000 });
    await admin.locator('input[name="name"]').fill('Second drop folder');
    await admin.locator('input[name="location"]').fill(path.join(folder, 'missing'));
    await admin.locator('button[type="submit"]').click();
    await admin.getByText(/is not a folder on this machine/).first().waitFor({ timeout: 30_000 });
    await admin.screenshot({ path: screenshotPath('pipelines-source-form'), fullPage: true });

    const ops = await session.browser.newPage({ viewport: { width: 1400, height: 1200 } });
    await session.signIn(ops, t.users.opsA.email);
    await openPipelines(ops);
    await ops.getByTestId('failed-job').first().waitFor({ timeout: 30_000 });
    expect(await ops.getByTestId('retry-run').count()).toBe(0);
    await ops.screenshot({ path: screenshotPath('pipelines-ops-no-retry'), fullPage: true });
    // Nor on the admin's run screen.
    await ops.goto(`${app.url}/admin/resources/PipelineRun/records/${runId}/show`);
    await ops.getByText('completed_with_errors').first().waitFor({ timeout: 60_000 });
    expect(await ops.locator('[data-testid="action-retry"]').count()).toBe(0);
    await ops.screenshot({ path: screenshotPath('pipelines-admin-run-ops'), fullPage: true });
    await ops.close();

    writeCountFiles(folder, ['S03'], 12);
    await openPipelines(admin);
    await admin.getByTestId('retry-run').first().waitFor({ timeout: 30_000 });
    await admin.getByTestId('retry-run').click();
    await admin.getByText(/Retrying 1 failed file of the run/).waitFor({ timeout: 15_000 });
    await admin.getByText('No failed files.').waitFor({ timeout: 60_000 });
    await expect.poll(async () => admin.getByTestId('today-runs').innerText(), { timeout: 30_000 }).toMatch(/completed\s*5\/5 files, 0 failed, 60 rows/i);
    await admin.screenshot({ path: screenshotPath('pipelines-retried'), fullPage: true });
    expect(await app.db.pool.query(`SELECT count(*)::int AS n FROM test_stock_counts`).then((r) => r.rows[0].n)).toBe(60);
    expect(errors).toEqual([]);
    await admin.close();
  });
});
