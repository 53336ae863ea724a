import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, uploadPreview, waitForFeed } from '../helpers/feeds.js';

/**
 * Files as people's exports write them, through the feed's preview and commit: text in an encoding that
 * shows only far into the file, and dates in the forms real exports use.
 */
let app: TestApp;
let t: Tenants;
let ops: string;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => app?.close());

async function previewAndCommit(bytes: Buffer, commit: Record<string, unknown> = {}, fields: Record<string, string> = {}) {
  const preview = await uploadPreview(app.url, ops, { name: 'export.csv', bytes }, fields);
  expect(preview.status, JSON.stringify(preview.body)).toBe(200);
  const committed = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, ...commit });
  return { preview: preview.body, commit: committed };
}

/** ASCII sales rows up to about 100 KB, then `name` (as bytes), then one more row. */
function fileWithLateName(name: Buffer, first = 'Croissant'): Buffer {
  const lines = ['product_name,quantity,price,transaction_date', `${first},1,2.95,2025-09-01`];
  while (lines.join('\n').length < 100 * 1024) lines.push(`Croissant,1,2.95,2025-09-${String(1 + (lines.length % 28)).padStart(2, '0')}`);
  return Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), name, Buffer.from(',2,3.10,2025-09-03\nCroissant,1,2.95,2025-09-04\n')]);
}

const productNames = async () => (await app.db.pool.query<{ name: string }>('SELECT name FROM products WHERE business_id = $1 ORDER BY name', [t.businessA])).rows.map((row) => row.name);

describe('text far into a file', () => {
  it('a Windows-1252 "Café" at byte 100 KB is stored as Café (regression: "Caf\\uFFFD", with no warning)', async () => {
    const { commit } = await previewAndCommit(fileWithLateName(Buffer.from([0x43, 0x61, 0x66, 0xe9])), { auto_create_products: true });
    expect(commit.status, JSON.stringify(commit.body)).toBe(202);
    expect(commit.body!.created_products).toEqual({ Café: expect.any(String) });
    const done = await waitForFeed(app.url, ops, commit.body!.feed_id);
    expect(done.status).toBe('transformed');
    expect(await productNames()).toContain('Café');
    expect((await productNames()).join('')).not.toContain('\uFFFD');
  });

  it('a UTF-8 file with a Windows-1252 name far in loads it readable and says on the feed that the file mixes encodings', async () => {
    const { commit } = await previewAndCommit(fileWithLateName(Buffer.from([0x54, 0x68, 0xe9, 0x20, 0x76, 0x65, 0x72, 0x74]), 'Crème brûlée'), { auto_create_products: true });
    expect(commit.status, JSON.stringify(commit.body)).toBe(202);
    expect(Object.keys(commit.body!.created_products).sort()).toEqual(['Crème brûlée', 'Thé vert']);
    const feed = await app.db.pool.query<{ summary: { issues: { code: string; message: string }[] } }>('SELECT summary FROM data_feeds WHERE id = $1', [commit.body!.feed_id]);
    expect(feed.rows[0]!.summary.issues).toEqual([expect.objectContaining({ code: 'mixed_encoding', message: expect.stringMatching(/not all UTF-8: from about byte [\d,]+ on it was read as Windows-1252/) })]);
  });

  it('a cell holding U+FFFD is shown as a problem in the preview and not loaded without being skipped', async () => {
    const bytes = Buffer.from('product_name,quantity,price,transaction_date\nCroissant,1,2.95,2025-09-01\nCaf\uFFFD,1,2.95,2025-09-01\n');
    const { preview, commit } = await previewAndCommit(bytes, { auto_create_products: true });
    expect(preview.rows[1]).toMatchObject({ valid: false, issues: [expect.objectContaining({ column: 'product_name', reason: expect.stringMatching(/lost before this file was written/) })] });
    expect(commit.status).toBe(422);
    expect(await productNames()).not.toContain('Caf\uFFFD');
  });
});
