import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadConfig } from '../core/config.js';
import { restoreDatabase } from '../core/db/backup.js';
import { ensureDatabase } from '../core/db/embedded.js';
import { reachDatabaseServer } from '../core/db/index.js';
import { createLogger } from '../core/log.js';

/**
 * `npm run db:restore -- FILE [--database NAME] [--replace]`: a backup made by db:backup into the product's
 * database (DATABASE_URL's, or the embedded one), or into the database NAME on the same server (created when
 * missing). A database that holds anything is refused unless --replace.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const usage = 'Usage: npm run db:restore -- FILE [--database NAME] [--replace]';
let args: { positionals: string[]; values: { database?: string; replace?: boolean } };
try {
  args = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), allowPositionals: true, options: { database: { type: 'string' }, replace: { type: 'boolean' } } });
} catch (error) {
  console.error(`${usage}\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
if (args.positionals.length !== 1) {
  console.error(`${usage}\nName one backup file.`);
  process.exit(2);
}
const file = path.resolve(args.positionals[0]!);
try {
  const server = await reachDatabaseServer(config, log, { create: true });
  try {
    const { database, replace = false } = args.values;
    // The embedded server's product database, or the one asked for, is made when missing (a fresh machine).
    if (database || !config.DATABASE_URL) await ensureDatabase(server.urlFor('postgres'), database ?? new URL(server.url).pathname.slice(1));
    const url = database ? server.urlFor(database) : server.url;
    const started = Date.now();
    console.log(`Restoring ${file} into the database ${new URL(url).pathname.slice(1)}`);
    const summary = await restoreDatabase(url, file, { replace, log, progress: (table) => console.log(`  ${table.table}: ${table.rows} rows`) });
    console.log(`Restored ${summary.tables.length} tables, ${summary.rows} rows, as of ${summary.takenAt} (${((Date.now() - started) / 1000).toFixed(1)} s).`);
  } finally {
    await server.stop();
  }
} catch (error) {
  console.error(`Restore failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
