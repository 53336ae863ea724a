import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../config.js';
import type { Logger } from '../log.js';

const require = createRequire(import.meta.url);
const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');

/** Names of the migration folders shipped with the code, oldest first. */
export function listMigrations(): string[] {
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort();
}

/** Migrations that the database at `databaseUrl` has not finished applying. */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query(`SELECT to_regclass('public._prisma_migrations') AS t`);
    const applied = new Set<string>();
    if (table.rows[0]?.t) {
      const rows = await client.query<{ migration_name: string }>(
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
      );
      for (const row of rows.rows) applied.add(row.migration_name);
    }
    return listMigrations().filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}

/**
 * Applies the SQL migrations under prisma/migrations with `prisma migrate deploy` (WebAssembly schema
 * engine over a driver adapter, see prisma.config.ts). The CLI takes about ten seconds to start and
 * exit, so it only runs when something is pending. Safe from several processes at once: Prisma takes
 * an advisory lock and skips what another process applied.
 */
export async function migrateDatabase(databaseUrl: string, log: Logger): Promise<string[]> {
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length === 0) {
    log.info('database schema is up to date');
    return [];
  }
  log.info({ pending }, 'applying database migrations');
  const prismaCli = require.resolve('prisma/build/index.js');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, 'migrate', 'deploy'], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) {
    throw new Error(`Database migration failed (prisma migrate deploy exited with ${code}):\n${output.join('')}`);
  }
  log.info({ applied: pending }, 'database migrations applied');
  return pending;
}
