import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIngestKey } from '../../core/ingest/keys.js';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let t: Tenants;
beforeAll(async () => {
  app = await startTestApp({ INGEST_RATE_LIMIT_PER_SECOND: '1000', INGEST_RATE_LIMIT_BURST: '1000' });
  t = await seedTenants(app.system);
}, 120_000);
afterAll(async () => app?.close());

const keysApi = '/admin/api/resources/IngestApiKey';
const runsApi = '/admin/api/resources/IngestSimulation';

describe('ingest admin screens', () => {
  it('an admin creates a key (shown once, audited), sees it listed with its stores, and revokes it', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    // Two businesses: the business must be named, and the refusal lists them.
    const ambiguous = await admin.call('POST', `${keysApi}/actions/createKey`, { stores: 'HS-1' });
    expect(JSON.stringify(ambiguous.body)).toContain('Alpha Bakery');
    const created = await admin.call('POST', `${keysApi}/actions/createKey`, { stores: 'HS-1, HS-2', name: 'Till 1', businessId: t.businessA });
    expect(created.status).toBe(200);
    const key = created.body!.key as string;
    expect(key).toMatch(/^bhk_/);
    const id = created.body!.record.id as string;
    const stored = await app.db.pool.query('SELECT key_hash FROM ingest_api_keys WHERE id = $1', [id]);
    expect(stored.rows[0].key_hash.equals(hashIngestKey(key))).toBe(true);

    const list = await admin.call('GET', `${keysApi}/actions/list`);
    const listed = list.body!.records.find((record: { id: string }) => record.id === id);
    expect(listed.params).toMatchObject({ name: 'Till 1', stores: 'HS-1, HS-2', status: 'active' });
    expect(JSON.stringify(list.body)).not.toContain(key.slice(12));
    const shown = await admin.call('GET', `${keysApi}/records/${id}/show`);
    expect(JSON.stringify(shown.body)).not.toContain(key.slice(12));

    const sent = await fetch(`${app.url}/api/ingest/transactions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ transaction_id: 'A-1', store_id: 'HS-2', ts: '2026-12-07T10:00:00Z', total_amount: 3, items: [{ product_id: 'c', product_name: 'Croissant', qty: 1, unit_price: 3, line_amount: 3 }] }),
    });
    expect(sent.status).toBe(202);

    const revoked = await admin.call('POST', `${keysApi}/records/${id}/revoke`);
    expect(revoked.body!.record.params.status).toBe('revoked');
    const audit = await app.db.pool.query(`SELECT action, user_id FROM audit_log WHERE resource = 'ingestKeys' AND record_id = $1 ORDER BY id`, [id]);
    expect(audit.rows).toEqual([
      { action: 'create', user_id: t.users.admin.id },
      { action: 'revoke', user_id: t.users.admin.id },
    ]);
  });

  it('refuses the key and simulator screens to everyone but admins', async () => {
    for (const user of [t.users.opsA, t.users.managerA]) {
      const other = await adminClient(app.url, user.email);
      expect((await other.call('GET', `${keysApi}/actions/list`)).status, user.email).toBe(403);
      expect((await other.call('POST', `${keysApi}/actions/createKey`, { stores: 'X-1', businessId: t.businessA })).status, user.email).toBe(403);
      expect((await other.call('GET', `${runsApi}/actions/list`)).status, user.email).toBe(403);
      expect((await other.call('POST', `${runsApi}/actions/startSimulation`, { stores: '1', minutes: '1', rate: '1', businessId: t.businessA })).status, user.email).toBe(403);
    }
    expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM ingest_api_keys WHERE name LIKE '%X-1%'`)).rows[0].n).toBe(0);
  });

  it('an admin starts a simulation and stops it', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const started = await admin.call('POST', `${runsApi}/actions/startSimulation`, { stores: '2', minutes: '30', rate: '20', businessId: t.businessB });
    expect(started.status).toBe(200);
    const id = started.body!.record.id as string;
    await expect.poll(async () => (await app.db.pool.query('SELECT sent FROM ingest_simulations WHERE id = $1', [id])).rows[0].sent, { timeout: 30_000 }).toBeGreaterThan(0);
    const list = await admin.call('GET', `${runsApi}/actions/list`);
    expect(list.body!.records.map((record: { id: string }) => record.id)).toContain(id);
    const stopped = await admin.call('POST', `${runsApi}/records/${id}/stop`);
    expect(stopped.body!.record.params.status).toBe('stopping');
    await expect.poll(async () => (await app.db.pool.query('SELECT status FROM ingest_simulations WHERE id = $1', [id])).rows[0].status, { timeout: 20_000 }).toBe('stopped');
    const events = await app.db.pool.query(`SELECT count(*)::int AS n, bool_and(simulated) AS simulated FROM ingest_events WHERE business_id = $1`, [t.businessB]);
    expect(events.rows[0].simulated).toBe(true);
  }, 60_000);
});
