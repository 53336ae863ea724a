import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../core/db/index.js';
import { createRun, failFileJobAttempt, queueFileJobs, settleRun, startFileJob } from '../../core/pipelines/lifecycle.js';
import { registerPipeline, unregisterPipeline } from '../../core/pipelines/registry.js';
import { createRecord } from '../../core/records/service.js';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { countsPipeline, createCountsTable } from '../helpers/pipelines.js';

let app: TestApp;
let t: Tenants;
let folder: string;
let runA: string;
let runB: string;
let opsShopA1: string;

/** A run with a completed file of shop A1 and a failed one of shop A2 (store ids as the watcher records them). */
async function runWithOneFailure(businessId: string, shops: [string, string | null]): Promise<string> {
  return withTransaction(app.db.pool, async (client) => {
    const run = await createRun(client, { businessId, pipelineName: 'test_counts', date: '2026-11-20', trigger: 'cli' });
    const [ok, bad] = await queueFileJobs(client, app.jobs, run, [
      { filePath: path.join(folder, `${businessId}-a.csv`), fileName: 'counts_a.csv', fileSize: 10, storeCode: 'A' },
      { filePath: path.join(folder, `${businessId}-b.csv`), fileName: 'counts_b.csv', fileSize: 10, storeCode: 'B' },
    ]);
    await client.query(`UPDATE pipeline_file_jobs SET store_id = CASE WHEN id = $1 THEN $2::uuid ELSE $3::uuid END WHERE pipeline_run_id = $4`, [ok!.id, shops[0], shops[1], run.id]);
    await startFileJob(client, ok!.id, 1);
    await client.query(`UPDATE pipeline_file_jobs SET status = 'completed', rows_processed = 7, duration_ms = 120, completed_at = now() WHERE id = $1`, [ok!.id]);
    await startFileJob(client, bad!.id, 3);
    await failFileJobAttempt(client, bad!.id, 'Line 2: Qty "x" is not a whole number.', true);
    await settleRun(client, run.id);
    return run.id;
  });
}

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-admin-'));
  registerPipeline(countsPipeline());
  // Web only: a retried job stays queued for the assertions.
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
  await createCountsTable(app.db);
  runA = await runWithOneFailure(t.businessA, [t.shopA1, t.shopA2]);
  runB = await runWithOneFailure(t.businessB, [t.shopB1, null]);
  opsShopA1 = ((await createRecord(app.system, 'users', { email: 'ops.a1@test.local', role: 'ops', businessId: t.businessA, shopIds: [t.shopA1], password: 'correct-horse-battery' })) as { email: string }).email;
}, 120_000);
afterAll(async () => {
  await app?.close();
  unregisterPipeline('test_counts');
  fs.rmSync(folder, { recursive: true, force: true });
});

const ids = (body: Record<string, any> | null) => (body?.records as { id: string }[]).map((record) => record.id);

describe('the pipelines in the admin', () => {
  it('lists runs and file jobs of the person’s business (and stores), read-only', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    expect(ids((await admin.call('GET', '/admin/api/resources/PipelineRun/actions/list')).body).sort()).toEqual([runA, runB].sort());
    const opsA = await adminClient(app.url, t.users.opsA.email);
    const runs = (await opsA.call('GET', '/admin/api/resources/PipelineRun/actions/list')).body!;
    expect(ids(runs)).toEqual([runA]);
    expect(runs.records[0].params).toMatchObject({ status: 'completed_with_errors', totalFiles: 2, failedFiles: 1, totalRows: 7 });
    expect((await opsA.call('GET', `/admin/api/resources/PipelineRun/records/${runB}/show`)).status).toBe(404);
    const jobs = (await opsA.call('GET', '/admin/api/resources/PipelineFileJob/actions/list?filters.status=failed')).body!;
    expect(jobs.records.map((r: { params: Record<string, unknown> }) => [r.params.fileName, r.params.error, r.params.attempts])).toEqual([['counts_b.csv', 'Line 2: Qty "x" is not a whole number.', 3]]);
    // Limited to shop A1: that store's file job only.
    const limited = await adminClient(app.url, opsShopA1);
    expect((await limited.call('GET', '/admin/api/resources/PipelineFileJob/actions/list')).body!.records.map((r: { params: Record<string, unknown> }) => r.params.storeCode)).toEqual(['A']);
    for (const action of ['new', 'edit', 'delete']) {
      const path = action === 'new' ? '/admin/api/resources/PipelineRun/actions/new' : `/admin/api/resources/PipelineRun/records/${runA}/${action}`;
      expect((await admin.call('POST', path, {})).status, action).toBe(403);
    }
    const manager = await adminClient(app.url, t.users.managerA.email);
    expect((await manager.call('GET', '/admin/api/resources/PipelineRun/actions/list')).status).toBe(403);
  });

  it('ops is refused Retry by the server; an admin’s Retry requeues only the failed file, audited', async () => {
    const opsA = await adminClient(app.url, t.users.opsA.email);
    expect((await opsA.call('POST', `/admin/api/resources/PipelineRun/records/${runA}/retry`)).status).toBe(403);
    expect((await app.db.pool.query(`SELECT status FROM pipeline_file_jobs WHERE pipeline_run_id = $1 AND file_name = 'counts_b.csv'`, [runA])).rows[0].status).toBe('failed');

    const admin = await adminClient(app.url, t.users.admin.email);
    const retried = await admin.call('POST', `/admin/api/resources/PipelineRun/records/${runA}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body!.notice).toEqual({ message: 'Retrying 1 failed file: counts_b.csv.', type: 'success' });
    const jobs = await app.db.pool.query(`SELECT file_name, status FROM pipeline_file_jobs WHERE pipeline_run_id = $1 ORDER BY file_name`, [runA]);
    expect(jobs.rows).toEqual([{ file_name: 'counts_a.csv', status: 'completed' }, { file_name: 'counts_b.csv', status: 'queued' }]);
    expect(await app.db.prisma.auditLog.count({ where: { resource: 'pipelineRuns', recordId: runA, action: 'retry', userId: t.users.admin.id } })).toBe(1);
  });

  it('an admin creates, edits and disables a source through the validated form, each audited; bad input says what and where', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const bad = await admin.call('POST', '/admin/api/resources/PipelineSource/actions/new', { businessId: t.businessA, name: 'Drops', kind: 'local', location: 'relative/folder', pollIntervalSeconds: '10' });
    expect(bad.body!.record.errors).toMatchObject({
      location: { message: 'must be a folder’s full path on the machine the workers run on (such as /srv/drops/stores)' },
      pollIntervalSeconds: { message: 'must be at least 60 seconds (the watcher looks every minute)' },
    });
    const missing = await admin.call('POST', '/admin/api/resources/PipelineSource/actions/new', { businessId: t.businessA, name: 'Drops', kind: 'local', location: path.join(folder, 'nowhere') });
    expect(missing.body!.record.errors.location.message).toMatch(/is not a folder on this machine .*nowhere.*: create it or correct the path/);
    const drive = await admin.call('POST', '/admin/api/resources/PipelineSource/actions/new', { businessId: t.businessA, name: 'Drive', kind: 'google_drive', location: 'not a folder' });
    expect(drive.body!.record.errors.location.message).toMatch(/Google Drive folder id/);
    expect((await app.db.pool.query(`SELECT count(*)::int AS n FROM pipeline_sources`)).rows[0].n).toBe(0);

    const created = await admin.call('POST', '/admin/api/resources/PipelineSource/actions/new', { businessId: t.businessA, name: 'Store drops', kind: 'local', location: folder, pollIntervalSeconds: '600' });
    const id = created.body!.record.id as string;
    expect(created.body!.record.params).toMatchObject({ name: 'Store drops', kind: 'local', location: folder, enabled: true, pollIntervalSeconds: 600 });
    const fromUrl = await admin.call('POST', '/admin/api/resources/PipelineSource/actions/new', { businessId: t.businessB, name: 'Drive', kind: 'google_drive', location: 'https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp?usp=sharing' });
    expect(fromUrl.body!.record.params).toMatchObject({ kind: 'google_drive', location: '1AbCdEfGhIjKlMnOp' });
    const twice = await admin.call('POST', '/admin/api/resources/PipelineSource/actions/new', { businessId: t.businessA, name: 'Store drops', kind: 'local', location: folder });
    expect(twice.body!.record.errors.name.message).toBe('is already used by another source of the business');

    const disabled = await admin.call('POST', `/admin/api/resources/PipelineSource/records/${id}/edit`, { name: 'Store drops', kind: 'local', location: folder, pollIntervalSeconds: '600', enabled: 'false' });
    expect(disabled.body!.record.params).toMatchObject({ enabled: false });
    expect((await app.db.pool.query(`SELECT enabled FROM pipeline_sources WHERE id = $1`, [id])).rows[0].enabled).toBe(false);
    const audits = await app.db.prisma.auditLog.findMany({ where: { resource: 'pipelineSources', recordId: id }, orderBy: { id: 'asc' } });
    expect(audits.map((a) => [a.action, a.userId])).toEqual([['create', t.users.admin.id], ['update', t.users.admin.id]]);
    expect(audits[1]!.before).toMatchObject({ enabled: true });
    expect(audits[1]!.after).toMatchObject({ enabled: false });

    // Ops sees their business's sources and may Run now, but may not create or edit one.
    const opsA = await adminClient(app.url, t.users.opsA.email);
    expect(ids((await opsA.call('GET', '/admin/api/resources/PipelineSource/actions/list')).body)).toEqual([id]);
    expect((await opsA.call('POST', `/admin/api/resources/PipelineSource/records/${id}/edit`, { name: 'Mine', enabled: 'true' })).status).toBe(403);
    expect((await opsA.call('POST', '/admin/api/resources/PipelineSource/actions/new', { name: 'Mine', location: folder })).status).toBe(403);
    const polled = await opsA.call('POST', `/admin/api/resources/PipelineSource/records/${id}/runNow`);
    expect(polled.body!.notice).toEqual({ message: 'Source polled: 0 new or changed files, 0 queued, 0 unrouted.', type: 'success' });
    expect(await app.db.prisma.auditLog.count({ where: { resource: 'pipelineSources', recordId: id, action: 'run_now', userId: t.users.opsA.id } })).toBe(1);
  });
});
