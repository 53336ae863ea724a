import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerCutOffBodies } from '../api/http.js';
import { loadConfig, type Config } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { closeDb, connectDb, provideDatabase, type Db } from '../core/db/index.js';
import { ensureFirstAdmin, seedDemoBusiness, seedDemoCanonical, seedDemoSales, seedDemoStock, type CreatedLogin } from '../core/demo/seed.js';
import { seedDemoIngestHistory } from '../core/ingest/demo-history.js';
import { setOwnBaseUrl } from '../core/ingest/simulator.js';
import { startDemoTekmetric } from '../core/demo/tekmetric.js';
import { feedSettings } from '../core/feeds/settings.js';
import { sourceSettings } from '../core/mapping/sources.js';
import { createLogger, type Logger } from '../core/log.js';
import { loadSecrets } from '../core/secrets.js';
import { useSecretsKey } from '../core/sealedSecrets.js';
import { startJobs, type JobRuntime } from '../jobs/runtime.js';

export type RunMode = 'all' | 'web' | 'worker';

export interface Running {
  url: string | null;
  db: Db;
  jobs: JobRuntime;
  config: Config;
  log: Logger;
  /** The logins this start created (first start only), with their generated passwords. */
  createdLogins: CreatedLogin[];
  stop(): Promise<void>;
}

/**
 * Starts Backhouse: the database (embedded unless DATABASE_URL is set), migrations, first-start
 * seeding, the job queue (workers unless web-only) and the web server (unless worker-only).
 */
export async function startBackhouse(mode: RunMode = 'all', config: Config = loadConfig(), log: Logger = createLogger(config.LOG_LEVEL)): Promise<Running> {
  const database = await provideDatabase(config, log);
  const db = connectDb(database.url, config.DATABASE_POOL_SIZE);
  let jobs: JobRuntime | null = null;
  let server: Server | null = null;
  let demoTekmetric: { close(): Promise<void> } | null = null;
  const stop = async () => {
    log.info('shutting down');
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await jobs?.stop();
    await demoTekmetric?.close();
    await closeDb(db);
    await database.stop();
    log.info('stopped');
  };
  try {
    prepareSealedSecrets(config, log);
    jobs = await startJobs(db, config, log, { work: mode !== 'web' });
    const createdLogins = await seedOnFirstStart(db, config, log, jobs);
    // Demo mode (no Tekmetric configured): the fake Tekmetric server beside the workers, synced from (core/demo/tekmetric.ts).
    if (config.SEED_DEMO && !config.TEKMETRIC_BASE_URL && mode !== 'web') {
      const demo = await startDemoTekmetric(systemContext('demo:tekmetric', db, log), jobs).catch((error: Error) => (log.warn({ err: error }, 'demo Tekmetric not started'), null));
      if (demo) {
        logCreatedLogins(log, demo.logins);
        createdLogins.push(...demo.logins);
      }
      demoTekmetric = demo;
    }
    let url: string | null = null;
    if (mode !== 'worker') {
      const secrets = await loadSecrets(db, config, log);
      // Loaded only by processes that serve the web: importing AdminJS alone costs ~260 MB of memory
      // (it brings its bundler), which a worker-only process does not need.
      const { createApp } = await import('./server.js');
      const app = await createApp({ db, config, log, jobs, secrets });
      server = await new Promise<Server>((resolve, reject) => {
        const listening = app.listen(config.PORT, config.HOST, () => resolve(listening)).on('error', reject);
      });
      answerCutOffBodies(server, log);
      const { port } = server.address() as AddressInfo;
      url = `http://localhost:${port}`;
      setOwnBaseUrl(url);
      log.info({ url: `${url}/admin`, mode }, 'Backhouse is ready');
    } else {
      log.info({ mode }, 'Backhouse worker is ready');
    }
    return { url, db, jobs, config, log, createdLogins, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** First admin when nobody can sign in; the demo business unless SEED_DEMO=false. Credentials shown once. */
async function seedOnFirstStart(db: Db, config: Config, log: Logger, jobs: JobRuntime): Promise<CreatedLogin[]> {
  const ctx = systemContext('seed', db, log);
  const created: CreatedLogin[] = [];
  const admin = await ensureFirstAdmin(ctx, config);
  if (admin) created.push(admin);
  if (config.SEED_DEMO) {
    created.push(...(await seedDemoBusiness(ctx)));
    const feedId = await seedDemoSales(ctx, jobs, feedSettings(config));
    if (feedId) log.info({ feedId }, 'demo sales of the last 90 days queued for loading');
    const executions = await seedDemoCanonical(ctx, jobs, sourceSettings(config));
    if (executions) log.info({ executions }, 'demo customers, orders and invoices queued for loading through their approved mappings');
    const stockRuns = await seedDemoStock(ctx, jobs, config.PIPELINE_DATA_DIR);
    if (stockRuns) log.info({ runs: stockRuns }, 'a day of demo stock files queued through the stock pipelines');
    const ingested = await seedDemoIngestHistory(ctx);
    if (ingested) log.info({ events: ingested }, 'demo point-of-sale history of the last days stored in bronze (simulated tills)');
  }
  logCreatedLogins(log, created);
  return created;
}

function logCreatedLogins(log: Logger, created: CreatedLogin[]): void {
  for (const login of created) {
    log.warn(
      { email: login.email, role: login.role, initialPassword: login.generatedPassword ?? '(from ADMIN_PASSWORD)' },
      'created a login: note the password now, it is not shown again',
    );
  }
}

/**
 * The key sealed secrets use, settled at start. Production without SECRETS_KEY still starts (nothing else
 * needs it), with a warning; sealing or opening a secret is then refused with the same words.
 */
function prepareSealedSecrets(config: Config, log: Logger): void {
  try {
    const key = useSecretsKey(config);
    log.info({ keyId: key.id, source: key.source }, 'sealed secrets key ready');
  } catch (error) {
    if (config.NODE_ENV !== 'production') throw error;
    log.warn((error as Error).message);
  }
}
