import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

const header = 'product_name,quantity,price,transaction_date,discount,customer,channel,order_id';
// Revenue 29.50 + 5.90 + 3.00 + 10.00 = 48.40 over orders, R-3 (R-2 sells croissants on two lines).
const first = [header, 'Croissant,10,2.95,2025-09-01,0,alice@example.com,Offline,R-1', 'Croissant,2,2.95,2025-09-01,0,bob@example.com,Online,R-2', 'Croissant,1,3.00,2025-09-02,0,alice@example.com,Offline,R-2', 'Croissant,4,2.50,2025-09-02,0,,Online,R-3'].join('\n');
// Its first two lines again (35.40), and two new orders: R-4 10.00 and R-5 2.95. Revenue 48.35.
const overlapping = [header, 'Croissant,10,2.95,2025-09-01,0,alice@example.com,Offline,R-1', 'Croissant,2,2.95,2025-09-01,0,bob@example.com,Online,R-2', 'Croissant,5,2.00,2025-09-03,0,,Online,R-4', 'Croissant,1,2.95,2025-09-03,0,,Online,R-5'].join('\n');

async function preview(csv: string, name: string) {
  const res = await uploadPreview(app.url, ops, { name, bytes: Buffer.from(csv) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function commit(token: string, extra: Record<string, unknown> = {}) {
  return callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token, auto_create_products: true, ...extra });
}

async function load(csv: string, name: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await commit((await preview(csv, name)).upload_token, extra);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const done = await waitForFeed(app.url, ops, res.body!.feed_id);
  expect(done.status, JSON.stringify(done.summary)).toBe('transformed');
  return res.body!.feed_id as number;
}

/** What the warehouse holds for September 2025 (the facts), and what the metrics API says of it. */
async function totals() {
  const facts = await app.db.pool.query<{ revenue: string | null; orders: number; records: number }>(
    `SELECT sum(gross_revenue)::text AS revenue, count(DISTINCT order_id)::int AS orders, count(*)::int AS records FROM fact_sales WHERE business_id = $1`,
    [t.businessA],
  );
  const kpi = await callJson(app.url, ops, 'GET', '/dashboard/metrics/kpi?range=custom&from=2025-09-01&to=2025-09-30');
  expect(kpi.status).toBe(200);
  return { revenue: Number(facts.rows[0]!.revenue ?? 0), orders: facts.rows[0]!.orders, records: facts.rows[0]!.records, api: { revenue: kpi.body!.kpi.gross_revenue, orders: kpi.body!.kpi.orders } };
}

// Each case starts from an empty warehouse: ops remove their own business's feeds.
beforeEach(async () => {
  const feeds = await app.db.pool.query<{ id: number }>('SELECT id FROM data_feeds WHERE business_id = $1', [t.businessA]);
  for (const { id } of feeds.rows) expect((await callJson(app.url, ops, 'DELETE', `/dashboard/data-feeds/${id}`)).status).toBe(204);
});

describe('the same file loaded twice', () => {
  it('is warned of in the preview (which feed, when), and refused at commit without a choice', async () => {
    const feedId = await load(first, 'september.csv');
    const again = await preview(first, 'september-copy.csv');
    expect(again.summary.duplicates).toMatchObject({
      same_file: [{ feed_id: feedId, filename: 'september.csv', status: 'transformed', created_at: expect.any(String) }],
      already_loaded_rows: 4,
      loaded_by: [{ feed_id: feedId, filename: 'september.csv', rows: 4, sample_rows: [2, 3, 4, 5] }],
    });
    const refused = await commit(again.upload_token);
    expect(refused.status).toBe(409);
    expect(refused.body!.error.message).toMatch(new RegExp(`september-copy.csv was already loaded: the same file is feed #${feedId} \\(september.csv, `));
    expect(refused.body!.error.message).toMatch(/skip the rows already loaded, replace the earlier feed, or load anyway/);
    expect(refused.body!.error.details.duplicates.same_file[0].feed_id).toBe(feedId);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM data_feeds WHERE business_id = $1', [t.businessA])).rows[0].n).toBe(1);
    expect(await totals()).toEqual({ revenue: 48.4, orders: 3, records: 4, api: { revenue: 48.4, orders: 3 } });
  });

  it('skip: nothing new to load, totals unchanged', async () => {
    await load(first, 'september.csv');
    const again = await preview(first, 'september.csv');
    const skipped = await commit(again.upload_token, { duplicates: 'skip' });
    expect(skipped.status).toBe(422);
    expect(skipped.body!.error.message).toMatch(/Every row of it is loaded already/);
    expect(await totals()).toEqual({ revenue: 48.4, orders: 3, records: 4, api: { revenue: 48.4, orders: 3 } });
  });

  it('load anyway: revenue doubles, as chosen, and the choice is recorded on the feed and audited', async () => {
    await load(first, 'september.csv');
    const second = await load(first, 'september.csv', { duplicates: 'load_anyway' });
    expect(await totals()).toEqual({ revenue: 96.8, orders: 3, records: 8, api: { revenue: 96.8, orders: 3 } });
    const feed = await app.db.pool.query('SELECT duplicate_choice, summary FROM data_feeds WHERE id = $1', [second]);
    expect(feed.rows[0]).toMatchObject({ duplicate_choice: 'load_anyway', summary: { duplicates: { choice: 'load_anyway', already_loaded_rows: 4 } } });
    const audit = await app.db.prisma.auditLog.findFirst({ where: { resource: 'feeds', recordId: String(second), action: 'commit' } });
    expect(audit?.after).toMatchObject({ duplicates: { choice: 'load_anyway' } });
  });

  it('replace: the earlier feeds go when the new one loads', async () => {
    const a = await load(first, 'september.csv');
    const b = await load(first, 'september.csv', { duplicates: 'load_anyway' });
    const c = await load(first, 'september.csv', { duplicates: 'replace' });
    expect(await totals()).toEqual({ revenue: 48.4, orders: 3, records: 4, api: { revenue: 48.4, orders: 3 } });
    const left = await app.db.pool.query<{ id: number }>('SELECT id FROM data_feeds WHERE business_id = $1', [t.businessA]);
    expect(left.rows.map((r) => r.id)).toEqual([c]);
    const replaced = await app.db.prisma.auditLog.findMany({ where: { resource: 'feeds', action: 'delete', recordId: { in: [String(a), String(b)] } } });
    expect(replaced.map((e) => e.after)).toEqual([{ replaced_by: c }, { replaced_by: c }]);
  });
});

describe('a file whose rows were partly loaded', () => {
  it('names the rows already loaded, by (order id, product, line)', async () => {
    const feedId = await load(first, 'september.csv');
    const next = await preview(overlapping, 'october.csv');
    expect(next.summary.duplicates).toEqual({
      same_file: [],
      already_loaded_rows: 2,
      loaded_by: [expect.objectContaining({ feed_id: feedId, rows: 2, sample_rows: [2, 3] })],
    });
    const refused = await commit(next.upload_token);
    expect(refused.status).toBe(409);
    expect(refused.body!.error.message).toMatch(new RegExp(`2 rows of october.csv were already loaded by feed #${feedId}`));
  });

  it('skip: only the new rows load', async () => {
    await load(first, 'september.csv');
    const res = await commit((await preview(overlapping, 'october.csv')).upload_token, { duplicates: 'skip' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ record_count: 2, skipped_duplicate_rows: 2 });
    await waitForFeed(app.url, ops, res.body!.feed_id);
    expect(await totals()).toEqual({ revenue: 61.35, orders: 5, records: 6, api: { revenue: 61.35, orders: 5 } });
  });

  it('replace: the earlier feed goes, the new file stands', async () => {
    await load(first, 'september.csv');
    await load(overlapping, 'october.csv', { duplicates: 'replace' });
    expect(await totals()).toEqual({ revenue: 48.35, orders: 4, records: 4, api: { revenue: 48.35, orders: 4 } });
  });

  it('load anyway: both files count in full', async () => {
    await load(first, 'september.csv');
    await load(overlapping, 'october.csv', { duplicates: 'load_anyway' });
    expect(await totals()).toEqual({ revenue: 96.75, orders: 5, records: 8, api: { revenue: 96.75, orders: 5 } });
  });

  it('ops may not delete another business\'s feed', async () => {
    const feedId = await load(first, 'september.csv');
    const other = (await apiClient(app.url, t.users.opsB.email)).token;
    expect((await callJson(app.url, other, 'DELETE', `/dashboard/data-feeds/${feedId}`)).status).toBe(404);
  });
});
