import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoIngestHistory, DEMO_RETAIL_BUSINESS_ID } from '../../core/ingest/demo-history.js';
import { prepareSimulation, revokeSimulationKeys, runSimulation, startSimulation, stopSimulation } from '../../core/ingest/simulator.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ INGEST_RATE_LIMIT_PER_SECOND: '1000', INGEST_RATE_LIMIT_BURST: '1000' });
  await app.db.prisma.business.create({ data: { name: 'Sim Retail' } });
}, 120_000);
afterAll(async () => app?.close());

/** The offset that makes it lunchtime in the stores now, so the run's rate does not depend on when the test runs. */
const lunchtimeOffset = () => 12.5 - (new Date().getUTCHours() + new Date().getUTCMinutes() / 60);

describe('the traffic simulator', () => {
  it('sends realistic traffic through the HTTP endpoint: stored once each, duplicates answered as such, marked simulated', async () => {
    const prepared = await prepareSimulation(app.system, { stores: 3 });
    const summary = await runSimulation({ baseUrl: app.url, keys: prepared.keys, stores: prepared.stores, minutes: 0.1, ratePerSecond: 15, utcOffsetHours: lunchtimeOffset(), duplicateShare: 0.2, lateShare: 0.1, seed: 3 });
    expect(summary.sent).toBeGreaterThan(40);
    expect(summary.failed + summary.refused).toBe(0);
    expect(summary.duplicates).toBeGreaterThan(0);
    expect(summary.accepted + summary.duplicates).toBe(summary.sent);
    const { rows } = await app.db.pool.query(
      `SELECT count(*)::int AS events, count(*) FILTER (WHERE simulated)::int AS simulated, array_agg(DISTINCT store_code ORDER BY store_code) AS stores,
              count(*) FILTER (WHERE (payload->>'ts')::timestamptz < received_at - interval '4 seconds')::int AS late
         FROM ingest_events WHERE business_id = $1`,
      [prepared.businessId],
    );
    expect(rows[0]).toMatchObject({ events: summary.accepted, simulated: summary.accepted });
    expect(rows[0].stores.every((code: string) => /^SIM-00[123]$/.test(code))).toBe(true);
    expect(rows[0].late).toBeGreaterThan(0);
    // The products it sells are in the business's catalog, for product linking.
    const products = await app.db.pool.query(`SELECT count(*)::int AS n FROM products WHERE business_id = $1`, [prepared.businessId]);
    expect(products.rows[0].n).toBeGreaterThan(40);
    await revokeSimulationKeys(app.system, prepared.keyIds);
  }, 60_000);

  it('is started and stopped as a recorded run (from the admin or any process), its keys revoked after it', async () => {
    const { run, done } = await startSimulation(app.system, { stores: 2, minutes: 30, rate: 5, baseUrl: app.url });
    await expect.poll(async () => (await app.db.pool.query('SELECT sent FROM ingest_simulations WHERE id = $1', [run.id])).rows[0].sent, { timeout: 20_000 }).toBeGreaterThan(0);
    expect((await stopSimulation(app.system, run.id)).status).toBe('stopping');
    const summary = await done;
    expect(summary!.sent).toBeGreaterThan(0);
    const { rows } = await app.db.pool.query('SELECT status, finished_at, sent FROM ingest_simulations WHERE id = $1', [run.id]);
    expect(rows[0]).toMatchObject({ status: 'stopped', finished_at: expect.any(Date), sent: summary!.sent });
    await expect.poll(async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM ingest_api_keys WHERE name LIKE 'simulator %' AND revoked_at IS NULL`)).rows[0].n).toBe(0);
    const audit = await app.db.pool.query(`SELECT action FROM audit_log WHERE resource = 'ingestSimulations' AND record_id = $1 ORDER BY id`, [run.id]);
    expect(audit.rows.map((row) => row.action)).toEqual(['start', 'stop']);
  }, 60_000);

  it('gives demo mode a few days of back-dated simulated history through the bronze insert, once', async () => {
    const stored = await seedDemoIngestHistory(app.system);
    expect(stored).toBeGreaterThan(10_000);
    const { rows } = await app.db.pool.query(
      `SELECT count(*)::int AS events, bool_and(simulated) AS simulated, min(received_at) AS first, max(received_at) AS last,
              count(DISTINCT date_trunc('day', (payload->>'ts')::timestamptz))::int AS days
         FROM ingest_events WHERE business_id = $1`,
      [DEMO_RETAIL_BUSINESS_ID],
    );
    expect(rows[0]).toMatchObject({ events: stored, simulated: true });
    expect(rows[0].days).toBeGreaterThanOrEqual(3);
    expect(Date.now() - rows[0].first.getTime()).toBeGreaterThan(2.9 * 86_400_000);
    expect(rows[0].last.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await seedDemoIngestHistory(app.system)).toBeNull();
  }, 120_000);
});
