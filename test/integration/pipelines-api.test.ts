import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../core/db/index.js';
import { createRun, failFileJobAttempt, queueFileJobs, settleRun, startFileJob } from '../../core/pipelines/lifecycle.js';
import { registerPipeline, unregisterPipeline } from '../../core/pipelines/registry.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { countsPipeline, createCountsTable } from '../helpers/pipelines.js';

let app: TestApp;
let t: Tenants;
let folder: string;
let runA: string;
let runB: string;

/** A run of business `businessId` with one completed and one failed file job, moved through the lifecycle. */
async function runWithOneFailure(businessId: string, date: string): Promise<string> {
  return withTransaction(app.db.pool, async (client) => {
    const run = await createRun(client, { businessId, pipelineName: 'test_counts', date, trigger: 'cli' });
    const [ok, bad] = await queueFileJobs(client, app.jobs, run, [
      { filePath: path.join(folder, `${date}-a.csv`), fileName: 'counts_a.csv', fileSize: 10, storeCode: 'A' },
      { filePath: path.join(folder, `${date}-b.csv`), fileName: 'counts_b.csv', fileSize: 10, storeCode: 'B' },
    ]);
    await startFileJob(client, ok!.id, 1);
    await client.query(`UPDATE pipeline_file_jobs SET status = 'completed', rows_processed = 7, duration_ms = 120, completed_at = now() WHERE id = $1`, [ok!.id]);
    await startFileJob(client, bad!.id, 3);
    await failFileJobAttempt(client, bad!.id, 'Line 2: Qty "x" is not a whole number.', true);
    await settleRun(client, run.id);
    return run.id;
  });
}

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-api-'));
  registerPipeline(countsPipeline());
  // Web only: the retried job stays queued for the assertions.
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
  await createCountsTable(app.db);
  runA = await runWithOneFailure(t.businessA, '2026-11-20');
  runB = await runWithOneFailure(t.businessB, '2026-11-20');
}, 120_000);
afterAll(async () => {
  await app?.close();
  unregisterPipeline('test_counts');
  fs.rmSync(folder, { recursive: true, force: true });
});

describe('the run and file job lifecycle', () => {
  it('a run with a completed and a failed file is completed_with_errors, its counts from its jobs', async () => {
    const run = await app.db.pool.query(`SELECT status, total_files, processed_files, failed_files, total_rows::int AS rows, completed_at IS NOT NULL AS done FROM pipeline_runs WHERE id = $1`, [runA]);
    expect(run.rows[0]).toEqual({ status: 'completed_with_errors', total_files: 2, processed_files: 1, failed_files: 1, rows: 7, done: true });
  });

  it('an attempt that will be retried goes back to queued with its error kept; the last one fails; a failed job is not started again', async () => {
    await withTransaction(app.db.pool, async (client) => {
      const run = await createRun(client, { businessId: t.businessA, pipelineName: 'test_counts', date: '2026-11-19', trigger: 'cli' });
      const [job] = await queueFileJobs(client, app.jobs, run, [{ filePath: '/x/counts_z.csv', fileName: 'counts_z.csv', fileSize: 1, storeCode: null }]);
      expect((await startFileJob(client, job!.id, 1))?.status).toBe('processing');
      expect(await failFileJobAttempt(client, job!.id, 'first try', false)).toBe('queued');
      expect((await settleRun(client, run.id)).run.status).toBe('processing');
      expect((await startFileJob(client, job!.id, 2))?.retryCount).toBe(2);
      expect(await failFileJobAttempt(client, job!.id, 'last try', true)).toBe('failed');
      const settled = await settleRun(client, run.id);
      expect(settled).toMatchObject({ run: { status: 'failed', failedFiles: 1 }, finishedFrom: 'processing' });
      expect(await startFileJob(client, job!.id, 3)).toBeNull();
      // Settling again does not announce the end twice.
      expect((await settleRun(client, run.id)).finishedFrom).toBeNull();
      // The same file queued again (it changed at its source) reopens the run.
      const again = await queueFileJobs(client, app.jobs, run, [{ filePath: '/x/counts_z.csv', fileName: 'counts_z.csv', fileSize: 2, storeCode: null }]);
      expect(again.map((j) => j.id)).toEqual([job!.id]);
      expect((await settleRun(client, run.id)).run.status).toBe('processing');
      // One pg-boss job per queueing, sent in this transaction.
      const sent = await client.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'pipeline.test_counts' AND data->>'fileJobId' = $1`, [job!.id]);
      expect(sent.rows[0].n).toBe(2);
    });
  });
});

describe('the pipelines API, scoped and role-checked', () => {
  it('GET /api/pipelines gives each pipeline\'s files, rows, errors, latency and last processed time', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const res = await ops.call('GET', '/api/pipelines?date=2026-11-20');
    expect(res.status).toBe(200);
    const counts = res.body!.data.find((p: { name: string }) => p.name === 'test_counts');
    // Business A's only: business B's run is not counted.
    expect(counts).toMatchObject({ filesProcessed: 1, rowsProcessed: 7, errorCount: 1, averageLatencyMs: 120 });
    expect(counts.lastProcessedAt).toBeTruthy();
    expect(counts.todayRuns.map((r: { id: string }) => r.id)).toEqual([runA]);
    expect(res.body!.data.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['stock_health', 'po_snapshot']));
  });

  it('GET /api/pipelines/runs lists the caller\'s business\'s runs with filters; admins see every business', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const own = await ops.call('GET', '/api/pipelines/runs?pipeline=test_counts&status=completed_with_errors&from=2026-11-20&to=2026-11-20');
    expect(own.status).toBe(200);
    expect(own.body!.data.map((r: { id: string }) => r.id)).toEqual([runA]);
    const admin = await apiClient(app.url, t.users.admin.email);
    const all = await admin.call('GET', '/api/pipelines/runs?from=2026-11-20&to=2026-11-20');
    expect(all.body!.data.map((r: { id: string }) => r.id).sort()).toEqual([runA, runB].sort());
    expect((await ops.call('GET', '/api/pipelines/runs?status=exploded')).status).toBe(400);
  });

  it('GET /api/pipelines/runs/:id shows a run of the caller\'s business with its file jobs, and no other business\'s', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const res = await ops.call('GET', `/api/pipelines/runs/${runA}`);
    expect(res.status).toBe(200);
    expect(res.body!.data.fileJobs.map((j: { status: string; error: string | null }) => [j.status, j.error])).toEqual([
      ['failed', 'Line 2: Qty "x" is not a whole number.'],
      ['completed', null],
    ]);
    expect((await ops.call('GET', `/api/pipelines/runs/${runB}`)).status).toBe(404);
    expect((await ops.call('GET', '/api/pipelines/runs/not-a-run')).status).toBe(404);
  });

  it('managers may not see pipeline runs; anonymous callers are refused', async () => {
    const manager = await apiClient(app.url, t.users.managerA.email);
    expect((await manager.call('GET', '/api/pipelines')).status).toBe(403);
    expect((await manager.call('GET', `/api/pipelines/runs/${runA}`)).status).toBe(403);
    expect((await fetch(`${app.url}/api/pipelines/runs`)).status).toBe(401);
  });

  it('only admins retry: ops get 403; an admin\'s retry requeues only the failed file and is audited', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    expect((await ops.call('POST', `/api/pipelines/runs/${runA}/retry`)).status).toBe(403);
    const admin = await apiClient(app.url, t.users.admin.email);
    const res = await admin.call('POST', `/api/pipelines/runs/${runA}/retry`);
    expect(res.status).toBe(202);
    expect(res.body!.data.requeued).toHaveLength(1);
    expect(res.body!.data.run.status).toBe('processing');
    const jobs = await app.db.pool.query(`SELECT store_code, status FROM pipeline_file_jobs WHERE pipeline_run_id = $1 ORDER BY store_code`, [runA]);
    expect(jobs.rows).toEqual([{ store_code: 'A', status: 'completed' }, { store_code: 'B', status: 'queued' }]);
    expect(await app.db.prisma.auditLog.count({ where: { resource: 'pipelineRuns', recordId: runA, action: 'retry', userId: t.users.admin.id } })).toBe(1);
    // Nothing failed is left: a second retry is refused with the reason.
    expect((await admin.call('POST', `/api/pipelines/runs/${runA}/retry`)).status).toBe(409);
  });
});
