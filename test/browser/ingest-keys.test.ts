import { describe, expect, it } from 'vitest';
import { hashIngestKey } from '../../core/ingest/keys.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

describe.skipIf(!canRun)('ingest API keys in a real browser', () => {
  it('an admin creates a key for two stores, sees it once, finds it listed and revokes it', { timeout: 120_000 }, async () => {
    const { app, t } = session;
    const errors: string[] = [];
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => errors.push(error.message));
    await signIn(page, t.users.admin.email);
    await page.goto(`${app.url}/admin/resources/IngestApiKey/actions/createKey`);
    await page.getByTestId('ingest-key-form').waitFor({ timeout: 90_000 });
    await page.fill('#stores', 'TILL-A, TILL-B');
    await page.fill('#name', 'Front tills');
    await page.getByRole('button', { name: 'Create the key' }).click();
    // Two businesses and none named: the refusal lists them.
    await page.getByTestId('ingest-key-error').waitFor();
    expect(await page.getByTestId('ingest-key-error').innerText()).toContain('Alpha Bakery');
    await page.fill('#businessId', t.businessA);
    await page.getByRole('button', { name: 'Create the key' }).click();
    await page.getByTestId('ingest-key-made').waitFor();
    await page.screenshot({ path: screenshotPath('ingest-key-created') });
    const key = (await page.getByTestId('ingest-key').innerText()).trim();
    const stored = await app.db.pool.query(`SELECT id, key_hash FROM ingest_api_keys WHERE name = 'Front tills'`);
    expect(stored.rows[0].key_hash.equals(hashIngestKey(key))).toBe(true);

    await page.goto(`${app.url}/admin/resources/IngestApiKey`);
    await page.getByText('Front tills').first().waitFor();
    expect(await page.content()).not.toContain(key.slice(12));
    await page.screenshot({ path: screenshotPath('ingest-keys-list') });
    await page.goto(`${app.url}/admin/resources/IngestApiKey/records/${stored.rows[0].id}/show`);
    await page.getByText('Revoke', { exact: true }).first().click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(async () => (await app.db.pool.query('SELECT revoked_at FROM ingest_api_keys WHERE id = $1', [stored.rows[0].id])).rows[0].revoked_at).not.toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  });
});
