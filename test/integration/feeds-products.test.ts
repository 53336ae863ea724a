import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, uploadPreview, waitForFeed } from '../helpers/feeds.js';

let app: TestApp;
let t: Tenants;
let ops: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => app?.close());

const header = 'product_name,quantity,price,transaction_date,order_id';

async function product(name: string) {
  return app.db.prisma.product.findFirstOrThrow({ where: { businessId: t.businessA, name } });
}

describe('products created from a file', () => {
  it('"Create missing" prices each product at the file\'s most frequent price, keeps a given cost and leaves the others unknown (regression: price 0, cost 0)', async () => {
    const csv = [header, 'Sourdough,1,4.50,2025-10-01,S-1', 'Sourdough,2,4.50,2025-10-01,S-2', 'Sourdough,1,3.99,2025-10-02,S-3', 'Rye Loaf,1,3.20,2025-10-02,S-4', 'Croissant,10,2.95,2025-10-02,S-5'].join('\n');
    const preview = await uploadPreview(app.url, ops, { name: 'loaves.csv', bytes: Buffer.from(csv) });
    expect(preview.status).toBe(200);
    const listed = await callJson(app.url, ops, 'GET', `/dashboard/data-feeds/preview/${preview.body.upload_token}/new-products`);
    expect(listed.body!.products).toEqual([
      { name: 'Rye Loaf', rows: 1, first_row: 5, price: '3.20' },
      { name: 'Sourdough', rows: 3, first_row: 2, price: '4.50' },
    ]);
    // The person confirms the prices, changes one, and gives one cost.
    const created = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/auto-create-products', {
      upload_token: preview.body.upload_token,
      products: [{ name: 'Rye Loaf', selling_price: '3.40', cost_price: '1.10' }],
    });
    expect(created.status).toBe(200);
    expect(created.body!.created.sort()).toEqual(['Rye Loaf', 'Sourdough']);
    expect(await product('Sourdough')).toMatchObject({ sellingPriceCents: 450, costPriceCents: null });
    expect(await product('Rye Loaf')).toMatchObject({ sellingPriceCents: 340, costPriceCents: 110 });
    const audit = await app.db.prisma.auditLog.findMany({ where: { resource: 'products', action: 'create', recordId: { in: Object.values(created.body!.products) as string[] } } });
    expect(audit).toHaveLength(2);

    // Loaded: Sourdough's sales have no COGS or margin, and every reader says so.
    const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token });
    expect(commit.status).toBe(202);
    const done = await waitForFeed(app.url, ops, commit.body!.feed_id);
    expect(done.status).toBe('transformed');
    // Revenue 4.50 + 9.00 + 3.99 + 3.20 + 29.50 = 50.19. Croissant (cost 0.90 × 10 = 9.00) and Rye Loaf (1.10) have a
    // cost: margin 29.50 − 9.00 + 3.20 − 1.10 = 22.60 over their revenue 32.70 = 69.11 %.
    expect(done.summary.metrics).toMatchObject({ records: 5, gross_revenue: 50.19, cogs_amount: 10.1, gross_margin_amount: 22.6, gross_margin_percent: 69.11, products_without_cost: 1 });
    expect(done.summary.issues).toContainEqual(expect.objectContaining({ code: 'missing_product_cost', message: expect.stringMatching(/^Margin incomplete: 1 product without cost\./) }));
    const kpi = await callJson(app.url, ops, 'GET', '/dashboard/metrics/kpi?range=custom&from=2025-10-01&to=2025-10-31');
    expect(kpi.body!.kpi).toMatchObject({ gross_revenue: 50.19, cogs_amount: 10.1, gross_margin_amount: 22.6, gross_margin_percent: 69.11 });
    expect(kpi.body!.margin_incomplete).toMatchObject({ products_without_cost: 1, revenue_without_cost: 17.49, message: expect.stringMatching(/^Margin incomplete: 1 product without cost/) });
  });

  it('a commit that creates the missing products prices them from the file too, cost unknown', async () => {
    const csv = [header, 'Focaccia,1,5.00,2025-10-03,F-1', 'Focaccia,1,6.00,2025-10-03,F-2', 'Focaccia,1,6.00,2025-10-03,F-3'].join('\n');
    const preview = await uploadPreview(app.url, ops, { name: 'focaccia.csv', bytes: Buffer.from(csv) });
    const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, auto_create_products: true });
    expect(commit.status).toBe(202);
    expect(await product('Focaccia')).toMatchObject({ sellingPriceCents: 600, costPriceCents: null });
  });

  it('"Create missing" makes 2,000 products at once, each audited', async () => {
    const names = Array.from({ length: 2000 }, (_, i) => `Bulk Item ${String(i).padStart(4, '0')}`);
    const csv = [header, ...names.map((name, i) => `${name},1,${(1 + (i % 50) / 10).toFixed(2)},2025-10-04,B-${i}`)].join('\n');
    const preview = await uploadPreview(app.url, ops, { name: 'bulk.csv', bytes: Buffer.from(csv) });
    expect(preview.body.summary).toMatchObject({ new_products: 2000 });
    const created = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/auto-create-products', { upload_token: preview.body.upload_token });
    expect(created.status).toBe(200);
    expect(created.body!.created).toHaveLength(2000);
    const stored = await app.db.pool.query(`SELECT count(*)::int AS n, min(selling_price_cents) AS low, max(selling_price_cents) AS high, count(cost_price_cents)::int AS with_cost FROM products WHERE business_id = $1 AND name LIKE 'Bulk Item %'`, [t.businessA]);
    expect(stored.rows[0]).toEqual({ n: 2000, low: 100, high: 590, with_cost: 0 });
    const audited = await app.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE resource = 'products' AND action = 'create' AND after->>'name' LIKE 'Bulk Item %'`);
    expect(audited.rows[0].n).toBe(2000);
    // Asked again: nothing new, the same ids.
    const again = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/auto-create-products', { upload_token: preview.body.upload_token });
    expect(again.body!.created).toEqual([]);
    expect(again.body!.products).toEqual(created.body!.products);
  });
});
