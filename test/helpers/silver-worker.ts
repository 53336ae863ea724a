/**
 * A silver worker as its own process, for the tests that run several at once or kill one: it drains bronze
 * once (`drainToSilver`, as a worker does when woken) and prints the ids of the events it claimed as JSON.
 * Environment: DATABASE_URL, INGEST_SILVER_BATCH_SIZE.
 */
import { systemContext } from '../../core/context.js';
import { closeDb, connectDb } from '../../core/db/index.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/log.js';
import { drainToSilver } from '../../core/ingest/silver.js';
import { silverOptions } from '../../jobs/ingest.js';

const config = loadConfig({ ...process.env, SEED_DEMO: 'false' });
const db = connectDb(config.DATABASE_URL!, 3);
// Logs to stderr: stdout carries the result only.
const log = createLogger('warn', 'silver-worker', process.stderr);
const drained = await drainToSilver(systemContext('test-silver-worker', db, log), silverOptions(config), undefined, { keepIds: true });
process.stdout.write(JSON.stringify({ batches: drained.batches, eventIds: drained.eventIds }));
await closeDb(db);
