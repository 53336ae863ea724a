import { loadConfig } from '../core/config.js';
import { provideDatabase } from '../core/db/index.js';
import { createLogger } from '../core/log.js';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
try {
  const database = await provideDatabase(config, log);
  await database.stop();
} catch (error) {
  log.fatal({ err: error }, 'migration failed');
  process.exit(1);
}
