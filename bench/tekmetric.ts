/**
 * Tekmetric benchmark (`npm run bench:tekmetric`): the real sync (real client, HTTP, PostgreSQL, metrics and
 * snapshots after every page) from the fake Tekmetric server, each figure beside a floor measured in the same run.
 *  1. 3 shops × 10,000 repair orders (1 to 6 jobs each, with their lines), no rate limit: repair orders/s end to
 *     end (target ≥ 500), requests made, then the time to rebuild every daily metric of the three shops.
 *     Floors: the fake's own answer rate (every repair-order page read and validated through the client, nothing
 *     written) and the same rows written straight into copies of the tables (one insert per table and page, no
 *     foreign keys, no metrics, no cursors).
 *  2. 1 shop × 2,000 repair orders with the fake enforcing 600 requests/minute (and our shared limiter at 99% of
 *     it): 429s received (target 0), and the time against the fastest the limit allows (requests ÷ 10/s;
 *     target within 10%).
 * BENCH_TM_SHOPS, BENCH_TM_ROS and BENCH_TM_LIMITED_ROS change the sizes. Starts its own embedded PostgreSQL in
 * a temporary folder (or uses DATABASE_URL's server, creating two databases on it). The fake runs in this
 * process, so its own work is part of every figure, the floors' too.
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
import { tmRepairOrder, type TmRepairOrder } from '../core/tekmetric/api-types.js';
import { createTekmetricClient, type TekmetricClient } from '../core/tekmetric/client.js';
import { ensureEnvironmentConnection, linkShops } from '../core/tekmetric/connections.js';
import { rebuildShopMetrics } from '../core/tekmetric/metrics.js';
import { executeSyncRun } from '../core/tekmetric/sync/execute.js';
import { addRepairOrderRows, concernSpec, discountSpec, emptyRepairOrderRows, feeSpec, jobSpec, laborSpec, partSpec, repairOrderSpec, subletSpec, type RepairOrderRows, type ShopRef } from '../core/tekmetric/sync/rows.js';
import { requestSyncRun } from '../core/tekmetric/sync/runs.js';
import { upsertRows, type UpsertSpec } from '../core/tekmetric/sync/upsert.js';
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
  return { api, linked, seconds, requests: fake.stats.requests - requestsBefore, throttled: fake.stats.throttled, counts: counts! };
}

const floorSpecs: [keyof RepairOrderRows, UpsertSpec][] = [
  ['repairOrders', repairOrderSpec],
  ['jobs', jobSpec],
  ['parts', partSpec],
  ['labor', laborSpec],
  ['sublets', subletSpec],
  ['fees', feeSpec],
  ['discounts', discountSpec],
  ['concerns', concernSpec],
];

/**
 * The floors of the unlimited sync, shop by shop (one shop's pages held at a time). Reading: every
 * repair-order page read through the client (the fake's answer, HTTP, JSON, validation), nothing written.
 * Writing: the same repair orders' rows written straight into copies of the eight tables (their columns,
 * keys and indexes; no foreign keys, no prior state, no metrics, snapshots or cursors), one statement per
 * table and page, one transaction per page.
 */
async function measureFloors(db: Db, api: TekmetricClient, shops: ShopRef[]): Promise<{ readSeconds: number; writeSeconds: number }> {
  await db.pool.query('CREATE SCHEMA bench_floor');
  for (const [, spec] of floorSpecs) await db.pool.query(`CREATE TABLE bench_floor.${spec.table} (LIKE public.${spec.table} INCLUDING ALL)`);
  const specs = floorSpecs.map(([list, spec]) => [list, { ...spec, table: `bench_floor.${spec.table}`, touched: undefined, returning: undefined }] as const);
  let readSeconds = 0;
  let writeSeconds = 0;
  for (const shop of shops) {
    const pages: TmRepairOrder[][] = [];
    let started = performance.now();
    for await (const page of api.pages('/repair-orders', { shop: shop.shopId }, tmRepairOrder)) pages.push(page.items);
    readSeconds += (performance.now() - started) / 1000;
    started = performance.now();
    for (const page of pages) {
      const rows = emptyRepairOrderRows();
      for (const order of page) addRepairOrderRows(rows, shop, order);
      await withTransaction(db.pool, async (client) => {
        for (const [list, spec] of specs) await upsertRows(client, spec, rows[list]);
      });
    }
    writeSeconds += (performance.now() - started) / 1000;
  }
  return { readSeconds, writeSeconds };
}

const load = () => os.loadavg().map((one) => one.toFixed(1)).join(', ');

try {
  // ---- 1. no limit ----
  console.log(`generating the fake's data: ${SHOPS} shops × ${ROS.toLocaleString()} repair orders…`);
  const unlimited = await startFakeTekmetric({ seed: 2026, shops: SHOPS, repairOrdersPerShop: ROS, days: 365 });
  const fakeRos = unlimited.shops.reduce((sum, shop) => sum + shop.repairOrders.length, 0);
  const db = await freshDatabase('bench_tekmetric');
  console.log(`load average before the sync: ${load()} (${os.cpus().length} cores)`);
  const first = await syncAll(db, unlimited, Infinity);
  const ros = Number(first.counts.ros);
  const loadDuringSync = load();
  const rebuildStarted = performance.now();
  let days = 0;
  for (const shop of first.linked) days += await withTransaction(db.pool, (client) => rebuildShopMetrics(client, shop.shopId));
  const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
  const floors = await measureFloors(db, first.api, first.linked);
  const rate = (seconds: number) => Math.round(ros / seconds).toLocaleString();
  console.log(`\nfull sync, no rate limit: ${ros.toLocaleString()} repair orders (fake: ${fakeRos.toLocaleString()}), ${Number(first.counts.jobs).toLocaleString()} jobs, ${Number(first.counts.lines).toLocaleString()} part and labor lines, ${first.counts.days} shop-days of metrics and ${first.counts.snapshots} snapshots kept up as it went; load average after it ${loadDuringSync}`);
  console.table({
    'repair orders/s, end to end': { measured: rate(first.seconds), seconds: first.seconds.toFixed(1), target: '≥ 500', floor: `reading alone ${rate(floors.readSeconds)}/s (${floors.readSeconds.toFixed(1)} s), writing alone ${rate(floors.writeSeconds)}/s (${floors.writeSeconds.toFixed(1)} s)` },
    'requests made': { measured: first.requests, seconds: '', target: '', floor: `${Math.ceil(fakeRos / 100)} repair-order pages` },
    '429s received': { measured: first.throttled, seconds: '', target: '0', floor: '' },
    'rebuild of all daily metrics': { measured: `${days} shop-days`, seconds: rebuildSeconds.toFixed(2), target: '', floor: '' },
  });
  await unlimited.close();
  await closeDb(db);

  // ---- 2. the plan's limit ----
  console.log(`\ngenerating 1 shop × ${LIMITED_ROS.toLocaleString()} repair orders, the fake enforcing ${LIMIT_PER_MINUTE} requests/minute…`);
  const limited = await startFakeTekmetric({ seed: 2027, shops: 1, repairOrdersPerShop: LIMITED_ROS, days: 365, requestsPerMinute: LIMIT_PER_MINUTE });
  const limitedDb = await freshDatabase('bench_tekmetric_limited');
  const second = await syncAll(limitedDb, limited, LIMIT_PER_MINUTE);
  // The token and the shop list (linking) come before the timed run; the run's own requests set its floor.
  const idealSeconds = second.requests / (LIMIT_PER_MINUTE / 60);
  console.log(`full sync at ${LIMIT_PER_MINUTE}/min: ${Number(second.counts.ros).toLocaleString()} repair orders; load average after it ${load()}`);
  console.table({
    'time, s': { measured: second.seconds.toFixed(1), target: `≤ ${(idealSeconds * 1.1).toFixed(1)}`, floor: `${idealSeconds.toFixed(1)} = ${second.requests} requests ÷ ${LIMIT_PER_MINUTE / 60}/s (our limiter spaces them at 99%: ${(idealSeconds / 0.99).toFixed(1)})` },
    'time ÷ ideal': { measured: (second.seconds / idealSeconds).toFixed(3), target: '≤ 1.100', floor: '1' },
    '429s received': { measured: second.throttled, target: '0', floor: '' },
  });
  await limited.close();
  await closeDb(limitedDb);
} finally {
  await embedded?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
