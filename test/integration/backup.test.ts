import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { projectRoot } from '../../core/config.js';
import { backupDatabase, restoreDatabase } from '../../core/db/backup.js';
import { createLogger } from '../../core/log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { withDatabase } from '../helpers/global-setup.js';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-backup-'));
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'test');
let app: TestApp | null = null;
afterAll(async () => {
  await app?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

/** An empty database on the test server (its name is one the test run's teardown drops). */
async function emptyDatabase(): Promise<string> {
  const name = `${inject('testDatabasePrefix')}restore_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return withDatabase(inject('pgAdminUrl'), name);
}

/**
 * Every table's and materialized view's row count and an md5 of its rows in order (so any value that differs,
 * money included, shows), with whether each table is a partition and of what.
 */
async function fingerprint(url: string): Promise<Record<string, { rows: number; md5: string; partitionOf: string | null }>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET search_path = pg_catalog');
    const relations = await client.query<{ name: string; parent: string | null }>(
      `SELECT c.oid::regclass::text AS name, (SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = c.oid) AS parent
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' AND c.relkind IN ('r', 'm') AND c.relpersistence = 'p' ORDER BY 1`,
    );
    const result: Record<string, { rows: number; md5: string; partitionOf: string | null }> = {};
    for (const { name, parent } of relations.rows) {
      const { rows } = await client.query<{ rows: number; md5: string }>(`SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 FROM ${name} t`);
      result[name] = { ...rows[0]!, partitionOf: parent };
    }
    return result;
  } finally {
    await client.end();
  }
}

function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: projectRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('backup and restore', () => {
  it('round-trips a database with loaded sales into an empty one: every table, partition and view the same', async () => {
    // The demo's 90 days of sales, loaded by the real job into a fact partition of their own.
    app = await startTestApp({ SEED_DEMO: 'true', FEED_PARTITION_MIN_ROWS: '100', JOB_CONCURRENCY: '2' });
    await expect
      .poll(async () => (await app!.db.pool.query<{ status: string }>('SELECT status FROM data_feeds')).rows.map((row) => row.status), { timeout: 90_000, interval: 250 })
      .toEqual(['transformed']);
    // Beside the running product: a consistent snapshot whatever it does meanwhile.
    const whileRunning = path.join(folder, 'while-running.backup.gz');
    expect((await backupDatabase(app.database.url, whileRunning)).rows).toBeGreaterThan(1000);
    await app.stop();
    // Views as fresh as their sources, so that the restored ones (refreshed by the restore) can be compared.
    for (const { name } of (await app.database.db.pool.query<{ name: string }>(`SELECT oid::regclass::text AS name FROM pg_class WHERE relkind = 'm' AND relispopulated ORDER BY oid`)).rows) {
      await app.database.db.pool.query(`REFRESH MATERIALIZED VIEW ${name}`);
    }
    const source = await fingerprint(app.database.url);
    const partitions = Object.entries(source).filter(([, table]) => table.partitionOf !== null && table.rows > 0);
    expect(partitions.map(([name]) => name).some((name) => /^pgboss\./.test(name))).toBe(true);
    expect(partitions.filter(([, table]) => table.partitionOf !== 'public.fact_sales' && /fact_sales/.test(table.partitionOf ?? '')).length).toBeGreaterThan(0);
    expect(source['public.fact_sales_default']?.rows ?? 0).toBe(0);

    const file = path.join(folder, 'demo.backup.gz');
    const progress: string[] = [];
    const backup = await backupDatabase(app.database.url, file, (table) => progress.push(table.table));
    expect(progress).toContain('public.products');
    const target = await emptyDatabase();
    const restored = await restoreDatabase(target, file, { log });
    expect(restored.rows).toBe(backup.rows);
    expect(await fingerprint(target)).toEqual(source);

    // A database that holds anything is refused, and nothing in it is touched; --replace empties it first.
    await expect(restoreDatabase(target, file, { log })).rejects.toThrow(/not empty.*--replace/);
    const changer = new pg.Client({ connectionString: target });
    await changer.connect();
    await changer.query('UPDATE products SET selling_price_cents = selling_price_cents + 1');
    await changer.end();
    expect(await fingerprint(target)).not.toEqual(source);
    await restoreDatabase(target, file, { log, replace: true });
    expect(await fingerprint(target)).toEqual(source);
  }, 300_000);

  it('has commands: npm run db:backup and npm run db:restore, which print what they did', async () => {
    const file = path.join(folder, 'by-command.backup.gz');
    const source = await fingerprint(app!.database.url);
    const backup = await run('cli/backup.ts', [file], { DATABASE_URL: app!.database.url });
    expect(backup.code).toBe(0);
    expect(backup.output).toMatch(/public\.fact_sales_\S+: \d+ rows/);
    expect(backup.output).toMatch(/Backed up \d+ tables, \d+ rows/);
    const target = await emptyDatabase();
    const refused = await run('cli/restore.ts', [file], { DATABASE_URL: app!.database.url });
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/Restore failed: The database is not empty/);
    const restore = await run('cli/restore.ts', [file, '--database', new URL(target).pathname.slice(1)], { DATABASE_URL: app!.database.url });
    expect(restore.output).toMatch(/Restored \d+ tables, \d+ rows/);
    expect(restore.code).toBe(0);
    expect(await fingerprint(target)).toEqual(source);
  }, 300_000);
});
