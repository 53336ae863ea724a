import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startScript } from '../../cli/build.js';
import { projectRoot } from '../../core/config.js';
import { failInterruptedCommits } from '../../core/feeds/commit.js';
import { systemContext } from '../../core/context.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, uploadPreview } from '../helpers/feeds.js';
import { freePort } from '../helpers/net.js';

/**
 * A commit's feed is listed as `processing` while its rows are checked and staged, with how far it has read;
 * it cannot be deleted meanwhile; and a commit whose process is killed leaves a failed feed, no staged rows,
 * and an upload that commits again.
 */
let app: TestApp;
let t: Tenants;
let ops: string;
let admin: string;
let web: ChildProcess | null = null;

beforeAll(async () => {
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
  admin = (await apiClient(app.url, t.users.admin.email)).token;
});
afterAll(async () => {
  web?.kill('SIGKILL');
  await app?.close();
});

/** Enough rows that staging them outlasts the buffers between the commit and PostgreSQL. */
const csv = ['product_name,quantity,price,transaction_date,customer', ...Array.from({ length: 100_000 }, (_, i) => `Croissant,${1 + (i % 5)},2.95,2025-09-${String(1 + (i % 28)).padStart(2, '0')},customer${i % 997}@example.com`)].join('\n');

/** Connections holding locks in open transactions; the test's end releases any still held. */
const blockers = new Set<pg.Client>();
afterEach(async () => {
  for (const blocker of blockers) await blocker.end();
  blockers.clear();
});

/** A connection holding `lock` in an open transaction until released. */
async function holdLock(lock: string): Promise<{ release(): Promise<void> }> {
  const blocker = new pg.Client({ connectionString: app.database.url });
  await blocker.connect();
  blockers.add(blocker);
  await blocker.query('BEGIN');
  await blocker.query(lock);
  return {
    async release() {
      blockers.delete(blocker);
      await blocker.query('ROLLBACK');
      await blocker.end();
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The feeds committed from an upload, as the page asks for them while its commit request runs. */
async function feedsOf(uploadToken: string): Promise<Record<string, any>[]> {
  const listed = await callJson(app.url, ops, 'GET', `/dashboard/data-feeds?upload_token=${uploadToken}`);
  expect(listed.status).toBe(200);
  return listed.body!.feeds as Record<string, any>[];
}

const stagedRows = async (feedId: number) => (await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM staging_sales_items WHERE data_feed_id = $1', [feedId])).rows[0]!.n;

describe('a commit in progress', () => {
  it('is listed as processing with how far it has read, cannot be deleted, and becomes queued when its rows are staged', { timeout: 120_000 }, async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'progress.csv', bytes: Buffer.from(csv) });
    expect(preview.status).toBe(200);
    const token = preview.body.upload_token as string;
    // Staging waits behind the first lock; the commit's audit entry, written after its feed moves to queued
    // in its transaction, behind the second: the feed's last progress is then what others see.
    const staging = await holdLock('LOCK TABLE staging_sales_items IN SHARE MODE');
    const audit = await holdLock('LOCK TABLE audit_log IN SHARE MODE');
    const committing = callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token, duplicates: 'load_anyway', auto_create_products: true });

    const listed = await waitFor('the feed to be listed', async () => (await feedsOf(token))[0]);
    expect(listed).toMatchObject({ status: 'processing', record_count: 0, filename: 'progress.csv', summary: { stage: 'processing', progress: { rows_read: 0, percent: 0 } } });
    const feedId = listed.id as number;
    const status = await callJson(app.url, ops, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`);
    expect(status.body).toMatchObject({ status: 'processing', record_count: 0 });
    expect(Date.parse(status.body!.summary.processing_started_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(await failInterruptedCommits(systemContext('test', app.db, app.log))).toBe(0);
    const deleting = await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${feedId}`);
    expect(deleting.status).toBe(409);
    expect(deleting.body!.error.message).toMatch(/still being checked and staged/);

    // Progress is written at most once a second: let a second pass, then let the rows through.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await staging.release();
    await waitFor('the commit to reach its audit entry', async () => {
      const waiting = await app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO audit_log%'`);
      return waiting.rowCount ? true : undefined;
    });
    const [read] = await feedsOf(token);
    expect(read).toMatchObject({ id: feedId, status: 'processing', record_count: 0 });
    expect(read!.summary.progress.rows_read).toBeGreaterThan(0);
    expect(read!.summary.progress.rows_read).toBeLessThanOrEqual(100_000);
    expect(read!.summary.progress.percent).toBeGreaterThan(0);
    expect(read!.summary.progress.percent).toBeLessThanOrEqual(99);
    expect(Date.parse(read!.summary.updated_at)).toBeGreaterThan(Date.parse(read!.summary.processing_started_at));

    await audit.release();
    const committed = await committing;
    expect(committed.status).toBe(202);
    expect(committed.body).toMatchObject({ feed_id: feedId, status: 'queued', record_count: 100_000 });
    const [queued] = await feedsOf(token);
    expect(queued).toMatchObject({ id: feedId, status: 'queued', record_count: 100_000, summary: { stage: 'queued' } });
    expect(queued!.summary.progress).toBeUndefined();
    expect(Date.parse(queued!.summary.updated_at)).toBeGreaterThan(Date.parse(read!.summary.updated_at));
    expect(await stagedRows(feedId)).toBe(100_000);
  });

  it('a refused commit takes its feed away again: nothing is listed and nothing is staged', async () => {
    const bad = ['product_name,quantity,price,transaction_date', 'Croissant,2,2.95,2025-09-01', 'Croissant,two,2.95,2025-09-02'].join('\n');
    const preview = await uploadPreview(app.url, ops, { name: 'refused.csv', bytes: Buffer.from(bad) });
    const token = preview.body.upload_token as string;
    const refused = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token, duplicates: 'load_anyway' });
    expect(refused.status).toBe(422);
    expect(await feedsOf(token)).toEqual([]);
    expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM data_feeds WHERE upload_token = $1`, [token])).rows[0].n).toBe(0);
  });

  it('a commit failing after it created products keeps neither them nor their audit entries; one that succeeds audits both', async () => {
    const file = ['product_name,quantity,price,transaction_date', 'Rye Roll,2,2.95,2025-09-01'].join('\n');
    const productRows = async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM products WHERE name = 'Rye Roll'`)).rows[0].n as number;
    const productAudits = async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE resource = 'products' AND after->>'name' = 'Rye Roll'`)).rows[0].n as number;
    // The commit's last statements fail (as a lost connection would make them): the feed may not become queued.
    await app.db.pool.query(`CREATE FUNCTION test_refuse_queued() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.filename = 'fails-late.csv' AND NEW.status = 'queued' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await app.db.pool.query('CREATE TRIGGER test_refuse_queued BEFORE UPDATE ON data_feeds FOR EACH ROW EXECUTE FUNCTION test_refuse_queued()');
    try {
      const preview = await uploadPreview(app.url, ops, { name: 'fails-late.csv', bytes: Buffer.from(file) });
      const failed = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', auto_create_products: true });
      expect(failed.status).toBe(500);
      expect(await feedsOf(preview.body.upload_token as string)).toEqual([]);
      expect(await productRows()).toBe(0);
      expect(await productAudits()).toBe(0);
    } finally {
      await app.db.pool.query('DROP TRIGGER test_refuse_queued ON data_feeds');
      await app.db.pool.query('DROP FUNCTION test_refuse_queued()');
    }

    const preview = await uploadPreview(app.url, ops, { name: 'succeeds.csv', bytes: Buffer.from(file) });
    const committed = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway', auto_create_products: true });
    expect(committed.status).toBe(202);
    expect(await productRows()).toBe(1);
    const entries = await app.db.pool.query<{ resource: string; action: string; user_email: string }>(
      `SELECT resource, action, user_email FROM audit_log WHERE (resource = 'products' AND after->>'name' = 'Rye Roll') OR (resource = 'feeds' AND record_id = $1) ORDER BY id`,
      [String(committed.body!.feed_id)],
    );
    expect(entries.rows).toEqual([
      { resource: 'products', action: 'create', user_email: t.users.opsA.email },
      { resource: 'feeds', action: 'commit', user_email: t.users.opsA.email },
    ]);
  });

  it('only its own business sees the feeds of an upload', async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'scoped.csv', bytes: Buffer.from(csv.split('\n').slice(0, 20).join('\n')) });
    const token = preview.body.upload_token as string;
    expect((await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token, duplicates: 'load_anyway', auto_create_products: true })).status).toBe(202);
    expect(await feedsOf(token)).toHaveLength(1);
    const other = (await apiClient(app.url, t.users.opsB.email)).token;
    const seen = await callJson(app.url, other, 'GET', `/dashboard/data-feeds?upload_token=${token}`);
    expect(seen.status).toBe(200);
    expect(seen.body!.feeds).toEqual([]);
    expect((await callJson(app.url, ops, 'GET', '/dashboard/data-feeds?upload_token=not-a-token')).status).toBe(400);
  });
});

describe('a commit whose process is killed', () => {
  it('leaves a failed feed with nothing staged, which may be deleted, and the upload commits again', { timeout: 180_000 }, async () => {
    const preview = await uploadPreview(app.url, ops, { name: 'killed.csv', bytes: Buffer.from(csv) });
    const token = preview.body.upload_token as string;
    // A web process of its own, killed while its commit waits to stage the rows.
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: app.database.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SEED_DEMO: 'false', NODE_ENV: 'test', ADMIN_JS_TMP_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-commit-kill-')) };
    web = spawn(process.execPath, [startScript, '--web'], { cwd: projectRoot, env, stdio: 'ignore' });
    const killedUrl = `http://127.0.0.1:${port}`;
    await waitFor('the web process', async () => ((await fetch(`${killedUrl}/api/healthz`).then((r) => r.ok, () => false)) ? true : undefined), 120_000);

    const staging = await holdLock('LOCK TABLE staging_sales_items IN SHARE MODE');
    const committing = callJson(killedUrl, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token, duplicates: 'load_anyway', auto_create_products: true }).catch((error: Error) => error);
    const listed = await waitFor('the feed to be listed', async () => (await feedsOf(token))[0]);
    const feedId = listed.id as number;
    await waitFor('the commit to wait for staging', async () => {
      const waiting = await app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'COPY staging_sales_items%'`);
      return waiting.rowCount ? true : undefined;
    });
    web.kill('SIGKILL');
    await new Promise((resolve) => web!.once('exit', resolve));
    web = null;
    expect(await committing).toBeInstanceOf(Error);
    await staging.release();

    // The dead commit's lock went with its connection: the next look at the feed finds it out.
    const status = await waitFor('the feed to be found failed', async () => {
      const polled = await callJson(app.url, ops, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`);
      return polled.body!.status === 'failed' ? polled.body! : undefined;
    });
    expect(status.summary).toMatchObject({ stage: 'failed', error: { code: 'commit_interrupted' } });
    expect(status.summary.error.message).toMatch(/commit the upload again/);
    expect(status.summary.error.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await stagedRows(feedId)).toBe(0);
    expect((await callJson(app.url, admin, 'DELETE', `/dashboard/data-feeds/${feedId}`)).status).toBe(204);

    const again = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: token, duplicates: 'load_anyway', auto_create_products: true });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ status: 'queued', record_count: 100_000 });
    expect(await stagedRows(again.body!.feed_id as number)).toBe(100_000);
  });

  it('housekeeping marks every such feed failed, and leaves a feed whose commit is alive', async () => {
    const ctx = systemContext('test', app.db, app.log);
    const business = t.businessA;
    const insert = async () => (await app.db.pool.query<{ id: number }>(`INSERT INTO data_feeds (business_id, data_type, filename, status, summary) VALUES ($1, 'sales', 'orphan.csv', 'processing', '{"stage": "processing"}') RETURNING id`, [business])).rows[0]!.id;
    const orphan = await insert();
    const alive = await insert();
    const commitLock = await holdLock(`SELECT pg_advisory_xact_lock(hashtextextended('backhouse.feeds.commit:${alive}', 0))`);
    try {
      expect(await failInterruptedCommits(ctx)).toBe(1);
      const statuses = await app.db.pool.query<{ id: number; status: string }>(`SELECT id, status::text FROM data_feeds WHERE id = ANY($1::int[]) ORDER BY id`, [[orphan, alive]]);
      expect(statuses.rows).toEqual([
        { id: orphan, status: 'failed' },
        { id: alive, status: 'processing' },
      ]);
    } finally {
      await commitLock.release();
    }
    expect(await failInterruptedCommits(ctx)).toBe(1);
  });
});
