import { startScript } from '../../cli/build.js';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/config.js';
import { createJobReaper } from '../../jobs/liveness.js';
import { queues } from '../../jobs/queues.js';
import { startJobs } from '../../jobs/runtime.js';
import { adminClient, apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { callJson, loadLeftovers, uploadPreview, waitForFeed } from '../helpers/feeds.js';

/**
 * A worker process killed (SIGKILL) in the middle of loading a feed: no partial facts are visible, the
 * next worker takes the job for dead (its lock is free) long before the job's hour is up and retries it,
 * and the totals then match a clean run. The feed is large enough for a fact partition of its own
 * (FEED_PARTITION_MIN_ROWS), the path large files take.
 */
let app: TestApp;
let t: Tenants;
let ops: string;
let worker: ChildProcess | null = null;

beforeAll(async () => {
  app = await startTestApp({ FEED_PARTITION_MIN_ROWS: '1000' }, 'web');
  expect(app.config.FEED_JOB_TIMEOUT_SECONDS).toBe(3600);
  t = await seedTenants(app.system);
  ops = (await apiClient(app.url, t.users.opsA.email)).token;
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await app?.close();
});

const csv = ['product_name,quantity,price,transaction_date,discount', ...Array.from({ length: 3000 }, (_, i) => `Croissant,${1 + (i % 5)},2.95,2025-09-${String(1 + (i % 28)).padStart(2, '0')},${i % 4 === 0 ? '0.25' : '0'}`)].join('\n');

async function commitFile(): Promise<number> {
  const preview = await uploadPreview(app.url, ops, { name: 'crash.csv', bytes: Buffer.from(csv) });
  const commit = await callJson(app.url, ops, 'POST', '/dashboard/data-feeds/commit', { upload_token: preview.body.upload_token, duplicates: 'load_anyway' });
  expect(commit.status).toBe(202);
  return commit.body!.feed_id as number;
}

const totals = async (feedId: number) =>
  (await app.db.pool.query('SELECT count(*)::int AS n, sum(gross_revenue)::text AS revenue, sum(cogs_amount)::text AS cogs, sum(gross_margin_amount)::text AS margin FROM fact_sales WHERE data_feed_id = $1', [feedId])).rows[0];

describe('a worker killed during the load', () => {
  it('leaves no partial facts, and the next worker retries the job within a minute and loads exactly what a clean run does', { timeout: 180_000 }, async () => {
    const feedId = await commitFile();
    // No worker yet: the staged rows wait, and admins (only) can inspect them in the admin.
    const admin = await adminClient(app.url, t.users.admin.email);
    const staged = await admin.call('GET', `/admin/api/resources/StagedSalesRow/actions/list?filters.dataFeedId=${feedId}&perPage=5`);
    expect(staged.status).toBe(200);
    expect(staged.body!.meta.total).toBe(3000);
    expect(staged.body!.records[0].params).toMatchObject({ dataFeedId: feedId, productName: 'Croissant' });
    const shown = await admin.call('GET', `/admin/api/resources/StagedSalesRow/records/${feedId}:2/show`);
    expect(shown.body!.record.params).toMatchObject({ rowNumber: 2, transactionDate: '2025-09-01' });
    expect((await (await adminClient(app.url, t.users.opsA.email)).call('GET', '/admin/api/resources/StagedSalesRow/actions/list')).status).toBe(403);
    // Hold the load where it attaches the feed's partition, after its facts are written in its transaction
    // (the lock taken here conflicts with the attach only).
    const blocker = new pg.Client({ connectionString: app.database.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE fact_sales IN SHARE UPDATE EXCLUSIVE MODE');

    const { FEED_JOB_TIMEOUT_SECONDS: _default, ...inherited } = process.env;
    const env: NodeJS.ProcessEnv = { ...inherited, DATABASE_URL: app.database.url, FEED_PARTITION_MIN_ROWS: '1000', LOG_LEVEL: 'warn', SEED_DEMO: 'false', NODE_ENV: 'test' };
    worker = spawn(process.execPath, [startScript, '--worker'], { cwd: projectRoot, env, stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const waiting = await app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE fact_sales ATTACH PARTITION%'`);
      if (waiting.rowCount) break;
      if (Date.now() > deadline) throw new Error('the worker never reached the end of the load');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const during = await app.db.pool.query<{ status: string }>('SELECT status::text FROM data_feeds WHERE id = $1', [feedId]);
    expect(during.rows[0]!.status).toBe('transforming');

    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    await blocker.query('ROLLBACK');
    await blocker.end();

    // The dead worker's transaction never committed: nothing of it is visible, staging is intact.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await totals(feedId)).n).toBe(0);
    expect((await app.db.pool.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [`fact_sales_feed_${feedId}`])).rowCount).toBe(0);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM staging_sales_items WHERE data_feed_id = $1', [feedId])).rows[0].n).toBe(3000);
    // What it had written was in pieces not attached to anything: invisible, as the count above shows.
    expect((await loadLeftovers(app.db.pool, feedId)).filter((table) => table.startsWith(`fact_sales_feed_${feedId}_p`))).toHaveLength(2);

    // Its job is still active, with the hour of its expiry ahead of it.
    const job = async () =>
      (await app.db.pool.query<{ state: string; retry_count: number }>(`SELECT state::text, retry_count FROM pgboss.job WHERE name = 'feeds.process' AND data->>'feedId' = $1`, [String(feedId)])).rows[0]!;
    expect(await job()).toEqual({ state: 'active', retry_count: 0 });

    // The next worker finds the job's worker gone and retries it at once: the feed is loaded within a minute.
    const healthy = await startJobs(app.db, app.config, app.log, { work: true });
    try {
      const retried = await waitForFeed(app.url, ops, feedId, 60_000);
      expect(retried.status).toBe('transformed');
      await expect.poll(job, { timeout: 10_000 }).toEqual({ state: 'completed', retry_count: 1 });
      const clean = await commitFile();
      await waitForFeed(app.url, ops, clean, 60_000);
      const crashed = await totals(feedId);
      expect(crashed.n).toBe(3000);
      // The dead attempt had committed the pieces of the partition it was attaching: the retry dropped them.
      expect(await loadLeftovers(app.db.pool, feedId)).toEqual([]);
      const { n: _n, ...money } = crashed;
      const { n: _m, ...cleanMoney } = await totals(clean);
      expect(money).toEqual(cleanMoney);
    } finally {
      await healthy.stop();
    }
  });

  it('a feed whose worker died on the last attempt is marked failed with what happened, and can be re-run', { timeout: 60_000 }, async () => {
    const feedId = await commitFile();
    const job = (await app.db.pool.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = 'feeds.process' AND data->>'feedId' = $1`, [String(feedId)])).rows[0]!.id;
    // Its last attempt, claimed by a worker that then died.
    await app.db.pool.query('UPDATE pgboss.job SET retry_count = retry_limit WHERE id = $1', [job]);
    const [fetched] = await app.jobs.boss.fetch('feeds.process');
    expect(fetched!.id).toBe(job);
    const reaper = createJobReaper(app.db, app.jobs.boss, queues, app.log);
    await reaper.sweep();
    expect(await reaper.sweep()).toEqual([job]);

    const status = await callJson(app.url, ops, 'GET', `/dashboard/data-feeds/${feedId}/transform-status`);
    expect(status.body).toMatchObject({ status: 'failed', summary: { stage: 'failed', error: { code: 'load_interrupted', message: expect.stringMatching(/stopped on every attempt.*Re-run the feed/), trace_id: job } } });
    const admin = (await apiClient(app.url, t.users.admin.email)).token;
    const rerun = await callJson(app.url, admin, 'POST', `/dashboard/data-feeds/${feedId}/rerun`);
    expect(rerun.status).toBe(202);
    expect(rerun.body).toMatchObject({ feed_id: feedId, status: 'queued' });
  });
});
