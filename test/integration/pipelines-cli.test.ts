import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../core/config.js';
import { writeSampleDay } from '../../core/pipelines/samples.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let t: Tenants;
let folder: string;

beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-cli-'));
  app = await startTestApp({}, 'web');
  t = await seedTenants(app.system);
}, 120_000);
afterAll(async () => {
  await app?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

/** `npm run pipeline -- …` as a person runs it, against the test database. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'cli/pipeline.ts'), ...args], {
      cwd: projectRoot,
      // A broken file's three attempts 1 s and 2 s apart instead of 30 s and 60 s.
      env: { ...process.env, DATABASE_URL: app.database.url, LOG_LEVEL: 'error', NODE_ENV: 'test', PIPELINE_DATA_DIR: path.join(folder, 'data'), PIPELINE_RETRY_DELAY_SECONDS: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run pipeline', () => {
  it('process runs a day of store workbooks to its end with a summary; a broken one is named; retry after fixing it completes the run', { timeout: 240_000 }, async () => {
    const input = path.join(folder, 'in');
    fs.mkdirSync(input);
    const day = await writeSampleDay(input, { businessDate: '2026-11-20', storeCount: 3, skuCount: 15 });
    const broken = day.inventoryFiles[1]!;
    const good = fs.readFileSync(broken);
    fs.writeFileSync(broken, 'this is not a workbook');

    const first = await runCli(['process', '--pipeline=stock_health', '--date=2026-11-20', `--input-dir=${input}`, `--business=${t.businessA}`]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/stock_health 2026-11-20: completed_with_errors in [\d.]+ s — 2 of 3 files, 30 rows/);
    // Three attempts by default, the first retry after PIPELINE_RETRY_DELAY_SECONDS.
    expect(first.stdout).toContain(`FAILED ${path.basename(broken)} after 3 attempts: `);
    // The day's outputs hold the two stores that loaded, written where the README says and listed.
    const outputs = path.join(folder, 'data', 'outputs', t.businessA, 'stock_health', '20261120');
    expect(first.stdout).toContain(`wrote ${path.join(outputs, 'complete_20261120.csv')} (30 rows)`);
    expect(fs.readFileSync(path.join(outputs, 'complete_20261120.csv'), 'utf8').trim().split('\n')).toHaveLength(31);
    expect(first.stdout).toContain('npm run pipeline -- retry --pipeline=stock_health');
    // The supplier master and the PO export are not stock_health files: skipped, said so.
    expect(first.stdout).toMatch(/2 skipped/);

    fs.writeFileSync(broken, good);
    const retried = await runCli(['retry', '--pipeline=stock_health', `--business=${t.businessA}`]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/stock_health 2026-11-20: completed in [\d.]+ s — 3 of 3 files, 45 rows/);
    // The retry that completed the run wrote the outputs again, now with every store; no partial file is left.
    expect(retried.stdout).toContain(`wrote ${path.join(outputs, 'complete_20261120.csv')} (45 rows)`);
    expect(retried.stdout).toMatch(/wrote .*m2_20261120\.csv \(\d+ rows\)/);
    expect(retried.stdout).toMatch(/wrote .*emergency_20261120\.csv \(\d+ rows\)/);
    expect(fs.readFileSync(path.join(outputs, 'complete_20261120.csv'), 'utf8').trim().split('\n')).toHaveLength(46);
    expect(fs.readdirSync(outputs).sort()).toEqual(['complete_20261120.csv', 'emergency_20261120.csv', 'm2_20261120.csv']);
    const rows = await app.db.pool.query(`SELECT count(*)::int AS n, count(DISTINCT (store_code, sku))::int AS distinct FROM stock_health_snapshots WHERE business_id = $1 AND business_date = '2026-11-20'`, [t.businessA]);
    expect(rows.rows[0]).toEqual({ n: 45, distinct: 45 });

    const wrong = await runCli(['process', '--pipeline=stock_health']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/--date must be YYYY-MM-DD|Usage/);
  });
});
