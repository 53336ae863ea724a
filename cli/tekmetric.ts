import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { closeDb, connectDb, migrateDatabase, reachDatabaseServer } from '../core/db/index.js';
import { createLogger } from '../core/log.js';
import { clientFor, ensureEnvironmentConnection, linkShops } from '../core/tekmetric/connections.js';
import { executeSyncRun, type RunCounts } from '../core/tekmetric/sync/execute.js';
import { requestSyncRun, type SyncRunRequest } from '../core/tekmetric/sync/runs.js';
import { syncEntities } from '../core/tekmetric/sync/streams.js';

/**
 * `npm run tekmetric -- <command>`: the Tekmetric sync from the command line, with the connection from the
 * environment (TEKMETRIC_BASE_URL, TEKMETRIC_CLIENT_ID, TEKMETRIC_CLIENT_SECRET) and DATABASE_URL (or the
 * embedded database). Migrates first; shops of the token's scope are linked (a new business per unlinked shop).
 *   connect                                   link every shop of the token's scope and list them
 *   sync --shop 6212 [--days-back 3] [--board active|posted|all] [--entities customers,repair_orders] [--limit N] [--store-raw]
 *   backfill --shop 6212 --days 90
 *   repair-order --shop 6212 --id 123456
 * Without --days-back, --board or --limit, `sync` is incremental from each entity's cursor.
 */
const usage = `Usage: npm run tekmetric -- connect [--timezone Area/City]
       npm run tekmetric -- sync --shop ID [--days-back N] [--board active|posted|all] [--entities ${syncEntities.join(',')}] [--limit N] [--store-raw]
       npm run tekmetric -- backfill --shop ID --days N
       npm run tekmetric -- repair-order --shop ID --id RO_ID`;

const args = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2).filter((arg) => arg !== '--'),
      allowPositionals: true,
      options: {
        shop: { type: 'string' },
        'days-back': { type: 'string' },
        days: { type: 'string' },
        board: { type: 'string' },
        entities: { type: 'string' },
        limit: { type: 'string' },
        id: { type: 'string' },
        timezone: { type: 'string' },
        'store-raw': { type: 'boolean' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
})();

const positiveInt = (name: string) => z.coerce.number({ message: `${name} must be a whole number` }).int(`${name} must be a whole number`).positive(`${name} must be above 0`);
const command = args.positionals[0];

function requestOf(): SyncRunRequest {
  const o = args.values;
  const shopId = o.shop === undefined ? undefined : positiveInt('--shop').parse(o.shop);
  if (command === 'connect') throw new Error('connect takes no run');
  if (shopId === undefined) throw new Error('--shop is required (a Tekmetric shop id, e.g. --shop 6212).');
  if (command === 'backfill') {
    if (o.days === undefined) throw new Error('backfill needs --days N (how many days of history).');
    return { kind: 'backfill', shopId, trigger: 'cli', params: { daysBack: positiveInt('--days').parse(o.days), storeRaw: o['store-raw'] } };
  }
  if (command === 'repair-order') {
    if (o.id === undefined) throw new Error('repair-order needs --id RO_ID.');
    return { kind: 'repair_order', shopId, trigger: 'cli', params: { repairOrderId: positiveInt('--id').parse(o.id), storeRaw: o['store-raw'] } };
  }
  const board = o.board === undefined ? undefined : z.enum(['ACTIVE', 'POSTED', 'ALL'], { message: '--board must be active, posted or all' }).parse(o.board.toUpperCase());
  const entities = o.entities === undefined ? undefined : z.array(z.enum(syncEntities, { message: `--entities takes ${syncEntities.join(', ')}` })).parse(o.entities.split(',').map((e) => e.trim().replace(/-/g, '_')));
  const daysBack = o['days-back'] === undefined ? undefined : positiveInt('--days-back').parse(o['days-back']);
  const limit = o.limit === undefined ? undefined : positiveInt('--limit').parse(o.limit);
  const windowed = daysBack !== undefined || board !== undefined || limit !== undefined;
  return { kind: windowed || entities ? 'entities' : 'incremental', shopId, trigger: 'cli', params: { entities, daysBack, board, limit, storeRaw: o['store-raw'] } };
}

function progressBar(percent: number, width = 30): string {
  const filled = Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent.toFixed(1).padStart(5)}%`;
}

function summary(counts: RunCounts, seconds: number): string {
  const lines = [`${'entity'.padEnd(15)}${'pages'.padStart(8)}${'fetched'.padStart(10)}${'written'.padStart(10)}${'removed'.padStart(10)}`];
  for (const [entity, c] of Object.entries(counts.entities)) lines.push(`${entity.padEnd(15)}${String(c.pages).padStart(8)}${String(c.fetched).padStart(10)}${String(c.written).padStart(10)}${String(c.removed).padStart(10)}`);
  lines.push(`${counts.requests} requests (${counts.throttled} answered 429, ${counts.retries} retries) in ${seconds.toFixed(1)} s.`);
  return lines.join('\n');
}

if (!command || !['connect', 'sync', 'backfill', 'repair-order'].includes(command)) {
  console.error(usage);
  process.exit(2);
}

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
let exitCode = 0;
try {
  const request = command === 'connect' ? null : requestOf();
  const server = await reachDatabaseServer(config, log, { create: true });
  const db = connectDb(server.url, 4);
  try {
    await migrateDatabase(server.url, log);
    const ctx = systemContext('cli:tekmetric', db, log);
    const connection = await ensureEnvironmentConnection(ctx, config);
    if (!connection) throw new Error('Set TEKMETRIC_BASE_URL, TEKMETRIC_CLIENT_ID and TEKMETRIC_CLIENT_SECRET (the connection to sync from).');
    const shops = await linkShops(ctx, connection, clientFor(ctx, connection, config), { timezone: args.values.timezone });
    if (!request) {
      for (const shop of shops) console.log(`Shop ${shop.shopId} "${shop.name}": business ${shop.businessId}${shop.createdBusiness ? ' (created for it)' : ''}, time zone ${shop.timezone}.`);
    } else {
      if (!shops.some((shop) => shop.shopId === request.shopId)) throw new Error(`Shop ${request.shopId} is not in this connection's scope (it has ${shops.map((s) => s.shopId).join(', ') || 'none'}).`);
      const run = await requestSyncRun(ctx, null, { ...request, connectionId: connection.id });
      const started = Date.now();
      const tty = process.stderr.isTTY === true;
      let lastLine = '';
      const timer = setInterval(async () => {
        const row = (await db.pool.query<{ progress: { percent?: number; entity?: string; page?: number; totalPages?: number } }>(`SELECT progress FROM tm_sync_runs WHERE id = $1`, [run.id]).catch(() => ({ rows: [] }))).rows[0];
        if (!row) return;
        const p = row.progress;
        const line = `${progressBar(p.percent ?? 0)} ${p.entity ?? ''} ${p.page ? `page ${p.page}/${p.totalPages}` : ''}`.trimEnd();
        if (line === lastLine) return;
        lastLine = line;
        process.stderr.write(tty ? `\r${line.padEnd(80)}` : `${line}\n`);
      }, 250);
      try {
        const counts = await executeSyncRun(ctx, config, run.id);
        clearInterval(timer);
        process.stderr.write(tty ? `\r${progressBar(100).padEnd(80)}\n` : `${progressBar(100)}\n`);
        console.log(`Sync run ${run.id} succeeded for shop ${request.shopId}.`);
        console.log(summary(counts, (Date.now() - started) / 1000));
      } finally {
        clearInterval(timer);
      }
    }
  } finally {
    await closeDb(db);
    await server.stop();
  }
} catch (error) {
  const message = error instanceof z.ZodError ? error.issues.map((i) => i.message).join('; ') : error instanceof Error ? error.message : String(error);
  console.error(`\nTekmetric ${command} failed: ${message}`);
  exitCode = 1;
}
process.exit(exitCode);
