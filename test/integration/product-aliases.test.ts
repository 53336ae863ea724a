import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, uploadPreview, waitForFeed } from '../helpers/feeds.js';

/**
 * Names a business's files write, matched to its catalog: on words as well as characters, and through
 * the aliases people choose on the upload page, which later files' previews and commits use.
 */
let app: TestApp;
let t: Tenants;
let ops: string;
let bretonCake: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
  for (const name of ['Butter Croissant', 'Breton Cake', 'Brioche']) {
    const created = await callJson(app.url, ops, 'POST', '/api/products', { name, sellingPriceCents: 350, costPriceCents: 100 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    if (name === 'Breton Cake') bretonCake = created.body!.data.id;
  }
});
afterAll(async () => app?.close());

const salesFile = (...names: string[]) => Buffer.from(['product_name,quantity,price,transaction_date', ...names.map((name, i) => `${name},1,3.50,2025-09-0${i + 1}`)].join('\n'));

describe('matching a file’s names to the catalog', () => {
  it('reordered words match (regression: "Croissant (butter)" scored 31% against "Butter Croissant")', async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'reordered.csv', bytes: salesFile('Croissant (butter)') });
    expect(preview.status).toBe(200);
    expect(preview.body.rows[0].product_match).toMatchObject({ status: 'fuzzy', product_name: 'Butter Croissant', score: 1 });
    expect(preview.body.rows[0].valid).toBe(true);
  });

  it('a name mapped to a product from the preview is matched by the next file’s preview and commit, and audited', async () => {
    const first = await uploadPreview(app.url, ops, { name: 'first.csv', bytes: salesFile('KA special') });
    expect(first.body.rows[0].product_match).toMatchObject({ status: 'missing' });
    expect(first.body.summary.new_product_candidates).toEqual(['KA special']);

    const search = await callJson(app.url, ops, 'GET', '/dashboard/catalog/search?q=bret');
    expect(search.status).toBe(200);
    expect(search.body!.products[0]).toMatchObject({ product_id: bretonCake, product_name: 'Breton Cake' });

    const mapped = await callJson(app.url, ops, 'POST', '/dashboard/product-aliases', { alias: 'KA special', product_id: bretonCake });
    expect(mapped.status, JSON.stringify(mapped.body)).toBe(201);
    expect(mapped.body!.alias).toMatchObject({ alias: 'KA special', product_id: bretonCake, product_name: 'Breton Cake', business_id: t.businessA });
    const audit = await app.db.pool.query(`SELECT action, user_id, after FROM audit_log WHERE resource = 'productAliases' AND record_id = $1`, [mapped.body!.alias.id]);
    expect(audit.rows).toEqual([{ action: 'create', user_id: t.users.opsA.id, after: { alias: 'KA special', productId: bretonCake, productName: 'Breton Cake' } }]);

    // The same upload shown again, and a later file writing the name another way.
    expect((await callJson(app.url, ops, 'GET', `/dashboard/data-feeds/preview/${first.body.upload_token}`)).body!.rows[0].product_match).toMatchObject({ status: 'alias', product_id: bretonCake });
    const next = await uploadPreview(app.url, ops, { name: 'next.csv', bytes: salesFile('ka-SPECIAL', 'Brioche') });
    expect(next.body.rows[0]).toMatchObject({ valid: true, product_match: { status: 'alias', product_id: bretonCake, product_name: 'Breton Cake', alias: 'KA special' } });
    expect(next.body.summary.new_product_candidates).toEqual([]);

    const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: next.body.upload_token });
    expect(commit.status, JSON.stringify(commit.body)).toBe(202);
    expect(commit.body!.created_products).toEqual({});
    await waitForFeed(app.url, ops, commit.body!.feed_id);
    const loaded = await app.db.pool.query<{ name: string }>('SELECT p.name FROM fact_sales f JOIN products p ON p.id = f.product_id WHERE f.data_feed_id = $1 ORDER BY f.source_row', [commit.body!.feed_id]);
    expect(loaded.rows.map((row) => row.name)).toEqual(['Breton Cake', 'Brioche']);
  });

  it('mapping a name again moves it; forgetting it makes the name missing again; both audited', async () => {
    const brioche = (await app.db.pool.query<{ id: string }>(`SELECT id FROM products WHERE business_id = $1 AND name = 'Brioche'`, [t.businessA])).rows[0]!.id;
    const moved = await callJson(app.url, ops, 'POST', '/dashboard/product-aliases', { alias: 'Ka Special', product_id: brioche });
    expect(moved.status).toBe(201);
    const listed = await callJson(app.url, ops, 'GET', '/dashboard/product-aliases');
    expect(listed.body!.aliases).toEqual([expect.objectContaining({ alias: 'Ka Special', product_name: 'Brioche' })]);
    const id = listed.body!.aliases[0].id as string;
    expect((await callJson(app.url, ops, 'DELETE', `/dashboard/product-aliases/${id}`)).status).toBe(204);
    const after = await uploadPreview(app.url, ops, { name: 'after.csv', bytes: salesFile('KA special') });
    expect(after.body.rows[0].product_match).toMatchObject({ status: 'missing' });
    const audit = await app.db.pool.query(`SELECT action FROM audit_log WHERE resource = 'productAliases' AND record_id = $1 ORDER BY id`, [id]);
    expect(audit.rows.map((row) => row.action)).toEqual(['create', 'update', 'delete']);
  });

  it('refuses a name that is a product’s own name, a product of another business, and callers who may not edit the catalog', async () => {
    const ownName = await callJson(app.url, ops, 'POST', '/dashboard/product-aliases', { alias: 'brioche', product_id: bretonCake });
    expect(ownName.status).toBe(422);
    expect(ownName.body!.error.message).toMatch(/“brioche” is the name of the product “Brioche” in your catalog/);

    const opsB = (await apiClient(app.url, t.users.opsB.email)).token;
    expect((await callJson(app.url, opsB, 'POST', '/dashboard/product-aliases', { alias: 'Other', product_id: bretonCake })).status).toBe(404);
    const aliasOfA = await callJson(app.url, ops, 'POST', '/dashboard/product-aliases', { alias: 'Cake of Brittany', product_id: bretonCake });
    expect((await callJson(app.url, opsB, 'DELETE', `/dashboard/product-aliases/${aliasOfA.body!.alias.id}`)).status).toBe(404);
    expect((await callJson(app.url, opsB, 'GET', '/dashboard/catalog/search?q=breton')).body!.products).toEqual([]);

    const manager = (await apiClient(app.url, t.users.managerA.email)).token;
    expect((await callJson(app.url, manager, 'POST', '/dashboard/product-aliases', { alias: 'Other', product_id: bretonCake })).status).toBe(403);
    expect((await callJson(app.url, manager, 'GET', '/dashboard/catalog/search?q=breton')).status).toBe(403);
  });
});
