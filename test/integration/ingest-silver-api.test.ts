import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIngestKey } from '../../core/ingest/keys.js';
import { createRecord } from '../../core/records/service.js';
import { apiClient, PASSWORD, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { insertBronzeEvents, posTransaction } from '../helpers/ingest.js';

/**
 * Silver over REST: transactions with their items, product links with confidence, the review queue and
 * quality alerts, read within the caller's business and shops; confirm, re-link and acknowledge call the same
 * core functions as the admin and are audited. Dashboard readers and ingest API keys get nothing.
 */
let app: TestApp;
let t: Tenants;
let baguette: string;
let demiBaguette: string;

type Row = Record<string, any>;

beforeAll(async () => {
  // A strict threshold: "Croisant" (0.889 like Croissant) and "Bagette" wait for review.
  app = await startTestApp({ INGEST_LINK_THRESHOLD: '0.95' });
  t = await seedTenants(app.system);
  baguette = (await createRecord(app.system, 'products', { businessId: t.businessA, name: 'Baguette', sellingPriceCents: 180, costPriceCents: 60 })).id as string;
  demiBaguette = (await createRecord(app.system, 'products', { businessId: t.businessA, name: 'Demi Baguette', sellingPriceCents: 100, costPriceCents: 35 })).id as string;
  await createRecord(app.system, 'users', { email: 'reader.a@test.local', role: 'dashboard_reader', businessId: t.businessA, password: PASSWORD });
  await app.db.pool.query(`UPDATE shops SET code = CASE id WHEN $1 THEN 'STORE-001' WHEN $2 THEN 'STORE-002' END WHERE id IN ($1, $2)`, [t.shopA1, t.shopA2]);
  await insertBronzeEvents(app.db.pool, t.businessA, [
    { payload: posTransaction('R-1', 'STORE-001', { total_amount: 4.75, items: [{ product_id: 'P-9', product_name: 'Croisant', qty: 1, unit_price: 2.95, line_amount: 2.95 }, { product_id: 'P-3', product_name: 'Baguette', qty: 1, unit_price: 1.8, line_amount: 1.8 }] }) },
    { payload: posTransaction('R-2', 'STORE-002', { total_amount: -1, items: [{ product_name: 'Bagette', qty: -1, unit_price: 1, line_amount: -1 }] }) },
  ]);
  await app.db.pool.query('NOTIFY ingest_events');
  await vi.waitFor(async () => expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM transactions WHERE business_id = $1`, [t.businessA])).rows[0].n).toBe(2), { timeout: 30_000, interval: 100 });
}, 120_000);
afterAll(async () => app?.close());

describe('silver REST routes', () => {
  it('ops read transactions with their items, links with confidence, the review queue and alerts of their business', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const list = await ops.call('GET', '/api/silver/transactions');
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body!.meta).toEqual({ total: 2, page: 1, perPage: 50 });
    const r1 = list.body!.data.find((row: Row) => row.transactionId === 'R-1');
    const one = await ops.call('GET', `/api/silver/transactions/${r1.id}`);
    expect(one.status).toBe(200);
    expect(one.body!.data).toMatchObject({ transactionId: 'R-1', total: '4.75 GBP', itemCount: 2 });
    expect(one.body!.data.items.map((item: Row) => [item.lineNo, item.productName, item.linkedProduct, item.linkMethod, item.linkConfidence])).toEqual([
      [1, 'Croisant', null, null, null],
      [2, 'Baguette', 'Baguette', 'exact_name', '1.000'],
    ]);

    const links = await ops.call('GET', '/api/silver/product-links?perPage=10');
    expect(links.body!.meta.total).toBe(3);
    expect(links.body!.data.find((row: Row) => row.productName === 'Croisant')).toMatchObject({ product: 'Croissant', method: 'fuzzy', status: 'review', confidence: expect.stringMatching(/^0\.8\d\d$/) });
    const queue = await ops.call('GET', '/api/silver/review-queue');
    expect(queue.body!.data.map((row: Row) => row.productName).sort()).toEqual(['Bagette', 'Croisant']);
    const filtered = await ops.call('GET', '/api/silver/transactions?transactionId=R-2');
    expect(filtered.body!.data.map((row: Row) => row.transactionId)).toEqual(['R-2']);
    expect((await ops.call('GET', '/api/silver/transactions?nope=1')).status).toBe(400);
    expect((await ops.call('GET', '/api/silver/transactions?perPage=0')).status).toBe(400);

    const alerts = await ops.call('GET', '/api/silver/alerts');
    expect(alerts.body!.data.map((row: Row) => [row.rule, row.severity, row.transactionId])).toContainEqual(['negative_amount', 'critical', 'R-2']);
    expect((await ops.call('GET', '/api/silver/coverage')).body!.data).toEqual({ line_items: 3, linked: 1, coverage: 0.3333, awaiting_review: 2 });
    expect((await ops.call('GET', '/api/silver/transactions/999999')).status).toBe(404);
  });

  it('confirm, re-link and acknowledge call core: lines relinked, audited, gold follows; wrong products refused', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const queue = (await ops.call('GET', '/api/silver/review-queue')).body!.data as Row[];
    const croisant = queue.find((row) => row.productName === 'Croisant')!;
    const bagette = queue.find((row) => row.productName === 'Bagette')!;

    const confirmed = await ops.call('POST', `/api/silver/product-links/${croisant.id}/confirm`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body!.data).toMatchObject({ status: 'confirmed', product_id: t.productA, lines_relinked: 1 });

    // Choices are the business's own products, searched by name.
    const choices = await ops.call('GET', `/api/silver/product-links/${bagette.id}/choices?search=bag`);
    expect(choices.body!.data.products.map((p: Row) => p.name)).toEqual(['Baguette', 'Demi Baguette']);
    expect((await ops.call('GET', `/api/silver/product-links/${bagette.id}/choices`)).body!.data.products.map((p: Row) => p.name)).toEqual(['Baguette', 'Croissant', 'Demi Baguette']);
    // Another business's product, a body that is not an id, and an unknown field are refused with what is wrong.
    const foreign = await ops.call('POST', `/api/silver/product-links/${bagette.id}/relink`, { product_id: t.productB });
    expect(foreign.status).toBe(422);
    expect(foreign.body!.error.message).toContain("is not in this business's catalog");
    expect((await ops.call('POST', `/api/silver/product-links/${bagette.id}/relink`, { product_id: 'baguette' })).status).toBe(400);
    expect((await ops.call('POST', `/api/silver/product-links/${bagette.id}/relink`, { product_id: baguette, extra: 1 })).status).toBe(400);

    const relinked = await ops.call('POST', `/api/silver/product-links/${bagette.id}/relink`, { product_id: demiBaguette });
    expect(relinked.status, JSON.stringify(relinked.body)).toBe(200);
    expect(relinked.body!.data).toMatchObject({ status: 'confirmed', product_id: demiBaguette, lines_relinked: 1 });
    expect((await ops.call('GET', '/api/silver/review-queue')).body!.meta.total).toBe(0);
    expect((await ops.call('GET', '/api/silver/coverage')).body!.data).toMatchObject({ line_items: 3, linked: 3, coverage: 1 });
    const gold = await app.db.pool.query(`SELECT p.name, sum(g.lines)::int AS lines FROM gold_product_mix_daily g JOIN products p ON p.id = g.product_id WHERE g.business_id = $1 GROUP BY p.name ORDER BY p.name`, [t.businessA]);
    expect(gold.rows).toEqual([{ name: 'Baguette', lines: 1 }, { name: 'Croissant', lines: 1 }, { name: 'Demi Baguette', lines: 1 }]);

    const alert = ((await ops.call('GET', '/api/silver/alerts')).body!.data as Row[]).find((row) => row.rule === 'negative_amount')!;
    const acknowledged = await ops.call('POST', `/api/silver/alerts/${alert.id}/acknowledge`);
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body!.data.acknowledged_at).toEqual(expect.any(String));
    expect((await ops.call('POST', `/api/silver/alerts/${alert.id}/acknowledge`)).status).toBe(409);

    const audit = await app.db.pool.query(`SELECT resource, action, user_id FROM audit_log WHERE resource IN ('productLinks', 'dataQualityAlerts') ORDER BY id`);
    expect(audit.rows).toEqual([
      { resource: 'productLinks', action: 'confirm', user_id: t.users.opsA.id },
      { resource: 'productLinks', action: 'relink', user_id: t.users.opsA.id },
      { resource: 'dataQualityAlerts', action: 'acknowledge', user_id: t.users.opsA.id },
    ]);
  });

  it('denies unless allowed: other businesses, managers outside their shops or acting, dashboard readers, ingest keys, nobody', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const link = ((await ops.call('GET', '/api/silver/product-links')).body!.data as Row[])[0]!;
    const transaction = ((await ops.call('GET', '/api/silver/transactions?transactionId=R-2')).body!.data as Row[])[0]!;
    const alert = ((await ops.call('GET', '/api/silver/alerts')).body!.data as Row[])[0]!;

    const opsB = await apiClient(app.url, t.users.opsB.email);
    for (const path of ['/api/silver/transactions', '/api/silver/product-links', '/api/silver/review-queue', '/api/silver/alerts']) {
      const answer = await opsB.call('GET', path);
      expect([path, answer.status, answer.body!.meta.total]).toEqual([path, 200, 0]);
    }
    expect((await opsB.call('GET', `/api/silver/transactions/${transaction.id}`)).status).toBe(404);
    expect((await opsB.call('GET', `/api/silver/product-links/${link.id}/choices`)).status).toBe(404);
    expect((await opsB.call('POST', `/api/silver/product-links/${link.id}/confirm`)).status).toBe(404);
    expect((await opsB.call('POST', `/api/silver/product-links/${link.id}/relink`, { product_id: t.productB })).status).toBe(404);

    // The manager is assigned STORE-001 only: R-2 (STORE-002) is not theirs; they may look but not act.
    const manager = await apiClient(app.url, t.users.managerA.email);
    expect(((await manager.call('GET', '/api/silver/transactions')).body!.data as Row[]).map((row) => row.transactionId)).toEqual(['R-1']);
    expect((await manager.call('GET', `/api/silver/transactions/${transaction.id}`)).status).toBe(404);
    expect((await manager.call('POST', `/api/silver/product-links/${link.id}/confirm`)).status).toBe(403);
    expect((await manager.call('POST', `/api/silver/product-links/${link.id}/relink`, { product_id: baguette })).status).toBe(403);
    expect((await manager.call('POST', `/api/silver/alerts/${alert.id}/acknowledge`)).status).toBe(403);

    const reader = await apiClient(app.url, 'reader.a@test.local');
    for (const [method, path] of [
      ['GET', '/api/silver/transactions'],
      ['GET', `/api/silver/transactions/${transaction.id}`],
      ['GET', '/api/silver/product-links'],
      ['GET', '/api/silver/review-queue'],
      ['GET', '/api/silver/alerts'],
      ['GET', '/api/silver/coverage'],
      ['GET', `/api/silver/product-links/${link.id}/choices`],
      ['POST', `/api/silver/product-links/${link.id}/confirm`],
      ['POST', `/api/silver/alerts/${alert.id}/acknowledge`],
    ] as const) {
      expect([method, path, (await reader.call(method, path)).status]).toEqual([method, path, 403]);
    }
    expect((await reader.call('POST', `/api/silver/product-links/${link.id}/relink`, { product_id: baguette })).status).toBe(403);

    const { key } = await createIngestKey(app.system, { businessId: t.businessA, stores: ['STORE-001'] });
    for (const headers of [{ authorization: `Bearer ${key}` }, {}] as Record<string, string>[]) {
      const answer = await fetch(`${app.url}/api/silver/transactions`, { headers });
      expect(answer.status).toBe(401);
      const post = await fetch(`${app.url}/api/silver/product-links/${link.id}/confirm`, { method: 'POST', headers });
      expect(post.status).toBe(401);
    }
    // Nothing of the refused calls was written.
    const audit = await app.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE resource IN ('productLinks', 'dataQualityAlerts')`);
    expect(audit.rows[0].n).toBe(3);
  });
});
