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

describe('dates as real exports write them', () => {
  const lines = (dates: string[]) => Buffer.from(['product_name,quantity,price,transaction_date', ...dates.map((date) => `Croissant,1,2.95,"${date}"`)].join('\n'));
  const loadedDates = async (feedId: number) =>
    (await app.db.pool.query<{ d: string }>(`SELECT to_char(date_key, 'YYYY-MM-DD') AS d FROM fact_sales WHERE data_feed_id = $1 ORDER BY source_row`, [feedId])).rows.map((row) => row.d);

  it.each([
    ['MMM D, YYYY', ['Nov 18, 2026', 'Dec 1, 2026'], ['2026-11-18', '2026-12-01']],
    ['DD-MMM-YY', ['18-Nov-26', '01-Dec-26'], ['2026-11-18', '2026-12-01']],
    ['D MMMM YYYY', ['29 November 2026', '15 janvier 2026', '12 mei 2026'], ['2026-11-29', '2026-01-15', '2026-05-12']],
    ['DD/MM/YYYY HH:mm', ['29/11/2026 15:00', '30/11/2026 09:15'], ['2026-11-29', '2026-11-30']],
    ['MM/DD/YYYY h:mm A', ['11/29/2026 3:00 PM', '11/30/2026 10:00 AM'], ['2026-11-29', '2026-11-30']],
    ['ISO-8601 timestamp', ['2026-07-14 12:32:00 -0500', '2026-07-15 23:30:00 -0500'], ['2026-07-14', '2026-07-15']],
    ['D. MMMM YYYY', ['3. März 2026', '14. Okt. 2026'], ['2026-03-03', '2026-10-14']],
    ['D [de] MMMM [de] YYYY', ['5 de enero de 2026', '12 de dic. de 2026'], ['2026-01-05', '2026-12-12']],
  ])('a file of "%s" dates: the preview reports the format and the commit loads the days written (regression: every row invalid)', async (format, dates, days) => {
    const { preview, commit } = await previewAndCommit(lines(dates));
    expect(preview.summary).toMatchObject({ valid_rows: dates.length, invalid_rows: 0, date_formats: { transaction_date: format }, date_format_given: null });
    expect(preview.rows.map((row: { normalized: { transaction_date: string } }) => row.normalized.transaction_date)).toEqual(days);
    expect(commit.status, JSON.stringify(commit.body)).toBe(202);
    expect((await waitForFeed(app.url, ops, commit.body!.feed_id)).status).toBe('transformed');
    expect(await loadedDates(commit.body!.feed_id)).toEqual(days);
  });

  it('a format typed where detection is unsure reads the preview and the commit alike; a format that cannot be read is refused with what to write', async () => {
    // Every day is 12 or below: detection assumes day first.
    const bytes = lines(['03/04/2026', '05/06/2026']);
    const first = await uploadPreview(app.url, ops, { name: 'us.csv', bytes });
    expect(first.body.summary).toMatchObject({ date_formats: { transaction_date: 'DD/MM/YYYY' }, date_formats_assumed: ['transaction_date'] });
    const token = first.body.upload_token as string;

    const bad = await callJson(app.url, ops, 'POST', `/dashboard/data-feeds/preview/${token}/date-format`, { date_format: 'MM/DD' });
    expect(bad.status).toBe(422);
    expect(bad.body!.error.message).toMatch(/The date format “MM\/DD” must name a day, a month and a year\. Write it with YYYY/);

    const typed = await callJson(app.url, ops, 'POST', `/dashboard/data-feeds/preview/${token}/date-format`, { date_format: 'MM/DD/YYYY' });
    expect(typed.status, JSON.stringify(typed.body)).toBe(200);
    expect(typed.body!.summary).toMatchObject({ date_formats: { transaction_date: 'MM/DD/YYYY' }, date_formats_assumed: [], date_format_given: 'MM/DD/YYYY' });
    expect(typed.body!.rows.map((row: { normalized: { transaction_date: string } }) => row.normalized.transaction_date)).toEqual(['2026-03-04', '2026-05-06']);
    // Shown again, the preview keeps the format given.
    expect((await callJson(app.url, ops, 'GET', `/dashboard/data-feeds/preview/${token}`)).body!.summary.date_format_given).toBe('MM/DD/YYYY');

    const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token });
    expect(commit.status, JSON.stringify(commit.body)).toBe(202);
    await waitForFeed(app.url, ops, commit.body!.feed_id);
    expect(await loadedDates(commit.body!.feed_id)).toEqual(['2026-03-04', '2026-05-06']);
  });

  it('a format sent with the upload (date_format) reads its dates; one sent after the file is refused', async () => {
    const given = await uploadPreview(app.url, ops, { name: 'given.csv', bytes: lines(['2026.29.11', '2026.30.11']) }, { date_format: 'YYYY.DD.MM' });
    expect(given.status, JSON.stringify(given.body)).toBe(200);
    expect(given.body.summary).toMatchObject({ valid_rows: 2, date_formats: { transaction_date: 'YYYY.DD.MM' }, date_format_given: 'YYYY.DD.MM' });
    expect(given.body.rows[0].normalized.transaction_date).toBe('2026-11-29');
    const refused = await uploadPreview(app.url, ops, { name: 'refused.csv', bytes: lines(['2026.29.11']) }, { date_format: 'YYYY.QQ' });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toMatch(/has “Q”, which is not a part of a date/);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM upload_files WHERE filename = $1', ['refused.csv'])).rows[0].n).toBe(0);
  });

  it('dates no format reads say to type the format in the preview', async () => {
    const { preview } = await previewAndCommit(lines(['the 3rd of May', 'soon']));
    expect(preview.rows[0].issues).toEqual([expect.objectContaining({ column: 'transaction_date', reason: expect.stringMatching(/type the format the file uses in the preview/) })]);
  });
});
