/**
 * Tekmetric benchmark (`npm run bench:tekmetric`): the real sync (real client, HTTP, PostgreSQL, metrics and
 * snapshots after every page) from the fake Tekmetric server.
 *  1. 3 shops × 10,000 repair orders (1 to 6 jobs each, with their lines), no rate limit: repair orders/s end to
 *     end, requests made, then the time to rebuild every daily metric of the three shops. Target: ≥ 500 ROs/s.
 *  2. 1 shop × 2,000 repair orders with the fake enforcing 600 requests/minute (and our shared limiter at the
 *     plan's rate): 429s received (target 0), and the time against the fastest the limit allows (requests ÷ 10/s;
 *     target within 10%).
 * BENCH_TM_SHOPS, BENCH_TM_ROS and BENCH_TM_LIMITED_ROS change the sizes. Starts its own embedded PostgreSQL in
 * a temporary folder (or uses DATABASE_URL's server, creating two databases on it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { startFakeTekmetric, type FakeTekmetric } from '../core/demo/fake-tekmetric/index.js';
import { closeDb, connectDb, migrateDatabase, sqlOf, withTransaction, type Db } from '../core/db/index.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../core/db/embedded.js';
import { createLogger } from '../core/log.js';
import { createTekmetricClient } from '../core/tekmetric/client.js';
import { ensureEnvironmentConnection, linkShops } from '../core/tekmetric/connections.js';
import { rebuildShopMetrics } from '../core/tekmetric/metrics.js';
import { executeSyncRun } from '../core/tekmetric/sync/execute.js';
import { requestSyncRun } from '../core/tekmetric/sync/runs.js';
import { freePort } from './product.js';

const SHOPS = Number(process.env.BENCH_TM_SHOPS ?? 3);
const ROS = Number(process.env.BENCH_TM_ROS ?? 10_000);
const LIMITED_ROS = Number(process.env.BENCH_TM_LIMITED_ROS ?? 2_000);
const LIMIT_PER_MINUTE = 600;

const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
let embedded: EmbeddedServer | null = null;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-tekmetric-'));
let adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  embedded = await startEmbeddedPostgres({ dataDir: path.join(workDir, 'pg'), port: await freePort(), log });
  adminUrl = embedded.adminUrl;
}

async function freshDatabase(name: string): Promise<Db> {
  await ensureDatabase(adminUrl!, name);
  const url = embedded ? embedded.urlFor(name) : Object.assign(new URL(adminUrl!), { pathname: `/${name}` }).toString();
  await migrateDatabase(url, log);
  return connectDb(url, 10);
}

/** Links the fake's shops, runs one sync of everything, and answers what it took. */
async function syncAll(db: Db, fake: FakeTekmetric, requestsPerMinute: number) {
  const ctx = systemContext('bench', db, log);
  const config = loadConfig({ ...process.env, TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
  const connection = (await ensureEnvironmentConnection(ctx, config, Number.isFinite(requestsPerMinute) ? requestsPerMinute : undefined))!;
  const api = createTekmetricClient({ baseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret }, { query: sqlOf(db.pool), requestsPerMinute, log });
  const linked = await linkShops(ctx, connection, api);
  const requestsBefore = fake.stats.requests;
  const run = await requestSyncRun(ctx, null, { kind: 'incremental', trigger: 'cli' });
  const started = performance.now();
  await executeSyncRun(ctx, config, run.id, { api });
  const seconds = (performance.now() - started) / 1000;
  const [counts] = await sqlOf(db.pool)<{ ros: string; jobs: string; lines: string; days: string; snapshots: string }>(
    `SELECT (SELECT count(*) FROM tm_repair_orders) AS ros, (SELECT count(*) FROM tm_jobs) AS jobs,
            (SELECT count(*) FROM tm_job_parts) + (SELECT count(*) FROM tm_job_labor) AS lines,
            (SELECT count(*) FROM tm_daily_shop_metrics) AS days, (SELECT count(*) FROM tm_ro_snapshots) AS snapshots`,
    [],
  );
  return { linked, seconds, requests: fake.stats.requests - requestsBefore, throttled: fake.stats.throttled, counts: counts! };
}

try {
  // ---- 1. no limit ----
  console.log(`generating the fake's data: ${SHOPS} shops × ${ROS.toLocaleString()} repair orders…`);
  const unlimited = await startFakeTekmetric({ seed: 2026, shops: SHOPS, repairOrdersPerShop: ROS, days: 365 });
  const fakeRos = unlimited.shops.reduce((sum, shop) => sum + shop.repairOrders.length, 0);
  const db = await freshDatabase('bench_tekmetric');
  const first = await syncAll(db, unlimited, Infinity);
  const ros = Number(first.counts.ros);
  console.log(`\nfull sync, no rate limit: ${ros.toLocaleString()} repair orders (fake: ${fakeRos.toLocaleString()}), ${Number(first.counts.jobs).toLocaleString()} jobs, ${Number(first.counts.lines).toLocaleString()} part and labor lines`);
  console.log(`  ${first.seconds.toFixed(1)} s, ${first.requests} requests → ${Math.round(ros / first.seconds).toLocaleString()} repair orders/s (target ≥ 500), ${first.counts.days} shop-days of metrics and ${first.counts.snapshots} snapshots kept up as it went`);
  const rebuildStarted = performance.now();
  let days = 0;
  for (const shop of first.linked) days += await withTransaction(db.pool, (client) => rebuildShopMetrics(client, shop.shopId));
  const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
  console.log(`  rebuild of all daily metrics (shop and technician): ${days} shop-days in ${rebuildSeconds.toFixed(2)} s`);
  await unlimited.close();
  await closeDb(db);

  // ---- 2. the plan's limit ----
  console.log(`\ngenerating 1 shop × ${LIMITED_ROS.toLocaleString()} repair orders, the fake enforcing ${LIMIT_PER_MINUTE} requests/minute…`);
  const limited = await startFakeTekmetric({ seed: 2027, shops: 1, repairOrdersPerShop: LIMITED_ROS, days: 365, requestsPerMinute: LIMIT_PER_MINUTE });
  const limitedDb = await freshDatabase('bench_tekmetric_limited');
  const second = await syncAll(limitedDb, limited, LIMIT_PER_MINUTE);
  // The token and the shop list (linking) come before the timed run; the run's own requests set its floor.
  const floorSeconds = second.requests / (LIMIT_PER_MINUTE / 60);
  console.log(`full sync at ${LIMIT_PER_MINUTE}/min: ${Number(second.counts.ros).toLocaleString()} repair orders in ${second.seconds.toFixed(1)} s, ${second.requests} requests, 429s received: ${second.throttled} (target 0)`);
  console.log(`  fastest the limit allows: ${second.requests} ÷ ${LIMIT_PER_MINUTE / 60}/s = ${floorSeconds.toFixed(1)} s → ${((second.seconds / floorSeconds - 1) * 100).toFixed(1)}% over it (target ≤ 10%)`);
  await limited.close();
  await closeDb(limitedDb);
} finally {
  await embedded?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
