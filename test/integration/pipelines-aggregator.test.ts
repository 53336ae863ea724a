import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../core/db/index.js';
import { StreamingAggregator, type FlushOutcome } from '../../core/pipelines/aggregator.js';
import { createRun, queueFileJobs, startFileJob } from '../../core/pipelines/lifecycle.js';
import type { OutputRow } from '../../core/pipelines/pipeline.js';
import { registerPipeline, unregisterPipeline } from '../../core/pipelines/registry.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { countsPipeline, COUNTS_TABLE, createCountsTable } from '../helpers/pipelines.js';

let app: TestApp;
let t: Tenants;
let dataDir: string;
const pipeline = countsPipeline({ name: 'test_counts_agg' });

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-agg-'));
  registerPipeline(pipeline);
  // Web only: the jobs stay queued, the test plays the worker.
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
  await createCountsTable(app.db);
}, 120_000);
afterAll(async () => {
  await app?.close();
  unregisterPipeline(pipeline.name);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function aggregator(settings: { maxFiles?: number; maxBytes?: number; maxWaitMs?: number }) {
  return new StreamingAggregator({ db: app.db, log: app.system.log, dataDir, settingsOf: () => ({ maxFiles: 5, maxBytes: 10 * 1024 * 1024, maxWaitMs: 300_000, ...settings }) });
}

/** A run of the day with `files` file jobs, each started (processing) as a worker would. */
async function runWithJobs(date: string, files: number) {
  return withTransaction(app.db.pool, async (client) => {
    const run = await createRun(client, { businessId: t.businessA, pipelineName: pipeline.name, date, trigger: 'cli' });
    const jobs = await queueFileJobs(client, app.jobs, run, Array.from({ length: files }, (_, i) => ({ filePath: `/in/${date}/counts_${i}.csv`, fileName: `counts_${i}.csv`, fileSize: 1, storeCode: `S${i}` })));
    for (const job of jobs) await startFileJob(client, job.id, 1);
    return { run, jobs };
  });
}

function rowsFor(store: string, count: number): OutputRow[] {
  return Array.from({ length: count }, (_, i) => ({ output: COUNTS_TABLE, values: { store_code: store, sku: `SKU-${i}`, qty: i } }));
}

async function dayRows(date: string): Promise<{ rows: number; runs: number }> {
  const result = await app.db.pool.query<{ rows: number; runs: number }>(`SELECT count(*)::int AS rows, count(DISTINCT pipeline_run_id)::int AS runs FROM ${COUNTS_TABLE} WHERE business_id = $1 AND business_date = $2`, [t.businessA, date]);
  return result.rows[0]!;
}

/** Whether a promise has settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([promise.then(() => true, () => true), new Promise((resolve) => setImmediate(() => resolve(marker)))])) !== marker;
}

describe('the streaming aggregator', () => {
  it('flushes when the fifth file of a day is buffered, not before, writing one intermediate CSV and completing the run', async () => {
    const { run, jobs } = await runWithJobs('2026-11-01', 5);
    const agg = aggregator({ maxFiles: 5 });
    const day = { businessId: t.businessA, businessDate: '2026-11-01', runId: run.id };
    const waiting: Promise<FlushOutcome>[] = [];
    for (const [i, job] of jobs.slice(0, 4).entries()) waiting.push(agg.add(pipeline, day, { fileJobId: job.id, rows: rowsFor(`S${i}`, 3), startedAt: Date.now() }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await settled(Promise.race(waiting))).toBe(false);
    expect(await dayRows('2026-11-01')).toEqual({ rows: 0, runs: 0 });
    waiting.push(agg.add(pipeline, day, { fileJobId: jobs[4]!.id, rows: rowsFor('S4', 3), startedAt: Date.now() }));
    const outcomes = await Promise.all(waiting);
    expect(outcomes[0]).toMatchObject({ reason: 'files', files: 5, rows: 15, wroteSnapshot: true });
    expect(outcomes[0]!.csvFiles).toHaveLength(1);
    const csv = fs.readFileSync(outcomes[0]!.csvFiles[0]!, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('business_id,business_date,pipeline_run_id,file_job_id,store_code,sku,qty');
    expect(csv).toHaveLength(16);
    expect(await dayRows('2026-11-01')).toEqual({ rows: 15, runs: 1 });
    const status = await app.db.pool.query<{ status: string; processed: number }>(`SELECT status, processed_files AS processed FROM pipeline_runs WHERE id = $1`, [run.id]);
    expect(status.rows[0]).toEqual({ status: 'completed', processed: 5 });
  });

  it('flushes once the buffered rows reach the byte limit', async () => {
    const { run, jobs } = await runWithJobs('2026-11-02', 2);
    const agg = aggregator({ maxBytes: 20_000 });
    const day = { businessId: t.businessA, businessDate: '2026-11-02', runId: run.id };
    const small = agg.add(pipeline, day, { fileJobId: jobs[0]!.id, rows: rowsFor('S0', 10), startedAt: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await settled(small)).toBe(false);
    // ~100 bytes a line: 300 lines pass 20 KB.
    const large = agg.add(pipeline, day, { fileJobId: jobs[1]!.id, rows: rowsFor('S1', 300), startedAt: Date.now() });
    expect(await large).toMatchObject({ reason: 'bytes', files: 2, rows: 310 });
    expect(await small).toMatchObject({ reason: 'bytes' });
    expect(await dayRows('2026-11-02')).toEqual({ rows: 310, runs: 1 });
  });

  it('flushes after the wait time with fewer files and bytes than the limits', async () => {
    const { run, jobs } = await runWithJobs('2026-11-03', 1);
    const agg = aggregator({ maxWaitMs: 300 });
    const outcome = await agg.add(pipeline, { businessId: t.businessA, businessDate: '2026-11-03', runId: run.id }, { fileJobId: jobs[0]!.id, rows: rowsFor('S0', 4), startedAt: Date.now() });
    expect(outcome).toMatchObject({ reason: 'time', files: 1, rows: 4 });
    expect(await dayRows('2026-11-03')).toEqual({ rows: 4, runs: 1 });
  });

  it('flushes at once when every worker of the pipeline waits on it', async () => {
    const { run, jobs } = await runWithJobs('2026-11-04', 2);
    const agg = aggregator({});
    const day = { businessId: t.businessA, businessDate: '2026-11-04', runId: run.id };
    const releases = [agg.track(pipeline.name), agg.track(pipeline.name)];
    const first = agg.add(pipeline, day, { fileJobId: jobs[0]!.id, rows: rowsFor('S0', 2), startedAt: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await settled(first)).toBe(false);
    const second = agg.add(pipeline, day, { fileJobId: jobs[1]!.id, rows: rowsFor('S1', 2), startedAt: Date.now() });
    expect(await second).toMatchObject({ reason: 'idle', files: 2 });
    for (const release of releases) release();
  });

  it('replaces a day atomically: a reader during the swap sees the old day or the new one, never a mix or a gap', async () => {
    const date = '2026-11-05';
    const old = await runWithJobs(date, 1);
    await aggregator({ maxFiles: 1 }).add(pipeline, { businessId: t.businessA, businessDate: date, runId: old.run.id }, { fileJobId: old.jobs[0]!.id, rows: rowsFor('S0', 1000), startedAt: Date.now() });
    expect(await dayRows(date)).toEqual({ rows: 1000, runs: 1 });

    const next = await runWithJobs(date, 2);
    const agg = aggregator({ maxFiles: 2 });
    const day = { businessId: t.businessA, businessDate: date, runId: next.run.id };
    const seen = new Set<string>();
    let swapping = true;
    const reader = (async () => {
      while (swapping) {
        const r = await dayRows(date);
        seen.add(`${r.rows}/${r.runs}`);
      }
    })();
    const flushes = [
      agg.add(pipeline, day, { fileJobId: next.jobs[0]!.id, rows: rowsFor('S0', 60_000), startedAt: Date.now() }),
      agg.add(pipeline, day, { fileJobId: next.jobs[1]!.id, rows: rowsFor('S1', 60_000), startedAt: Date.now() }),
    ];
    await Promise.all(flushes);
    swapping = false;
    await reader;
    seen.add(`${(await dayRows(date)).rows}/${(await dayRows(date)).runs}`);
    expect([...seen].sort()).toEqual(['1000/1', '120000/1']);
    const runs = await app.db.pool.query<{ id: string; status: string }>(`SELECT id, status FROM pipeline_runs WHERE id = ANY($1::uuid[]) ORDER BY created_at`, [[old.run.id, next.run.id]]);
    expect(runs.rows.map((r) => r.status)).toEqual(['completed', 'completed']);
  }, 60_000);
  it("adds a run's later flushes to its day, replaces a file processed again, keeps an older run's late file out, and never doubles a file flushed twice at once", async () => {
    const date = '2026-11-06';
    const first = await runWithJobs(date, 3);
    const dayOf = (runId: string) => ({ businessId: t.businessA, businessDate: date, runId });
    const add = (runId: string, fileJobId: string, store: string, rows: number) => aggregator({ maxFiles: 1 }).add(pipeline, dayOf(runId), { fileJobId, rows: rowsFor(store, rows), startedAt: Date.now() });
    await add(first.run.id, first.jobs[0]!.id, 'S0', 10);
    // The run owns the day now: this flush copies without deleting (before the day's lock).
    await add(first.run.id, first.jobs[1]!.id, 'S1', 20);
    expect(await dayRows(date)).toEqual({ rows: 30, runs: 1 });

    // S0's file changed at its source: the same file job is queued and processed again, its rows replaced.
    await withTransaction(app.db.pool, async (client) => {
      const [again] = await queueFileJobs(client, app.jobs, first.run, [{ filePath: `/in/${date}/counts_0.csv`, fileName: 'counts_0.csv', fileSize: 2, storeCode: 'S0' }]);
      expect(again?.id).toBe(first.jobs[0]!.id);
      await startFileJob(client, again!.id, 1);
    });
    await add(first.run.id, first.jobs[0]!.id, 'S0', 5);
    expect(await dayRows(date)).toEqual({ rows: 25, runs: 1 });

    // A newer run of the day exists: the older run's late file completes its job but stays out of the day.
    const second = await runWithJobs(date, 2);
    expect(await add(first.run.id, first.jobs[2]!.id, 'S2', 7)).toMatchObject({ wroteSnapshot: false });
    expect(await dayRows(date)).toEqual({ rows: 25, runs: 1 });

    await add(second.run.id, second.jobs[0]!.id, 'S0', 4);
    expect(await dayRows(date)).toEqual({ rows: 4, runs: 1 });
    // Two workers flush one file at once (two attempts of it): its rows land once; a flush that finds it
    // completed by the other fails (and is retried), or replaces the rows.
    const twice = await Promise.allSettled([add(second.run.id, second.jobs[1]!.id, 'S1', 6), add(second.run.id, second.jobs[1]!.id, 'S1', 6)]);
    expect(twice.filter((outcome) => outcome.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    for (const outcome of twice) if (outcome.status === 'rejected') expect(String(outcome.reason)).toMatch(/completed by another worker/);
    expect(await dayRows(date)).toEqual({ rows: 10, runs: 1 });
    const status = await app.db.pool.query<{ status: string }>(`SELECT status FROM pipeline_runs WHERE id = $1`, [second.run.id]);
    expect(status.rows[0]?.status).toBe('completed');
  }, 60_000);
});
