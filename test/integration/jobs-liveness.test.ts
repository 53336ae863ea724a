import { spawn, type ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScript } from '../../cli/build.js';
import { projectRoot } from '../../core/config.js';
import { storeUpload } from '../../core/feeds/uploads.js';
import { MAPPING_EXECUTE_QUEUE, requestExecution } from '../../core/mapping/execute.js';
import { WAREHOUSE_REFRESH_QUEUE } from '../../core/warehouse/views.js';
import { createJobReaper, runHoldingJobLock } from '../../jobs/liveness.js';
import { queues, type QueueDefinition } from '../../jobs/queues.js';
import { startJobs } from '../../jobs/runtime.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/**
 * Liveness of long jobs (jobs/liveness.ts): a job whose worker died is failed and retried at once by the
 * next worker, long before its expiry; a job whose worker is alive, even one that lost its connection for a
 * moment or has not yet taken its lock, is left alone.
 */
let app: TestApp;
let t: Tenants;
let worker: ChildProcess | null = null;

beforeAll(async () => {
  // Web only: no worker of the app's own runs (or reaps) jobs; each test starts the workers it needs.
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
}, 60_000);
afterAll(async () => {
  worker?.kill('SIGKILL');
  await app?.close();
});

interface JobRow {
  state: string;
  retry_count: number;
  output: Record<string, unknown> | null;
}
const jobRow = async (id: string) => (await app.db.pool.query<JobRow>('SELECT state::text, retry_count, output FROM pgboss.job WHERE id = $1', [id])).rows[0]!;

/** Waits until PostgreSQL shows a backend waiting for a lock with a statement matching `pattern` (SQL LIKE). */
async function waitForBlocked(pattern: string): Promise<void> {
  await expect
    .poll(async () => (await app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, [pattern])).rowCount, { timeout: 60_000, interval: 100 })
    .toBeGreaterThan(0);
}

describe('a worker process killed while it runs a mapping execution and a view refresh', () => {
  const rows = 6000;
  const csv = ['Order No,Customer,Date,Status,Total', ...Array.from({ length: rows }, (_, i) => `SO-${i},C${i % 37},2026-0${1 + (i % 6)}-${String(1 + (i % 28)).padStart(2, '0')},paid,${(i % 400) + 0.25}`)].join('\n');
  const expectedTotal = Array.from({ length: rows }, (_, i) => (i % 400) * 100 + 25).reduce((sum, cents) => sum + cents, 0);

  async function approvedDataSource(fingerprint: string): Promise<string> {
    const upload = await storeUpload(app.system, { businessId: t.businessA, dataType: 'data_source', filename: 'orders.csv', stream: Readable.from([Buffer.from(csv)]) }, { maxBytes: 10_000_000, ttlSeconds: null });
    const source = await app.db.pool.query<{ id: string }>(
      `INSERT INTO data_sources (business_id, name, filename, upload_token, header_fingerprint) VALUES ($1, 'ERP orders', 'orders.csv', $2, $3) RETURNING id`,
      [t.businessA, upload.token, fingerprint],
    );
    const version = await app.db.pool.query<{ id: string }>(
      `INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table, status, approved_by, approved_at) VALUES ($1, $3, 1, 'orders', 'approved', $2, now()) RETURNING id`,
      [t.businessA, t.users.admin.id, fingerprint],
    );
    const fields: [string, string, unknown[]][] = [
      ['Order No', 'order_ref', []],
      ['Customer', 'customer_ref', []],
      ['Date', 'order_date', [{ op: 'date_parse' }]],
      ['Status', 'status', []],
      ['Total', 'total_amount', []],
    ];
    for (const [position, [source, target, transforms]] of fields.entries()) {
      await app.db.pool.query('INSERT INTO field_mappings (mapping_version_id, position, source_column, target_column, transforms) VALUES ($1, $2, $3, $4, $5)', [version.rows[0]!.id, position, source, target, JSON.stringify(transforms)]);
    }
    return source.rows[0]!.id;
  }

  it('the next worker retries both within a minute, with the hour of their expiry still ahead, and the execution loads exactly the file', { timeout: 180_000 }, async () => {
    const dataSourceId = await approvedDataSource('fp-killed');
    // Hold both on their way: the execution's first batch upserting into canonical_orders, the refresh waiting
    // for its turn (the lock of core/warehouse/views.ts that refreshes take turns under).
    const blocker = new pg.Client({ connectionString: app.database.url });
    blocker.on('error', () => undefined);
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE canonical_orders IN SHARE MODE');
    await blocker.query(`SELECT pg_advisory_lock(hashtextextended('backhouse.warehouse.refresh', 0))`);

    const execution = await requestExecution(app.system, app.jobs, { dataSourceId });
    const refreshJob = (await app.jobs.send(WAREHOUSE_REFRESH_QUEUE, { trigger: 'manual', views: ['daily_revenue'] }))!;
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: app.database.url, LOG_LEVEL: 'warn', SEED_DEMO: 'false', NODE_ENV: 'test' };
    worker = spawn(process.execPath, [startScript, '--worker'], { cwd: projectRoot, env, stdio: 'ignore' });
    await waitForBlocked('%canonical_orders%');
    await waitForBlocked('SELECT pg_advisory_lock%');
    const status = async () => (await app.db.pool.query<{ status: string; rows_loaded: number }>('SELECT status, rows_loaded FROM mapping_executions WHERE id = $1', [execution.execution_id])).rows[0]!;
    expect((await status()).status).toBe('running');

    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    await blocker.end();
    // Nothing expires them for an hour: both stay active with no worker.
    expect(await jobRow(execution.job_id!)).toMatchObject({ state: 'active', retry_count: 0 });
    expect(await jobRow(refreshJob)).toMatchObject({ state: 'active', retry_count: 0 });

    const healthy = await startJobs(app.db, app.config, app.log, { work: true });
    try {
      const finishedWithinAMinute = { timeout: 60_000, interval: 250 };
      await expect.poll(async () => (await status()).status, finishedWithinAMinute).toBe('succeeded');
      await expect.poll(async () => (await jobRow(refreshJob)).state, finishedWithinAMinute).toBe('completed');
      expect(await jobRow(refreshJob)).toMatchObject({ retry_count: 1 });
      await expect.poll(async () => jobRow(execution.job_id!), { timeout: 10_000 }).toMatchObject({ state: 'completed', retry_count: 1 });

      expect((await status()).rows_loaded).toBe(rows);
      const loaded = await app.db.pool.query<{ n: number; cents: string }>('SELECT count(*)::int AS n, (sum(total_amount) * 100)::bigint::text AS cents FROM canonical_orders WHERE business_id = $1', [t.businessA]);
      expect(loaded.rows[0]).toEqual({ n: rows, cents: String(expectedTotal) });
      const refreshes = await app.db.pool.query<{ status: string }>(`SELECT status FROM refresh_jobs WHERE view_name = 'daily_revenue' AND trigger = 'manual' ORDER BY started_at`);
      expect(refreshes.rows.map((row) => row.status)).toEqual(['succeeded']);
    } finally {
      await healthy.stop();
    }
  });

  it('an execution whose worker died on its last attempt is marked failed, and its source can be executed again', async () => {
    const dataSourceId = await approvedDataSource('fp-given-up');
    const execution = await requestExecution(app.system, app.jobs, { dataSourceId });
    await claimLastAttempt(execution.job_id!, MAPPING_EXECUTE_QUEUE);
    const reaper = createJobReaper(app.db, app.jobs.boss, queues, app.log);
    await reaper.sweep();
    expect(await reaper.sweep()).toEqual([execution.job_id]);
    expect(await jobRow(execution.job_id!)).toMatchObject({ state: 'failed' });
    const failed = await app.db.pool.query<{ status: string; error: string }>('SELECT status, error FROM mapping_executions WHERE id = $1', [execution.execution_id]);
    expect(failed.rows[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/stopped on every attempt.*execute the source again/) });
    expect(await requestExecution(app.system, app.jobs, { dataSourceId })).toMatchObject({ status: 'queued' });
  });
});

/** Puts a queued job on its last attempt and claims it, as a worker that then died would have. */
async function claimLastAttempt(id: string, queue: string): Promise<void> {
  await app.db.pool.query('UPDATE pgboss.job SET retry_count = retry_limit WHERE id = $1', [id]);
  const [fetched] = await app.jobs.boss.fetch(queue);
  expect(fetched!.id).toBe(id);
}

describe('the reaper', () => {
  const queue = 'test.long';
  /** A long job whose handler runs until the test lets it finish. */
  function longQueue() {
    const runs: string[] = [];
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const definition: QueueDefinition = {
      name: queue,
      checkLiveness: true,
      options: { retryLimit: 2, retryDelay: 600 },
      concurrency: () => 1,
      handle: async (_ctx, job) => {
        runs.push(`${job.id}:${job.retryCount}`);
        await finished;
        return { done: true };
      },
    };
    return { definition, runs, finish };
  }
  beforeAll(async () => {
    await app.jobs.boss.createQueue(queue, { name: queue, retryLimit: 2, retryDelay: 600 });
  });
  /** Jobs handed to the queue's `abandon`: given up, their worker dead on their last attempt. */
  const abandoned: string[] = [];
  const reaper = () => createJobReaper(app.db, app.jobs.boss, [{ name: queue, checkLiveness: true, abandon: async (_ctx, job) => abandoned.push(job.id) }], app.log);
  const lockBackends = async () => (await app.db.pool.query<{ pid: number }>(`SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'backhouse-job-lock' AND a.datname = current_database()`)).rows.map((row) => row.pid);

  it('leaves a live long job alone, also while its worker takes its lock back after losing its connection', { timeout: 60_000 }, async () => {
    const long = longQueue();
    // The runtime's own reaper looks once at start, then not again during this test.
    const running = await startJobs(app.db, { ...app.config, JOB_LIVENESS_INTERVAL_SECONDS: 300 }, app.log, { work: true, definitions: [long.definition] });
    try {
      const id = (await running.send(queue, {}))!;
      await expect.poll(() => long.runs.length, { timeout: 20_000 }).toBe(1);
      await expect.poll(lockBackends, { timeout: 10_000 }).toHaveLength(1);
      const sweeps = reaper();
      expect(await sweeps.sweep()).toEqual([]);
      expect(await sweeps.sweep()).toEqual([]);

      // Its lock connection is cut (a network blip, a terminated backend): the worker takes the lock back.
      const [lost] = await lockBackends();
      await app.db.pool.query('SELECT pg_terminate_backend($1)', [lost]);
      expect(await sweeps.sweep()).toEqual([]);
      await expect.poll(async () => (await lockBackends()).filter((pid) => pid !== lost), { timeout: 10_000 }).toHaveLength(1);
      expect(await sweeps.sweep()).toEqual([]);
      expect(await sweeps.sweep()).toEqual([]);
      expect(await jobRow(id)).toMatchObject({ state: 'active', retry_count: 0 });

      long.finish();
      await expect.poll(async () => (await jobRow(id)).state, { timeout: 10_000 }).toBe('completed');
      expect(long.runs).toEqual([`${id}:0`]);
      // The lock went with the job.
      await expect.poll(lockBackends, { timeout: 10_000 }).toEqual([]);
    } finally {
      long.finish();
      await running.stop();
    }
  });

  it('fails a job whose worker is gone on its second look, so that it is retried at once, not after the backoff', { timeout: 60_000 }, async () => {
    const long = longQueue();
    long.finish();
    const id = (await app.jobs.send(queue, {}))!;
    // Fetched by a worker that died before it took its lock.
    const [fetched] = await app.jobs.boss.fetch(queue);
    expect(fetched!.id).toBe(id);
    const sweeps = reaper();
    expect(await sweeps.sweep()).toEqual([]);
    expect(await jobRow(id)).toMatchObject({ state: 'active' });
    expect(await sweeps.sweep()).toEqual([id]);
    expect(await jobRow(id)).toMatchObject({ state: 'retry', retry_count: 0, output: { message: expect.stringMatching(/worker running this job stopped/) } });
    expect(abandoned).toEqual([]);
    // A worker runs the retry at once, though the queue's retry delay is ten minutes.
    const running = await startJobs(app.db, app.config, app.log, { work: true, definitions: [long.definition] });
    try {
      await expect.poll(async () => jobRow(id), { timeout: 20_000 }).toMatchObject({ state: 'completed', retry_count: 1 });
      expect(long.runs).toEqual([`${id}:1`]);
    } finally {
      await running.stop();
    }
  });

  it('does not take for dead a worker that took its lock between two looks, and a job without retries left ends failed, its work abandoned', async () => {
    const sendFetched = async (options: { retryLimit: number }) => {
      const id = (await app.jobs.boss.send(queue, {}, options))!;
      const [fetched] = await app.jobs.boss.fetch<object>(queue, { includeMetadata: true });
      expect(fetched!.id).toBe(id);
      return fetched!;
    };
    const late = await sendFetched({ retryLimit: 2 });
    const sweeps = reaper();
    expect(await sweeps.sweep()).toEqual([]);
    // Its worker takes the lock now, after the first look.
    let release: () => void = () => undefined;
    let holding: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const run = runHoldingJobLock(app.db, late, app.log, async () => {
      holding();
      await new Promise<void>((resolve) => (release = resolve));
      return 'ran';
    });
    await held;
    expect(await sweeps.sweep()).toEqual([]);
    expect(await sweeps.sweep()).toEqual([]);
    release();
    expect(await run).toBe('ran');
    await app.jobs.boss.complete(queue, late.id);

    const last = await sendFetched({ retryLimit: 0 });
    expect(await sweeps.sweep()).toEqual([]);
    expect(await sweeps.sweep()).toEqual([last.id]);
    expect(await jobRow(last.id)).toMatchObject({ state: 'failed', retry_count: 0 });
    expect(abandoned).toEqual([last.id]);
  });

  it('a worker whose attempt was taken for dead before it got its lock does not run it', async () => {
    const id = (await app.jobs.boss.send(queue, {}, { retryLimit: 1 }))!;
    const [fetched] = await app.jobs.boss.fetch<object>(queue, { includeMetadata: true });
    expect(fetched!.id).toBe(id);
    const sweeps = reaper();
    await sweeps.sweep();
    expect(await sweeps.sweep()).toEqual([id]);
    let ran = false;
    const outcome = await runHoldingJobLock(app.db, fetched!, app.log, async () => (ran = true));
    expect(outcome).toMatchObject({ superseded: expect.stringMatching(/taken for dead before it started/) });
    expect(ran).toBe(false);
    expect(await jobRow(id)).toMatchObject({ state: 'retry' });
  });
});

describe('the queues that opt in', () => {
  it('are the long ones: feed loads, mapping executions and view refreshes', () => {
    expect(queues.filter((definition) => definition.checkLiveness).map((definition) => definition.name)).toEqual(
      expect.arrayContaining(['feeds.process', MAPPING_EXECUTE_QUEUE, WAREHOUSE_REFRESH_QUEUE, 'warehouse.refresh-changed', 'warehouse.refresh-nightly']),
    );
  });
});
