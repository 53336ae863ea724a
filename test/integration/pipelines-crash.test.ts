import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/config.js';
import { registerPipeline, unregisterPipeline } from '../../core/pipelines/registry.js';
import { getRun, startFolderRun } from '../../core/pipelines/runs.js';
import { pipelineQueueDefinitions } from '../../jobs/pipelines.js';
import { startJobs, type JobRuntime } from '../../jobs/runtime.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { countsPipeline, COUNTS_TABLE, createCountsTable, writeCountFiles } from '../helpers/pipelines.js';

/**
 * A worker process killed (SIGKILL) in the middle of a file: the file job's rows were only in its memory,
 * so nothing of that file is in the day; the next worker takes the attempt for dead (its liveness lock is
 * free), pg-boss retries it, the run completes, and the day equals a clean run's.
 */
let app: TestApp;
let t: Tenants;
let folder: string;
let worker: ChildProcess | null = null;
let healthy: JobRuntime | null = null;

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-crash-'));
  registerPipeline(countsPipeline());
  app = await startTestApp({ PIPELINE_DATA_DIR: path.join(folder, 'data'), JOB_LIVENESS_INTERVAL_SECONDS: '1' }, 'web');
  t = await seedTenants(app.system);
  await createCountsTable(app.db);
}, 120_000);
afterAll(async () => {
  worker?.kill('SIGKILL');
  await healthy?.stop();
  await app?.close();
  unregisterPipeline('test_counts');
  fs.rmSync(folder, { recursive: true, force: true });
});

const dayRows = async (date: string) =>
  (await app.db.pool.query<{ store_code: string; sku: string; qty: number }>(`SELECT store_code, sku, qty FROM ${COUNTS_TABLE} WHERE business_id = $1 AND business_date = $2 ORDER BY store_code, sku`, [t.businessA, date])).rows;

describe('a pipeline worker killed in the middle of a file', () => {
  it('after a restart the run completes and the day equals a clean run\'s', { timeout: 180_000 }, async () => {
    const input = path.join(folder, 'in');
    writeCountFiles(input, ['K1', 'K2', 'K3', 'K4'], 30);
    const started = await startFolderRun(app.system, app.jobs, { pipelineName: 'test_counts', businessId: t.businessA, date: '2026-11-21', inputDir: input, trigger: 'cli' });

    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: app.database.url, LOG_LEVEL: 'warn', NODE_ENV: 'test', TEST_DELAY_PER_ROW_MS: '100', PIPELINE_DATA_DIR: path.join(folder, 'data') };
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'test/helpers/pipeline-worker.ts')], { cwd: projectRoot, env, stdio: 'ignore' });
    // In the middle of a file: an attempt started a second ago reads a row every 100 ms, 30 rows a file.
    await expect.poll(async () => (await app.db.pool.query(`SELECT count(*)::int AS n FROM pipeline_file_jobs WHERE pipeline_run_id = $1 AND status = 'processing' AND started_at < now() - interval '1 second'`, [started.run.id])).rows[0].n, { timeout: 60_000, interval: 100 }).toBeGreaterThan(0);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    worker = null;
    expect((await getRun(app.system, started.run.id)).status).toBe('processing');
    expect(await dayRows('2026-11-21')).toEqual([]);

    healthy = await startJobs(app.db, app.config, app.log, { work: true, definitions: pipelineQueueDefinitions(app.config) });
    await expect.poll(async () => (await getRun(app.system, started.run.id)).status, { timeout: 90_000, interval: 250 }).toBe('completed');
    const crashed = await getRun(app.system, started.run.id);
    expect(crashed.fileJobs.some((job) => job.retryCount >= 2)).toBe(true);

    const clean = await startFolderRun(app.system, app.jobs, { pipelineName: 'test_counts', businessId: t.businessA, date: '2026-11-22', inputDir: input, trigger: 'cli' });
    await expect.poll(async () => (await getRun(app.system, clean.run.id)).status, { timeout: 60_000, interval: 250 }).toBe('completed');
    const afterCrash = await dayRows('2026-11-21');
    expect(afterCrash).toHaveLength(120);
    expect(afterCrash).toEqual(await dayRows('2026-11-22'));
  });
});
