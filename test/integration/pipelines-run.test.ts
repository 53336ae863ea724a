import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor } from '../../core/context.js';
import { principalOf } from '../../core/auth/signIn.js';
import { createWebhook } from '../../core/notify/webhooks.js';
import { registerPipeline, unregisterPipeline } from '../../core/pipelines/registry.js';
import { getRun, retryFailedFiles, startFolderRun, storeTracking } from '../../core/pipelines/runs.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { countsPipeline, COUNTS_TABLE, createCountsTable, writeCountFiles } from '../helpers/pipelines.js';

let app: TestApp;
let t: Tenants;
let folder: string;
const stores = Array.from({ length: 30 }, (_, i) => `S${String(i + 1).padStart(2, '0')}`);
const DAY = '2026-11-20';

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-run-'));
  registerPipeline(countsPipeline({ exports: true }));
  app = await startTestApp({ PIPELINE_DATA_DIR: path.join(folder, 'data'), PIPELINE_FLUSH_SECONDS: '2' });
  t = await seedTenants(app.system);
  await createCountsTable(app.db);
  // 32 shops: the 30 that send files and two that never do.
  await app.db.pool.query(`INSERT INTO shops (business_id, name, code) SELECT $1, 'Shop ' || c, c FROM unnest($2::text[]) AS c`, [t.businessA, [...stores, 'S31', 'S32']]);
}, 120_000);
afterAll(async () => {
  await app?.close();
  unregisterPipeline('test_counts');
  fs.rmSync(folder, { recursive: true, force: true });
});

async function adminContext() {
  const user = await app.db.prisma.user.findUniqueOrThrow({ where: { id: t.users.admin.id } });
  return contextFor(principalOf(user), app.db, app.system.log);
}

describe('a run over a folder of 30 store files, one broken', () => {
  it('29 complete and 1 fails with a readable error; the day holds the 29; a retry after fixing it completes the run with all 30 and no duplicates', async () => {
    const input = path.join(folder, 'in');
    writeCountFiles(input, stores, 40, { store: 'S17', line: 6 });
    fs.writeFileSync(path.join(input, 'notes.txt'), 'not a counts file\n');
    const ctx = await adminContext();
    // A webhook subscribed to runs' ends: each end queues one delivery (sent by core/notify).
    const { webhook } = await createWebhook(ctx, { businessId: t.businessA, name: 'Run ends', url: 'http://127.0.0.1:9/hooks', eventTypes: ['pipeline.run.completed', 'pipeline.run.failed'] });
    const deliveries = async () =>
      (await app.db.pool.query<{ type: string; status: string; failed: number }>(`SELECT event_type AS type, payload->>'status' AS status, (payload->>'failed_files')::int AS failed FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id`, [webhook.id])).rows;
    const started = await startFolderRun(ctx, app.jobs, { pipelineName: 'test_counts', businessId: t.businessA, date: DAY, inputDir: input, trigger: 'cli' });
    expect(started.jobs).toHaveLength(30);
    expect(started.skipped.map((s) => s.name)).toEqual(['notes.txt']);
    expect(started.jobs.every((j) => j.storeId !== null)).toBe(true);

    await expect.poll(async () => (await getRun(ctx, started.run.id)).status, { timeout: 60_000, interval: 250 }).toBe('completed_with_errors');
    const run = await getRun(ctx, started.run.id);
    expect(run).toMatchObject({ totalFiles: 30, processedFiles: 29, failedFiles: 1, totalRows: 29 * 40 });
    const failed = run.fileJobs.filter((j) => j.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ storeCode: 'S17', retryCount: 3, error: 'Line 6: Qty "twelve" is not a whole number; correct the file and retry it.' });
    const held = await app.db.pool.query<{ stores: number; rows: number }>(`SELECT count(DISTINCT store_code)::int AS stores, count(*)::int AS rows FROM ${COUNTS_TABLE} WHERE business_id = $1 AND business_date = $2`, [t.businessA, DAY]);
    expect(held.rows[0]).toEqual({ stores: 29, rows: 29 * 40 });

    expect(await deliveries()).toEqual([{ type: 'pipeline.run.completed', status: 'completed_with_errors', failed: 1 }]);

    // The day's output, written once the run ended, holds the 29 stores; listed on the run.
    const outputFile = path.join(folder, 'data', 'outputs', t.businessA, 'test_counts', '20261120', 'counts_20261120.csv');
    await expect.poll(async () => (await getRun(ctx, started.run.id)).outputsStatus, { timeout: 30_000, interval: 250 }).toBe('written');
    expect((await getRun(ctx, started.run.id)).outputs).toMatchObject([{ name: 'counts', fileName: 'counts_20261120.csv', path: outputFile, rows: 29 * 40, bytes: fs.statSync(outputFile).size }]);
    expect(fs.readFileSync(outputFile, 'utf8').trim().split('\n')).toHaveLength(1 + 29 * 40);

    // Per-store tracking: S17 failed, S31 and S32 have not sent, the rest completed.
    const tracking = await storeTracking(ctx, { businessId: t.businessA, pipelineName: 'test_counts', date: DAY });
    const status = Object.fromEntries(tracking.filter((s) => s.storeCode).map((s) => [s.storeCode, s.status]));
    expect(status).toMatchObject({ S01: 'completed', S17: 'failed', S31: 'not_sent', S32: 'not_sent' });

    writeCountFiles(input, ['S17'], 40);
    const retried = await retryFailedFiles(ctx, app.jobs, { pipelineName: 'test_counts' });
    expect(retried.requeued.map((j) => j.storeCode)).toEqual(['S17']);
    await expect.poll(async () => (await getRun(ctx, started.run.id)).status, { timeout: 60_000, interval: 250 }).toBe('completed');
    const after = await app.db.pool.query<{ stores: number; rows: number; distinct: number }>(
      `SELECT count(DISTINCT store_code)::int AS stores, count(*)::int AS rows, count(DISTINCT (store_code, sku))::int AS distinct FROM ${COUNTS_TABLE} WHERE business_id = $1 AND business_date = $2`,
      [t.businessA, DAY],
    );
    expect(after.rows[0]).toEqual({ stores: 30, rows: 30 * 40, distinct: 30 * 40 });
    expect(await deliveries()).toEqual([
      { type: 'pipeline.run.completed', status: 'completed_with_errors', failed: 1 },
      { type: 'pipeline.run.completed', status: 'completed', failed: 0 },
    ]);
    const done = await getRun(ctx, started.run.id);
    expect(done).toMatchObject({ processedFiles: 30, failedFiles: 0, totalRows: 30 * 40 });
    // The retry that completed the run wrote the output again, with S17 in it.
    await expect.poll(async () => (await getRun(ctx, started.run.id)).outputs[0]?.rows, { timeout: 30_000, interval: 250 }).toBe(30 * 40);
    expect(fs.readFileSync(outputFile, 'utf8')).toContain('\nS17,SKU-0005,');
    expect(fs.readdirSync(path.dirname(outputFile))).toEqual(['counts_20261120.csv']);

    // The run's page and API list it, and it downloads; another business's ops does not see it.
    const admin = await apiClient(app.url, t.users.admin.email);
    const shown = await admin.call('GET', `/api/pipelines/runs/${started.run.id}`);
    expect(shown.body?.data).toMatchObject({ outputsStatus: 'written', outputs: [{ name: 'counts', rows: 30 * 40 }] });
    const download = await fetch(`${app.url}/api/pipelines/runs/${started.run.id}/outputs/counts`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toContain('counts_20261120.csv');
    expect(await download.text()).toBe(fs.readFileSync(outputFile, 'utf8'));
    expect((await admin.call('GET', `/api/pipelines/runs/${started.run.id}/outputs/complete`)).status).toBe(404);
    const opsB = await apiClient(app.url, t.users.opsB.email);
    expect((await opsB.call('GET', `/api/pipelines/runs/${started.run.id}/outputs/counts`)).status).toBe(404);
    const audit = await app.db.prisma.auditLog.findFirst({ where: { resource: 'pipelineRuns', recordId: started.run.id, action: 'retry' } });
    expect(audit).toMatchObject({ userId: t.users.admin.id });
    // Intermediate CSVs were written per flush.
    expect(fs.readdirSync(path.join(folder, 'data', 'intermediate', 'test_counts', '20261120')).length).toBeGreaterThan(0);
  }, 150_000);

  it('a re-run of the day replaces it whole: the day then holds only the new run\'s rows', async () => {
    const input = path.join(folder, 'rerun');
    writeCountFiles(input, stores.slice(0, 3), 10);
    const ctx = await adminContext();
    const started = await startFolderRun(ctx, app.jobs, { pipelineName: 'test_counts', businessId: t.businessA, date: DAY, inputDir: input, trigger: 'cli' });
    await expect.poll(async () => (await getRun(ctx, started.run.id)).status, { timeout: 60_000, interval: 250 }).toBe('completed');
    const day = await app.db.pool.query<{ runs: number; rows: number }>(`SELECT count(DISTINCT pipeline_run_id)::int AS runs, count(*)::int AS rows FROM ${COUNTS_TABLE} WHERE business_id = $1 AND business_date = $2`, [t.businessA, DAY]);
    expect(day.rows[0]).toEqual({ runs: 1, rows: 30 });
    // The new run wrote the day's output over the old one's; the old run says so.
    await expect.poll(async () => (await getRun(ctx, started.run.id)).outputs.map((o) => o.rows), { timeout: 30_000, interval: 250 }).toEqual([30]);
    const earlier = await app.db.pool.query<{ status: string; message: string; outputs: number }>(
      `SELECT outputs_status AS status, outputs_message AS message, (SELECT count(*)::int FROM pipeline_run_outputs o WHERE o.pipeline_run_id = r.id) AS outputs
         FROM pipeline_runs r WHERE business_id = $1 AND pipeline_name = 'test_counts' AND date = $2 AND id <> $3`,
      [t.businessA, DAY, started.run.id],
    );
    expect(earlier.rows).toEqual([{ status: 'superseded', message: `Run ${started.run.id} of the same day wrote these files again.`, outputs: 0 }]);
  }, 90_000);

  it('ops may not retry failed files', async () => {
    const user = await app.db.prisma.user.findUniqueOrThrow({ where: { id: t.users.opsA.id } });
    const ops = contextFor(principalOf(user), app.db, app.system.log);
    await expect(retryFailedFiles(ops, app.jobs, { pipelineName: 'test_counts' })).rejects.toMatchObject({ code: 'forbidden' });
  });
});
