import { beforeAll, describe, expect, it } from 'vitest';
import { drainToSilver } from '../../core/ingest/silver.js';
import { createRecord } from '../../core/records/service.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';
import { insertBronzeEvents, posTransaction } from '../helpers/ingest.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

/** Review queue ids by the name the till sent. */
const links: Record<string, string> = {};
let painAuChocolat: string;

describe.skipIf(!canRun)('the review queue and quality settings in a real browser', () => {
  beforeAll(async () => {
    if (!canRun) return;
    const { app, t } = session;
    painAuChocolat = (await createRecord(app.system, 'products', { businessId: t.businessA, name: 'Pain au chocolat', sellingPriceCents: 160, costPriceCents: 50 })).id as string;
    await createRecord(app.system, 'products', { businessId: t.businessA, name: 'Baguette', sellingPriceCents: 180, costPriceCents: 60 });
    await app.db.pool.query(`UPDATE shops SET code = 'STORE-001' WHERE id = $1`, [t.shopA1]);
    // A till's own abbreviation (suggested: Croissant, rightly) and its name for a pain au chocolat (suggested:
    // Croissant, wrongly): neither close enough to a catalog name to be linked without a person.
    await insertBronzeEvents(app.db.pool, t.businessA, [
      { payload: posTransaction('RQ-1', 'STORE-001', { total_amount: 5.9, items: [{ product_id: 'T-1', product_name: 'Crssnt', qty: 2, unit_price: 2.95, line_amount: 5.9 }] }) },
      { payload: posTransaction('RQ-2', 'STORE-001', { total_amount: 3.2, items: [{ product_id: 'T-2', product_name: 'CHOC CROISSANT', qty: 2, unit_price: 1.6, line_amount: 3.2 }] }) },
    ]);
    await drainToSilver(app.system, { batchSize: 100, linkThreshold: 0.85, maxTransactionCents: 1_000_000, futureToleranceSeconds: 300, worker: 'browser-test' });
    const { rows } = await app.db.pool.query<{ id: string; product_name: string; status: string; product_id: string }>(`SELECT id::text, product_name, status, product_id FROM ingest_product_links WHERE business_id = $1`, [t.businessA]);
    for (const row of rows) {
      expect([row.product_name, row.status, row.product_id]).toEqual([row.product_name, 'review', t.productA]);
      links[row.product_name] = row.id;
    }
  }, 180_000);

  it('ops confirm one suggested link and re-link another to a product found by searching the catalog', { timeout: 240_000 }, async () => {
    const { app, t } = session;
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, t.users.opsA.email);
    await page.goto(`${app.url}/admin/resources/ProductLink?filters.status=review`);
    await page.getByText('CHOC CROISSANT').first().waitFor({ timeout: 120_000 });
    await page.getByText('Crssnt').first().waitFor();
    await page.screenshot({ path: screenshotPath('ingest-review-queue') });

    // Confirm the suggestion for "Crssnt" (Croissant).
    await page.goto(`${app.url}/admin/resources/ProductLink/records/${links.Crssnt}/show`);
    await page.getByText('Croissant').first().waitFor();
    await page.getByText('Confirm link', { exact: true }).first().click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('Linked: 1 line(s) of “Crssnt”, remembered for this store.').waitFor();
    await page.screenshot({ path: screenshotPath('ingest-review-confirmed') });
    const confirmed = await app.db.pool.query(`SELECT status, product_id FROM ingest_product_links WHERE id = $1`, [links.Crssnt]);
    expect(confirmed.rows[0]).toEqual({ status: 'confirmed', product_id: t.productA });

    // Re-link "CHOC CROISSANT": from its record, beside Confirm, search the catalog and pick Pain au chocolat.
    await page.goto(`${app.url}/admin/resources/ProductLink/records/${links['CHOC CROISSANT']}/show`);
    await page.getByText('Re-link', { exact: true }).first().click();
    await page.getByTestId('relink-form').waitFor();
    await page.fill('#relink-search', 'choc');
    await page.getByRole('radio', { name: 'Pain au chocolat' }).waitFor();
    await expect.poll(() => page.getByTestId('relink-choices').getByRole('radio').count()).toBe(1);
    await page.getByRole('radio', { name: 'Pain au chocolat' }).check();
    await page.screenshot({ path: screenshotPath('ingest-relink-form') });
    await page.getByRole('button', { name: 'Re-link', exact: true }).click();
    await page.getByTestId('relink-message').getByText(/Re-linked: 1 line\(s\) of “CHOC CROISSANT” now count as Pain au chocolat/).waitFor();
    await page.screenshot({ path: screenshotPath('ingest-relinked') });
    const relinked = await app.db.pool.query(`SELECT status, product_id FROM ingest_product_links WHERE id = $1`, [links['CHOC CROISSANT']]);
    expect(relinked.rows[0]).toEqual({ status: 'confirmed', product_id: painAuChocolat });
    const lines = await app.db.pool.query(`SELECT product_name, product_id, link_method FROM transaction_items WHERE business_id = $1 ORDER BY product_name`, [t.businessA]);
    expect(lines.rows).toEqual([
      { product_name: 'CHOC CROISSANT', product_id: painAuChocolat, link_method: 'confirmed' },
      { product_name: 'Crssnt', product_id: t.productA, link_method: 'confirmed' },
    ]);
    const audit = await app.db.pool.query(`SELECT action, user_id FROM audit_log WHERE resource = 'productLinks' ORDER BY id`);
    expect(audit.rows).toEqual([
      { action: 'confirm', user_id: t.users.opsA.id },
      { action: 'relink', user_id: t.users.opsA.id },
    ]);

    // The queue is empty now.
    await page.goto(`${app.url}/admin/resources/ProductLink?filters.status=review`);
    await page.getByText('Nothing matches.').waitFor();
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('an admin sets a business’s quality settings: a wrong value is named beside its field, a right one saved', { timeout: 240_000 }, async () => {
    const { app, t } = session;
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, t.users.admin.email);
    await page.goto(`${app.url}/admin/resources/Business/records/${t.businessA}/qualitySettings`);
    await page.getByTestId('quality-settings-form').waitFor({ timeout: 120_000 });
    expect(await page.inputValue('#maxTransactionAmount')).toBe('10000.00');
    expect(await page.inputValue('#futureToleranceSeconds')).toBe('300');
    await page.fill('#maxTransactionAmount', '2,500');
    await page.getByRole('button', { name: 'Save the settings' }).click();
    await page.getByTestId('quality-error-max_transaction_amount').waitFor();
    expect(await page.getByTestId('quality-error-max_transaction_amount').innerText()).toContain('without currency sign or thousands separators');
    await page.screenshot({ path: screenshotPath('ingest-quality-settings-refused') });
    await page.fill('#maxTransactionAmount', '2500');
    await page.fill('#futureToleranceSeconds', '120');
    await page.locator('label[for="excludeSimulated"]').click();
    await page.getByRole('button', { name: 'Save the settings' }).click();
    await page.getByTestId('quality-settings-message').getByText(/Saved for Alpha Bakery: transactions above 2500.00 GBP/).waitFor();
    await page.screenshot({ path: screenshotPath('ingest-quality-settings-saved') });
    const stored = await app.db.pool.query(
      `SELECT q.max_transaction_cents::int AS cents, q.future_tolerance_seconds AS seconds, b.gold_excludes_simulated AS excluded FROM ingest_quality_settings q JOIN businesses b ON b.id = q.business_id WHERE q.business_id = $1`,
      [t.businessA],
    );
    expect(stored.rows).toEqual([{ cents: 250_000, seconds: 120, excluded: true }]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
