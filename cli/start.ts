import v8 from 'node:v8';
import { readyBanner } from '../app/banner.js';
import { startBackhouse, type RunMode } from '../app/runtime.js';
import { loadConfig } from '../core/config.js';
import { createLogger, forPerson } from '../core/log.js';

/**
 * No pretenuring: V8 moves allocation sites whose objects outlive young collections to allocating straight in
 * the old generation, where the garbage then waits for a full collection. Reading a workbook's rows (exceljs
 * allocates per cell) tripped it in about half the runs: a 300,000-row XLSX commit peaked at 385–428 MB
 * instead of ~265 MB. A flag set here, before any request, reaches every way the server is started.
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');

/** `npm start` (web + workers), `npm run web`, `npm run worker`. Stops cleanly on SIGINT/SIGTERM. */
const mode: RunMode = process.argv.includes('--web') ? 'web' : process.argv.includes('--worker') ? 'worker' : 'all';
const config = loadConfig();
// A person at a terminal gets readable logs and a banner once ready; anything else gets JSON lines only.
const person = forPerson(config.LOG_FORMAT);
const log = createLogger(config.LOG_LEVEL, undefined, undefined, person);

try {
  const running = await startBackhouse(mode, config, log);
  if (person) process.stdout.write(readyBanner(running));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received: finishing running work');
    const force = setTimeout(() => {
      log.error('shutdown took too long: exiting');
      process.exit(1);
    }, (config.SHUTDOWN_TIMEOUT_SECONDS + 10) * 1000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  // The reason in the message itself: the one line anyone reads, at any log level.
  log.fatal({ err: error }, `Backhouse could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
