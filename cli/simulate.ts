import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { closeDb, connectDb, reachDatabaseServer } from '../core/db/index.js';
import { startSimulation, stopSimulation } from '../core/ingest/simulator.js';
import { createLogger } from '../core/log.js';

const usage = 'Usage: npm run simulate -- [--stores 20] [--minutes 60] [--rate 50] [--url http://127.0.0.1:PORT] [--business ID]';

/**
 * `npm run simulate`: realistic point-of-sale traffic sent to a running Backhouse through its ingest API
 * (one key per simulated store, made for the run and revoked after it). --rate is transactions per second
 * over all stores, on average over a day: the morning, lunch and evening rushes send more, the night less.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
let values: { stores?: string; minutes?: string; rate?: string; url?: string; business?: string; help?: boolean };
try {
  values = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: { stores: { type: 'string' }, minutes: { type: 'string' }, rate: { type: 'string' }, url: { type: 'string' }, business: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const number = (text: string | undefined, fallback: number, name: string) => {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a number above 0 (it was ${text}).\n${usage}`);
    process.exit(2);
  }
  return value;
};
const stores = Math.floor(number(values.stores, 20, 'stores'));
const minutes = number(values.minutes, 60, 'minutes');
const rate = number(values.rate, 50, 'rate');
const baseUrl = (values.url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/$/, '');

try {
  const health = await fetch(`${baseUrl}/api/healthz`).catch(() => null);
  if (!health) throw new Error(`Backhouse does not answer at ${baseUrl}: start it (npm start) or give its address with --url.`);
  const server = await reachDatabaseServer(config, log, { create: false });
  const db = connectDb(server.url, 3);
  try {
    const ctx = systemContext('cli:simulate', db, log);
    const { run, done } = await startSimulation(ctx, {
      businessId: values.business,
      stores,
      minutes,
      rate,
      baseUrl,
      onProgress: (p) =>
        process.stdout.write(
          `\r${p.elapsedSeconds.toFixed(0).padStart(5)} s  sent ${p.sent}  accepted ${p.accepted}  duplicates ${p.duplicates}  refused ${p.refused}  failed ${p.failed}  throttled ${p.throttled}  (${p.ratePerSecond.toFixed(1)} tx/s now)   `,
        ),
    });
    console.log(`Simulation ${run.id}: ${stores} stores (SIM-001 …), ${minutes} min, ${rate} tx/s on average, to ${baseUrl}. Ctrl-C stops it.`);
    const interrupt = () => void stopSimulation(ctx, run.id).catch(() => undefined);
    process.once('SIGINT', interrupt);
    const summary = await done;
    process.off('SIGINT', interrupt);
    console.log('');
    if (!summary) throw new Error('the simulation failed (see ingest_simulations.error)');
    console.log(
      `Done in ${summary.elapsedSeconds.toFixed(0)} s: ${summary.sent} sent, ${summary.accepted} accepted, ${summary.duplicates} duplicates answered as such, ${summary.refused} refused, ${summary.failed} failed, ${summary.throttled} throttled and sent again; ${(summary.accepted / Math.max(1, summary.elapsedSeconds)).toFixed(1)} accepted/s.`,
    );
  } finally {
    await closeDb(db);
    await server.stop();
  }
} catch (error) {
  console.error(`\nsimulate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
