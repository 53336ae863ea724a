import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { closeDb, connectDb, reachDatabaseServer } from '../core/db/index.js';
import { AppError } from '../core/errors.js';
import { createIngestKey, listIngestKeys, revokeIngestKey, type IngestKeyRow } from '../core/ingest/keys.js';
import { createLogger } from '../core/log.js';

const usage = `Usage:
  npm run ingest-key -- create --store STORE-001 [--store STORE-002 …] [--business ID] [--name NAME]
  npm run ingest-key -- list [--business ID]
  npm run ingest-key -- revoke ID`;

/**
 * `npm run ingest-key`: API keys for point-of-sale devices, on DATABASE_URL's database or the embedded one
 * (beside a running `npm start` or not). The key is printed once, by create, and kept nowhere.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    allowPositionals: true,
    options: { store: { type: 'string', multiple: true }, business: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}
try {
  parsed = parse();
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const [command, ...rest] = parsed.positionals;
if (parsed.values.help || !command || !['create', 'list', 'revoke'].includes(command) || (command === 'revoke' ? rest.length !== 1 : rest.length !== 0)) {
  console.error(usage);
  process.exit(parsed.values.help ? 0 : 2);
}

const when = (date: Date | null) => (date ? date.toISOString().replace(/\.\d+Z$/, 'Z') : '-');
function describe(key: IngestKeyRow): string {
  return [
    `${key.id}  ${key.keyPrefix}…  ${key.revokedAt ? `REVOKED ${when(key.revokedAt)}` : 'active'}`,
    `    name: ${key.name}; business: ${key.businessName} (${key.businessId}); stores: ${key.stores.join(', ') || '-'}`,
    `    created ${when(key.createdAt)} by ${key.createdBy ?? 'the system (command line, demo or simulator)'}; last used ${when(key.lastUsedAt)}; requests: ${key.requestsLastMinute} in the last minute, ${key.requestsLastHour} in the last hour`,
  ].join('\n');
}

try {
  const server = await reachDatabaseServer(config, log, { create: false });
  const db = connectDb(server.url, 2);
  try {
    const ctx = systemContext('cli:ingest-key', db, log);
    if (command === 'create') {
      if (!parsed.values.store?.length) throw new AppError('bad_request', `Name the store(s) the key may ingest for with --store CODE.\n${usage}`);
      const { key, record } = await createIngestKey(ctx, { stores: parsed.values.store, businessId: parsed.values.business, name: parsed.values.name });
      console.log(describe(record));
      console.log(`\nThe key (shown this once; only its hash is kept):\n\n  ${key}\n\nDevices send it as: Authorization: Bearer ${key}`);
    } else if (command === 'list') {
      const keys = await listIngestKeys(ctx, { businessId: parsed.values.business });
      console.log(keys.length ? keys.map(describe).join('\n') : 'There are no ingest API keys yet: npm run ingest-key -- create --store STORE-001');
    } else {
      const record = await revokeIngestKey(ctx, rest[0]!);
      console.log(`Revoked. It can no longer ingest.\n${describe(record)}`);
    }
  } finally {
    await closeDb(db);
    await server.stop();
  }
} catch (error) {
  console.error(`ingest-key ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
