import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../core/config.js';
import { backupDatabase } from '../core/db/backup.js';
import { reachDatabaseServer } from '../core/db/index.js';
import { createLogger } from '../core/log.js';

/**
 * `npm run db:backup [-- FILE]`: a consistent backup of the product's database (DATABASE_URL's, or the
 * embedded one, beside a running `npm start` or not) to FILE, by default DATA_DIR/backups/backhouse-<time>.backup.gz.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const given = process.argv.slice(2).filter((arg) => arg !== '--');
if (given.length > 1 || given.some((arg) => arg.startsWith('-'))) {
  console.error('Usage: npm run db:backup [-- FILE]');
  process.exit(2);
}
const file = path.resolve(given[0] ?? path.join(config.DATA_DIR, 'backups', `backhouse-${new Date().toISOString().replace(/[:.]/g, '-')}.backup.gz`));
try {
  const server = await reachDatabaseServer(config, log, { create: false });
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const started = Date.now();
    const summary = await backupDatabase(server.url, file, (table) => console.log(`  ${table.table}: ${table.rows} rows`));
    console.log(`Backed up ${summary.tables.length} tables, ${summary.rows} rows, as of ${summary.takenAt}, to ${file} (${(summary.bytes / 1024 / 1024).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s).`);
    console.log(`Restore it with: npm run db:restore -- ${file}`);
  } finally {
    await server.stop();
  }
} catch (error) {
  console.error(`Backup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
