import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkCoverage } from '../../core/ingest/review.js';
import { prepareSimulation, revokeSimulationKeys, runSimulation } from '../../core/ingest/simulator.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/**
 * Product linking on simulated traffic: the simulator sends through the real HTTP endpoint, the running
 * product's silver worker moves and links it, and the share of line items linked (what the Pipeline health
 * dashboard shows) is above 95%.
 */
let app: TestApp;
let t: Tenants;
beforeAll(async () => {
  app = await startTestApp({ INGEST_RATE_LIMIT_PER_SECOND: '1000', INGEST_RATE_LIMIT_BURST: '1000' });
  t = await seedTenants(app.system);
}, 120_000);
afterAll(async () => app?.close());

/** The offset that makes it lunchtime in the stores now, so the run's rate does not depend on when the test runs. */
const lunchtimeOffset = () => 12.5 - (new Date().getUTCHours() + new Date().getUTCMinutes() / 60);

describe('product link coverage on simulator data', () => {
  it('links more than 95% of line items with zero critical sanity failures, and the Pipeline health dashboard shows the same coverage', { timeout: 120_000 }, async () => {
    const prepared = await prepareSimulation(app.system, { businessId: t.businessA, stores: 6 });
    const summary = await runSimulation({ baseUrl: app.url, keys: prepared.keys, stores: prepared.stores, minutes: 0.25, ratePerSecond: 40, utcOffsetHours: lunchtimeOffset(), lateShare: 0, seed: 11 });
    await revokeSimulationKeys(app.system, prepared.keyIds);
    expect(summary.failed + summary.refused).toBe(0);
    expect(summary.accepted).toBeGreaterThan(200);
    await expect
      .poll(async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM transactions WHERE business_id = $1`, [t.businessA])).rows[0].n, { timeout: 60_000 })
      .toBe(summary.accepted);

    const coverage = await linkCoverage(app.system, { business_id: t.businessA });
    expect(coverage.line_items).toBeGreaterThan(500);
    expect(coverage.coverage).toBeGreaterThanOrEqual(0.95);
    // Clean traffic: silver's sanity checks find nothing critical (the checklist's "zero criticals").
    const checks = await app.db.pool.query<{ check_name: string; failures: string }>(`SELECT check_name, failures::text FROM silver_sanity_checks($1) WHERE severity = 'critical'`, [t.businessA]);
    expect(checks.rows.length).toBeGreaterThan(0);
    expect(checks.rows.filter((check) => check.failures !== '0')).toEqual([]);
    // What is not linked waits for a person, with a suggestion.
    if (coverage.linked < coverage.line_items) expect(coverage.awaiting_review).toBeGreaterThan(0);

    const ops = await apiClient(app.url, t.users.opsA.email);
    const list = await ops.call('GET', '/api/dashboards');
    const health = list.body!.data.find((d: { name: string }) => d.name === 'Pipeline health');
    const data = await ops.call('GET', `/api/dashboard/${health.id}/data`);
    expect(data.status, JSON.stringify(data.body)).toBe(200);
    const widget = data.body!.data.widgets.find((w: { title: string }) => w.title === 'Product link coverage (% of line items linked)');
    expect(widget.error).toBeNull();
    expect(widget.rows[0].coverage).toBeCloseTo(coverage.coverage * 100, 1);
    // Another business's readers see none of it.
    const opsB = await apiClient(app.url, t.users.opsB.email);
    const healthB = (await opsB.call('GET', '/api/dashboards')).body!.data.find((d: { name: string }) => d.name === 'Pipeline health');
    const dataB = await opsB.call('GET', `/api/dashboard/${healthB.id}/data`);
    expect(dataB.body!.data.widgets.find((w: { title: string }) => w.title === 'Product link coverage (% of line items linked)').rows[0].coverage ?? null).toBeNull();
  });
});
