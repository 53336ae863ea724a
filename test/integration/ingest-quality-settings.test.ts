import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { insertBronzeEvents, posTransaction } from '../helpers/ingest.js';

/**
 * A business's data-quality settings from the admin (Business → Quality settings): shown with the product's
 * defaults, validated field by field, saved and audited, admins only; the silver worker flags by them from
 * its next batch on, and gold leaves simulated data out when asked.
 */
let app: TestApp;
let t: Tenants;
const action = () => `/admin/api/resources/Business/records/${t.businessA}/qualitySettings`;

beforeAll(async () => {
  app = await startTestApp({ INGEST_MAX_TRANSACTION_AMOUNT: '10000', INGEST_FUTURE_TOLERANCE_SECONDS: '300' });
  t = await seedTenants(app.system);
  await app.db.pool.query(`UPDATE shops SET code = 'STORE-001' WHERE id = $1`, [t.shopA1]);
}, 120_000);
afterAll(async () => app?.close());

const auditRows = async () => (await app.db.pool.query(`SELECT user_id, business_id, record_id, action, before, after FROM audit_log WHERE resource = 'ingestQualitySettings' ORDER BY id`)).rows;

describe('data-quality settings in the admin', () => {
  it("shows the product's defaults until a business saves its own", async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const shown = await admin.call('GET', action());
    expect(shown.status, JSON.stringify(shown.body)).toBe(200);
    expect(shown.body!.settings).toEqual({
      business_id: t.businessA,
      business_name: 'Alpha Bakery',
      currency: 'GBP',
      max_transaction_amount: '10000.00',
      future_tolerance_seconds: 300,
      exclude_simulated: false,
      customised: false,
    });
  });

  it.each([
    [{ maxTransactionAmount: '-5', futureToleranceSeconds: '60', excludeSimulated: 'false' }, 'max_transaction_amount', /must be an amount/],
    [{ maxTransactionAmount: '0', futureToleranceSeconds: '60', excludeSimulated: 'false' }, 'max_transaction_amount', /must be more than 0/],
    [{ maxTransactionAmount: '1,000', futureToleranceSeconds: '60', excludeSimulated: 'false' }, 'max_transaction_amount', /without currency sign or thousands separators/],
    [{ maxTransactionAmount: '50', futureToleranceSeconds: '1.5', excludeSimulated: 'false' }, 'future_tolerance_seconds', /whole number of seconds/],
    [{ maxTransactionAmount: '50', futureToleranceSeconds: '700000', excludeSimulated: 'false' }, 'future_tolerance_seconds', /at most 604800 \(a week\)/],
    [{ maxTransactionAmount: '50', futureToleranceSeconds: '60', excludeSimulated: 'maybe' }, 'exclude_simulated', /must be true or false/],
  ])('refuses %j naming the field, and saves nothing', async (form, field, reason) => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const refused = await admin.call('POST', action(), form);
    expect(refused.body!.notice, JSON.stringify(refused.body)).toMatchObject({ type: 'error', message: expect.stringContaining('The quality settings were not saved') });
    expect(refused.body!.record.errors[field].message).toMatch(reason);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM ingest_quality_settings')).rows[0].n).toBe(0);
    expect(await auditRows()).toEqual([]);
  });

  it('ops, managers and another business are refused', async () => {
    // Ops and managers see their business but not its settings; another business's ops do not see the business at all.
    for (const [email, status] of [[t.users.opsA.email, 403], [t.users.managerA.email, 403], [t.users.opsB.email, 404]] as const) {
      const user = await adminClient(app.url, email);
      expect((await user.call('GET', action())).status, email).toBe(status);
      expect((await user.call('POST', action(), { maxTransactionAmount: '1', futureToleranceSeconds: '0', excludeSimulated: 'true' })).status, email).toBe(status);
    }
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM ingest_quality_settings')).rows[0].n).toBe(0);
  });

  it('saves, audits, and the silver worker flags by the new settings; gold leaves simulated data out', { timeout: 90_000 }, async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const saved = await admin.call('POST', action(), { maxTransactionAmount: '50.5', futureToleranceSeconds: '60', excludeSimulated: 'true' });
    expect(saved.status).toBe(200);
    expect(saved.body!.notice).toEqual({
      type: 'success',
      message: 'Saved for Alpha Bakery: transactions above 50.50 GBP and timestamps more than 60 s ahead are flagged; simulated data left out of gold dashboards.',
    });
    expect(saved.body!.settings).toMatchObject({ max_transaction_amount: '50.50', future_tolerance_seconds: 60, exclude_simulated: true, customised: true });
    expect((await app.db.pool.query('SELECT max_transaction_cents::int AS cents, future_tolerance_seconds AS seconds FROM ingest_quality_settings WHERE business_id = $1', [t.businessA])).rows).toEqual([{ cents: 5050, seconds: 60 }]);
    expect((await app.db.pool.query('SELECT gold_excludes_simulated FROM businesses WHERE id = $1', [t.businessA])).rows[0].gold_excludes_simulated).toBe(true);
    expect(await auditRows()).toEqual([
      {
        user_id: t.users.admin.id,
        business_id: t.businessA,
        record_id: t.businessA,
        action: 'update',
        before: { business_id: t.businessA, max_transaction_amount: '10000.00', future_tolerance_seconds: 300, exclude_simulated: false },
        after: { business_id: t.businessA, max_transaction_amount: '50.50', future_tolerance_seconds: 60, exclude_simulated: true },
      },
    ]);
    // Another business keeps the defaults.
    const other = await admin.call('GET', `/admin/api/resources/Business/records/${t.businessB}/qualitySettings`);
    expect(other.body!.settings).toMatchObject({ max_transaction_amount: '10000.00', future_tolerance_seconds: 300, customised: false });

    const ahead = new Date(Date.now() + 120_000).toISOString();
    await insertBronzeEvents(app.db.pool, t.businessA, [
      { payload: posTransaction('Q-BIG', 'STORE-001', { total_amount: 60, items: [{ product_name: 'Croissant', qty: 20, unit_price: 3, line_amount: 60 }] }) },
      { payload: posTransaction('Q-AHEAD', 'STORE-001', { ts: ahead }) },
      { payload: posTransaction('Q-FINE', 'STORE-001', { total_amount: 50, items: [{ product_name: 'Croissant', qty: 20, unit_price: 2.5, line_amount: 50 }] }) },
    ]);
    await app.db.pool.query('NOTIFY ingest_events');
    await vi.waitFor(async () => expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM transactions WHERE business_id = $1`, [t.businessA])).rows[0].n).toBe(3), { timeout: 30_000, interval: 100 });
    const alerts = await app.db.pool.query(`SELECT transaction_id, rule, message FROM data_quality_alerts WHERE business_id = $1 ORDER BY transaction_id`, [t.businessA]);
    expect(alerts.rows.map((row) => [row.transaction_id, row.rule])).toEqual([
      ['Q-AHEAD', 'future_timestamp'],
      ['Q-BIG', 'over_threshold'],
    ]);
    expect(alerts.rows[1].message).toContain('above the threshold of GBP 50.50');
    expect(alerts.rows[0].message).toContain('more than 60 s after it was processed');
  });
});
