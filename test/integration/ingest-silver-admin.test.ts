import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { insertBronzeEvents, posTransaction } from '../helpers/ingest.js';

/**
 * The running product: a worker process wakes on `NOTIFY ingest_events` and moves bronze to silver at once;
 * silver's admin screens are scoped by business and shop, and their actions (confirm a link, retry a failed
 * event, acknowledge an alert) are refused to roles without the right.
 */
let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  // A strict threshold: "Croisant" (0.889 like Croissant) waits for review.
  app = await startTestApp({ INGEST_LINK_THRESHOLD: '0.95' });
  t = await seedTenants(app.system);
  await app.db.pool.query(`UPDATE shops SET code = 'STORE-001' WHERE id = $1`, [t.shopA1]);
  await app.db.pool.query(`UPDATE shops SET code = 'STORE-002' WHERE id = $1`, [t.shopA2]);
});
afterAll(async () => app?.close());

describe('silver in the running product', () => {
  it('a notification wakes the worker; the screens show silver to ops, confirm a link and acknowledge an alert; a manager may only look', { timeout: 120_000 }, async () => {
    // A webhook of the business subscribed to critical alerts (its receiver is never reached here: the delivery is queued).
    await app.db.pool.query(`INSERT INTO webhooks (business_id, name, url, event_types, secret_sealed) VALUES ($1, 'alerts', 'http://127.0.0.1:9/', '{ingest.alert.critical}', 'unused')`, [t.businessA]);
    await insertBronzeEvents(app.db.pool, t.businessA, [
      { payload: posTransaction('S-1', 'STORE-001', { total_amount: 2.95, items: [{ product_id: 'P-9', product_name: 'Croisant', qty: 1, unit_price: 2.95, line_amount: 2.95 }] }) },
      { payload: posTransaction('S-2', 'STORE-002', { total_amount: -1, items: [{ product_name: 'Croissant', qty: -1, unit_price: 1, line_amount: -1 }] }) },
    ]);
    await app.db.pool.query('NOTIFY ingest_events');
    await expect.poll(async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM transactions WHERE business_id = $1`, [t.businessA])).rows[0].n, { timeout: 30_000 }).toBe(2);

    const deliveries = await app.db.pool.query(`SELECT event_type, payload->>'rule' AS rule, payload->>'transaction_id' AS transaction_id FROM webhook_deliveries WHERE business_id = $1`, [t.businessA]);
    expect(deliveries.rows).toEqual([{ event_type: 'ingest.alert.critical', rule: 'negative_amount', transaction_id: 'S-2' }]);
    await app.db.pool.query(`UPDATE webhooks SET enabled = false WHERE business_id = $1`, [t.businessA]);

    const ops = await adminClient(app.url, t.users.opsA.email);
    const transactions = await ops.call('GET', '/admin/api/resources/SilverTransaction/actions/list');
    expect(transactions.status).toBe(200);
    expect(transactions.body!.records.map((r: { params: { transactionId: string } }) => r.params.transactionId).sort()).toEqual(['S-1', 'S-2']);
    // Another business sees none of it.
    const opsB = await adminClient(app.url, t.users.opsB.email);
    expect((await opsB.call('GET', '/admin/api/resources/SilverTransaction/actions/list')).body!.meta.total).toBe(0);

    const queue = await ops.call('GET', '/admin/api/resources/ProductLink/actions/list?filters.status=review');
    expect(queue.body!.records).toHaveLength(1);
    const link = queue.body!.records[0].params;
    expect(link).toMatchObject({ productName: 'Croisant', product: 'Croissant', method: 'fuzzy', status: 'review' });

    const manager = await adminClient(app.url, t.users.managerA.email);
    expect((await manager.call('GET', '/admin/api/resources/ProductLink/actions/list')).status).toBe(200);
    expect((await manager.call('POST', `/admin/api/resources/ProductLink/records/${link.id}/confirmLink`)).status).toBe(403);
    // Re-link: the manager may not; ops see only their business's products, and must choose one.
    expect((await manager.call('GET', `/admin/api/resources/ProductLink/records/${link.id}/relinkProduct`)).status).toBe(403);
    expect((await manager.call('POST', `/admin/api/resources/ProductLink/records/${link.id}/relinkProduct`, { productId: t.productA })).status).toBe(403);
    const choices = await ops.call('GET', `/admin/api/resources/ProductLink/records/${link.id}/relinkProduct?search=crois`);
    expect(choices.body!.choices.products.map((p: { name: string }) => p.name)).toEqual(['Croissant']);
    const unchosen = await ops.call('POST', `/admin/api/resources/ProductLink/records/${link.id}/relinkProduct`, { productId: '' });
    expect(unchosen.body!.notice).toMatchObject({ type: 'error', message: expect.stringContaining('Choose the product to re-link to') });
    const foreign = await ops.call('POST', `/admin/api/resources/ProductLink/records/${link.id}/relinkProduct`, { productId: t.productB });
    expect(foreign.body!.notice).toMatchObject({ type: 'error', message: expect.stringContaining("is not in this business's catalog") });
    expect((await app.db.pool.query(`SELECT status FROM ingest_product_links WHERE id = $1`, [link.id])).rows[0].status).toBe('review');

    const confirmed = await ops.call('POST', `/admin/api/resources/ProductLink/records/${link.id}/confirmLink`);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body!.notice.message).toBe('Linked: 1 line(s) of “Croisant”, remembered for this store.');
    expect(confirmed.body!.record.params).toMatchObject({ status: 'confirmed', product: 'Croissant' });
    const items = await ops.call('GET', '/admin/api/resources/SilverTransactionItem/actions/list?filters.transactionId=S-1');
    expect(items.body!.records[0].params).toMatchObject({ productName: 'Croisant', linkedProduct: 'Croissant', linkMethod: 'confirmed', linkConfidence: '1.000' });

    const alerts = await ops.call('GET', '/admin/api/resources/DataQualityAlert/actions/list');
    const negative = alerts.body!.records.find((r: { params: { rule: string } }) => r.params.rule === 'negative_amount');
    expect(negative.params).toMatchObject({ severity: 'critical', transactionId: 'S-2', acknowledged: 'no' });
    // The manager is assigned the first shop only: the second shop's alert is not theirs to see, let alone acknowledge.
    expect((await manager.call('GET', '/admin/api/resources/DataQualityAlert/actions/list')).body!.meta.total).toBe(0);
    expect((await manager.call('GET', '/admin/api/resources/SilverTransaction/actions/list')).body!.records.map((r: { params: { transactionId: string } }) => r.params.transactionId)).toEqual(['S-1']);
    expect((await manager.call('POST', `/admin/api/resources/DataQualityAlert/records/${negative.id}/acknowledge`)).status).toBe(404);
    const acknowledged = await ops.call('POST', `/admin/api/resources/DataQualityAlert/records/${negative.id}/acknowledge`);
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body!.record.params.acknowledged).toBe('yes');
  });

  it('a failed event is listed and retried from the admin once its store exists', { timeout: 120_000 }, async () => {
    const [eventId] = await insertBronzeEvents(app.db.pool, t.businessA, [{ payload: posTransaction('F-1', 'STORE-NEW') }]);
    await app.db.pool.query('NOTIFY ingest_events');
    await expect.poll(async () => (await app.db.pool.query(`SELECT status FROM ingest_events WHERE id = $1`, [eventId])).rows[0].status, { timeout: 30_000 }).toBe('failed');
    const ops = await adminClient(app.url, t.users.opsA.email);
    const failed = await ops.call('GET', '/admin/api/resources/FailedIngestEvent/actions/list?filters.status=failed');
    expect(failed.body!.records.map((r: { id: string }) => r.id)).toEqual([eventId]);
    await app.db.pool.query(`INSERT INTO shops (business_id, name, code) VALUES ($1, 'New store', 'STORE-NEW')`, [t.businessA]);
    const retried = await ops.call('POST', `/admin/api/resources/FailedIngestEvent/records/${eventId}/retryEvent`);
    expect(retried.status).toBe(200);
    await expect.poll(async () => (await app.db.pool.query(`SELECT status FROM ingest_events WHERE id = $1`, [eventId])).rows[0].status, { timeout: 30_000 }).toBe('processed');
  });
});
