/**
 * Ingest benchmark (`npm run bench:ingest`, issue 17): the product as its own process (bench/product.ts),
 * driven over loopback, BENCH_SECONDS (60) per load phase. Phases (BENCH_PHASES picks some, for profiling):
 *   single:    POST /api/ingest/transactions by BENCH_SINGLE_CLIENTS (50) clients, one transaction a request;
 *   batch:     POST /api/ingest/transactions:batch by BENCH_BATCH_CLIENTS (4) clients, 1,000 a request;
 *   silver:    silver's own rate: BENCH_SILVER_EVENTS (40,000) events pre-loaded into bronze, then the product's
 *              silver loops woken, timed until bronze has nothing pending (move, linking, quality, gold fold);
 *   sustained: the batch endpoint paced at a rate below silver's (100 a request), where silver lag and gold
 *              freshness are measured again; when silver falls behind, the rate is lowered and tried again.
 * 3 line items per transaction, 10% of sends repeat an earlier transaction (answered as duplicates).
 * Beside each figure, its floor measured in the same run: the same bronze rows inserted straight into
 * PostgreSQL (one single-row INSERT per transaction by as many clients; one multi-row INSERT per batch), and
 * the same silver rows (transactions and their lines) written straight, one multi-row INSERT per silver batch.
 * Silver lag and gold freshness: the time from a request's answer (after its commit) until silver (the sum of
 * ingest_etl_runs.transactions_written: one small row per batch, cheap to read every 100 ms unlike a count over
 * silver) and gold (gold_sales_hourly's transaction count) show as many transactions as were accepted by then;
 * p95 over transactions. A load phase that leaves a backlog silver has not moved BENCH_CATCHUP_SECONDS (60)
 * after it says how much is left; the backlog silver has not claimed is then deleted so that the next phase starts empty.
 * Nothing is asserted. Run it on a quiet machine (load average below 4).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { loadConfig } from '../core/config.js';
import { eventHash } from '../core/ingest/canonical.js';
import { hashIngestKey } from '../core/ingest/keys.js';
import { peakRssOf, percentile, startProduct } from './product.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const FLOOR_SECONDS = Number(process.env.BENCH_FLOOR_SECONDS ?? Math.min(SECONDS, 20));
const CATCHUP_SECONDS = Number(process.env.BENCH_CATCHUP_SECONDS ?? 60);
const SINGLE_CLIENTS = Number(process.env.BENCH_SINGLE_CLIENTS ?? 50);
const BATCH_CLIENTS = Number(process.env.BENCH_BATCH_CLIENTS ?? 4);
const SILVER_EVENTS = Number(process.env.BENCH_SILVER_EVENTS ?? 40_000);
const SUSTAINED_SECONDS = Number(process.env.BENCH_SUSTAINED_SECONDS ?? 30);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'single,batch,silver,sustained').split(',').map((phase) => phase.trim()));
// What the product's silver runs with: the same variables and defaults (the product inherits this environment).
const { INGEST_SILVER_BATCH_SIZE: SILVER_BATCH, INGEST_SILVER_LOOPS: SILVER_LOOPS } = loadConfig({ ...process.env, SEED_DEMO: 'false' });
const BATCH_SIZE = 1000;
const PACED_BATCH_SIZE = 100;
const DUPLICATE_SHARE = 0.1;
const STORES = 20;
const POOL_SIZE = 10;

const [load1] = os.loadavg();
console.log(`bench:ingest — ${os.cpus().length} CPUs, load average ${load1!.toFixed(2)}${load1! >= 4 ? ' (BUSY: the figures below are not representative)' : ''}`);

const product = await startProduct({
  poolSize: POOL_SIZE,
  nodeFlags: process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : [],
  env: {
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    SEED_DEMO: 'false',
    ADMIN_EMAIL: 'bench-admin@example.com',
    ADMIN_PASSWORD: 'bench-password-123',
    INGEST_RATE_LIMIT_PER_SECOND: '1000000',
    INGEST_RATE_LIMIT_BURST: '1000000',
    INGEST_MAX_BODY_KB: '8192',
  },
});

let sequence = 0;
const runId = randomBytes(3).toString('hex');
type Transaction = { transaction_id: string; store_id: string; ts: string; total_amount: number; items: { product_id: string; product_name: string; brand: string; qty: number; unit_price: number; line_amount: number }[] };
/** A transaction of three line items in one of the stores. */
function newTransaction(): Transaction {
  sequence += 1;
  const store = `BENCH-${String((sequence % STORES) + 1).padStart(3, '0')}`;
  const items = [1, 2, 3].map((line) => {
    const qty = 1 + ((sequence + line) % 3);
    const priceCents = 99 + ((sequence * 7 + line * 13) % 900);
    return { product_id: `P-${(sequence * line) % 500}`, product_name: `Product ${(sequence * line) % 500}`, brand: 'Bench', qty, unit_price: priceCents / 100, line_amount: (priceCents * qty) / 100 };
  });
  const total = items.reduce((sum, item) => sum + Math.round(item.line_amount * 100), 0) / 100;
  return { transaction_id: `${runId}-${sequence}`, store_id: store, ts: new Date().toISOString(), total_amount: total, items };
}

/** 90% new transactions, 10% one sent before. */
function makeSender() {
  const recent: Transaction[] = [];
  return () => {
    if (recent.length > 100 && Math.random() < DUPLICATE_SHARE) return recent[Math.floor(Math.random() * recent.length)]!;
    const transaction = newTransaction();
    recent.push(transaction);
    if (recent.length > 1000) recent.shift();
    return transaction;
  };
}

interface Phase {
  requests: number;
  accepted: number;
  duplicates: number;
  failures: number;
  seconds: number;
  latencies: number[];
}
type Answer = { accepted: number; duplicates: number; ok: boolean };
const emptyPhase = (): Phase => ({ requests: 0, accepted: 0, duplicates: 0, failures: 0, seconds: 0, latencies: [] });

/** Times one call into the phase's figures. */
async function timed(phase: Phase, call: () => Promise<Answer>, onAccepted?: (count: number) => void): Promise<void> {
  const t0 = performance.now();
  const answer = await call().catch(() => ({ accepted: 0, duplicates: 0, ok: false }));
  phase.latencies.push(performance.now() - t0);
  phase.requests += 1;
  phase.accepted += answer.accepted;
  phase.duplicates += answer.duplicates;
  if (!answer.ok) phase.failures += 1;
  if (answer.accepted > 0) onAccepted?.(answer.accepted);
}

/** `clients` loops of `call` for `seconds`, each as fast as answers come. */
async function drive(clients: number, seconds: number, call: () => Promise<Answer>, onAccepted?: (count: number) => void): Promise<Phase> {
  const phase = emptyPhase();
  const started = performance.now();
  const ends = started + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < ends) await timed(phase, call, onAccepted);
  }));
  phase.seconds = (performance.now() - started) / 1000;
  phase.latencies.sort((a, b) => a - b);
  return phase;
}

/** One call every `intervalMs` for `seconds` (at most 64 in flight), whatever the answers' pace: an arrival rate. */
async function pace(intervalMs: number, seconds: number, call: () => Promise<Answer>, onAccepted: (count: number) => void): Promise<Phase> {
  const phase = emptyPhase();
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let n = 0; started + n * intervalMs < started + seconds * 1000; n++) {
    const due = started + n * intervalMs;
    if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
    if (inFlight.size >= 64) await Promise.race(inFlight);
    const request: Promise<void> = timed(phase, call, onAccepted).then(() => void inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  phase.seconds = (performance.now() - started) / 1000;
  phase.latencies.sort((a, b) => a - b);
  return phase;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
const rate = (count: number, secs: number) => (count / secs).toFixed(0);
const describePhase = (label: string, phase: Phase) =>
  `  ${label.padEnd(28)} ${rate(phase.accepted, phase.seconds).padStart(7)} accepted tx/s  ${rate(phase.requests, phase.seconds).padStart(6)} req/s  p50 ${ms(percentile(phase.latencies, 50))}  p95 ${ms(percentile(phase.latencies, 95))}  p99 ${ms(percentile(phase.latencies, 99))}  duplicates ${phase.duplicates}  failures ${phase.failures}`;

/** What silver and gold showed, sampled every 100 ms through the whole run. */
interface Sample {
  at: number;
  silver: number;
  gold: number;
}
const samples: Sample[] = [];

/**
 * The transactions accepted in one phase (cumulative counts from `baseline`, what silver and gold showed when the
 * phase began), and from the samples the delay until silver or gold showed them.
 */
class Intake {
  private marks: { at: number; total: number; count: number }[] = [];
  constructor(private readonly baseline: { silver: number; gold: number }, public total = 0) {}
  record = (count: number) => {
    this.total += count;
    this.marks.push({ at: performance.now(), total: this.total, count });
  };
  caughtUp(which: 'silver' | 'gold'): boolean {
    const last = samples[samples.length - 1];
    return last !== undefined && last[which] - this.baseline[which] >= this.total;
  }
  /** p95 over transactions of accepted → visible; `behind` counts those never seen visible. */
  lag(which: 'silver' | 'gold'): { p95: number; behind: number } {
    const lags: { lag: number; count: number }[] = [];
    let cursor = 0;
    let behind = 0;
    for (const mark of this.marks) {
      while (cursor < samples.length && samples[cursor]![which] - this.baseline[which] < mark.total) cursor += 1;
      if (cursor >= samples.length) behind += mark.count;
      lags.push({ lag: cursor < samples.length ? Math.max(0, samples[cursor]!.at - mark.at) : Number.POSITIVE_INFINITY, count: mark.count });
    }
    lags.sort((a, b) => a.lag - b.lag);
    let seen = 0;
    for (const entry of lags) {
      seen += entry.count;
      if (seen >= 0.95 * this.total) return { p95: entry.lag, behind };
    }
    return { p95: Number.NaN, behind };
  }
}

const describeLag = (intake: Intake, which: 'silver' | 'gold', target: string) => {
  const { p95, behind } = intake.lag(which);
  if (Number.isNaN(p95)) return `n/a (nothing accepted) (target ${target})`;
  if (!Number.isFinite(p95)) return `NOT MEASURABLE: ${behind} of ${intake.total} transactions (${((behind / intake.total) * 100).toFixed(0)}%) not yet in ${which} ${CATCHUP_SECONDS} s after the load ended (target ${target})`;
  return `${seconds(p95)} (target ${target})${behind > 0 ? `, ${behind} transactions not yet in ${which}` : ''}`;
};

try {
  const pool = product.pool;
  // The bench's business, stores and key (seeded with SQL: the key's hash as core/ingest/keys.ts keeps it).
  const business = (await pool.query<{ id: string }>(`INSERT INTO businesses (name) VALUES ('Bench retail') RETURNING id`)).rows[0]!.id;
  const stores = Array.from({ length: STORES }, (_, index) => `BENCH-${String(index + 1).padStart(3, '0')}`);
  const shops = await pool.query<{ id: string; code: string }>(`INSERT INTO shops (business_id, name, code) SELECT $1, code, code FROM unnest($2::text[]) AS code RETURNING id, code`, [business, stores]);
  const key = `bhk_${randomBytes(32).toString('base64url')}`;
  await pool.query(`INSERT INTO ingest_api_keys (business_id, name, key_prefix, key_hash, shop_ids) VALUES ($1, 'bench', $2, $3, $4::uuid[])`, [business, key.slice(0, 12), hashIngestKey(key), shops.rows.map((row) => row.id)]);
  const shopByCode = new Map(shops.rows.map((row) => [row.code, row.id]));
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  let sampling = true;
  // One sample at a time, in order: a wait reads a fresh one after the sampler's (figures only ever grow).
  let sampled = Promise.resolve();
  const sample = () =>
    (sampled = sampled.then(async () => {
      const { rows } = await pool.query<{ silver: string; gold: string }>(
        `SELECT (SELECT coalesce(sum(transactions_written), 0) FROM ingest_etl_runs) AS silver,
                (SELECT coalesce(sum(transactions), 0) FROM gold_sales_hourly WHERE business_id = $1) AS gold`,
        [business],
      );
      samples.push({ at: performance.now(), silver: Number(rows[0]!.silver), gold: Number(rows[0]!.gold) });
    }));
  const sampler = (async () => {
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await sample();
    }
  })();
  const newIntake = async () => {
    await sample();
    return new Intake({ silver: samples[samples.length - 1]!.silver, gold: samples[samples.length - 1]!.gold });
  };
  const pending = async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ingest_events WHERE status = 'pending'`)).rows[0]!.n);
  /** Waits until silver and gold show the intake (at most `limit` s); true when they do. */
  const catchUp = async (intake: Intake, limit: number) => {
    const until = performance.now() + limit * 1000;
    for (;;) {
      await sample();
      if ((intake.caughtUp('silver') && intake.caughtUp('gold')) || performance.now() >= until) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return intake.caughtUp('silver') && intake.caughtUp('gold');
  };
  /**
   * Deletes what silver has not claimed yet, so that the next phase starts from an empty bronze (a plain DELETE
   * would queue behind silver's claimed rows while silver claimed the next ones, and delete almost nothing).
   */
  const discardBacklog = async () =>
    (await pool.query(`DELETE FROM ingest_events WHERE id IN (SELECT id FROM ingest_events WHERE status = 'pending' FOR UPDATE SKIP LOCKED)`)).rowCount ?? 0;

  const sendBatch = (next: () => Transaction, size: number) => async (): Promise<Answer> => {
    const transactions = Array.from({ length: size }, next);
    const response = await fetch(`${product.base}/api/ingest/transactions:batch`, { method: 'POST', headers, body: JSON.stringify({ transactions }) });
    const body = (await response.json()) as { data?: { accepted: number; duplicate: number; refused: number } };
    return { ok: response.status === 200 && body.data?.refused === 0, accepted: body.data?.accepted ?? 0, duplicates: body.data?.duplicate ?? 0 };
  };

  // 1 and 2: the endpoints at full speed; silver and gold measured behind them.
  const load = await newIntake();
  let single: Phase | null = null;
  let batch: Phase | null = null;
  const silverAtStart = samples[samples.length - 1]!.silver;
  const loadStarted = performance.now();
  if (PHASES.has('single')) {
    console.log(`single endpoint: ${SINGLE_CLIENTS} clients for ${SECONDS} s…`);
    const nextSingle = makeSender();
    single = await drive(
      SINGLE_CLIENTS,
      SECONDS,
      async () => {
        const response = await fetch(`${product.base}/api/ingest/transactions`, { method: 'POST', headers, body: JSON.stringify(nextSingle()) });
        const body = (await response.json()) as { data?: { status: string } };
        return { ok: response.status === 202, accepted: body.data?.status === 'accepted' ? 1 : 0, duplicates: body.data?.status === 'duplicate' ? 1 : 0 };
      },
      load.record,
    );
  }
  const peakAfterSingle = peakRssOf(product.pid);
  if (PHASES.has('batch')) {
    console.log(`batch endpoint: ${BATCH_CLIENTS} clients, ${BATCH_SIZE} a batch, for ${SECONDS} s…`);
    batch = await drive(BATCH_CLIENTS, SECONDS, sendBatch(makeSender(), BATCH_SIZE), load.record);
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const silverDuringLoad = samples[samples.length - 1]!.silver - silverAtStart;
  const peakRss = peakRssOf(product.pid);
  if (load.total > 0) console.log(`silver and gold catching up (at most ${CATCHUP_SECONDS} s)…`);
  await catchUp(load, CATCHUP_SECONDS);
  const loadSilver = describeLag(load, 'silver', '< 2 s');
  const loadGold = describeLag(load, 'gold', '< 5 s');
  const statuses = (await pool.query<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ingest_events GROUP BY status ORDER BY status`)).rows.map((row) => `${row.n} ${row.status}`).join(', ');
  const backlog = await discardBacklog();

  // 3: silver's own rate, draining pre-loaded events; the transactions are kept for its floor.
  const preloaded: Transaction[] = [];
  const insertBronze = (client: pg.PoolClient | pg.Pool, rows: Transaction[], status = 'pending') =>
    client.query(
      `INSERT INTO ingest_events (business_id, shop_id, store_code, transaction_id, event_hash, payload, status)
       SELECT $1, shop, store, id, decode(hash, 'hex'), payload::jsonb, $7 FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(shop, store, id, hash, payload)
        ORDER BY hash
       ON CONFLICT (business_id, event_hash) DO NOTHING`,
      [business, rows.map((row) => shopByCode.get(row.store_id)!), rows.map((row) => row.store_id), rows.map((row) => row.transaction_id), rows.map((row) => eventHash(row).toString('hex')), rows.map((row) => JSON.stringify(row)), status],
    );
  let silverRun: { events: number; seconds: number } | null = null;
  if (PHASES.has('silver')) {
    console.log(`silver: ${SILVER_EVENTS} events pre-loaded into bronze, drained by the product's silver (${SILVER_LOOPS} loop(s), batches of ${SILVER_BATCH})…`);
    for (let n = 0; n < SILVER_EVENTS; n++) preloaded.push(newTransaction());
    // In one transaction, which notifies at its commit as the endpoint's inserts do: silver (possibly still
    // busy with what came before) sees all of them at once, when the clock starts.
    const client = await pool.connect();
    let events = 0;
    try {
      await client.query('BEGIN');
      for (let start = 0; start < preloaded.length; start += 5000) events += (await insertBronze(client, preloaded.slice(start, start + 5000))).rowCount ?? 0;
      await client.query(`SELECT pg_notify('ingest_events', '')`);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const started = performance.now();
    while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    silverRun = { events, seconds: (performance.now() - started) / 1000 };
  }

  // 4: intake paced below silver's rate, lowered until silver holds it (caught up within 5 s of the end).
  const sustained: { rate: number; phase: Phase; silver: string; gold: string; held: boolean }[] = [];
  if (PHASES.has('sustained')) {
    let target = silverRun ? Math.max(100, Math.floor((0.6 * silverRun.events) / silverRun.seconds / 100) * 100) : 1000;
    for (let attempt = 1; attempt <= 3; attempt++) {
      console.log(`sustained: batch endpoint paced at ${target} tx/s (${PACED_BATCH_SIZE} a request) for ${SUSTAINED_SECONDS} s…`);
      const intake = await newIntake();
      const phase = await pace((PACED_BATCH_SIZE / target) * 1000, SUSTAINED_SECONDS, sendBatch(makeSender(), PACED_BATCH_SIZE), intake.record);
      const held = await catchUp(intake, 5);
      if (!held) await catchUp(intake, CATCHUP_SECONDS - 5);
      sustained.push({ rate: target, phase, silver: describeLag(intake, 'silver', '< 2 s'), gold: describeLag(intake, 'gold', '< 5 s'), held });
      if (held) break;
      await discardBacklog();
      target = Math.max(100, Math.floor((target * 0.6) / 100) * 100);
    }
  }
  sampling = false;
  await sampler;

  // The floors: the same rows straight into PostgreSQL, no HTTP, no validation; bronze rows as processed, so
  // that silver (woken by its per-minute schedule) does not move them while the floors are measured.
  const floorPool = new pg.Pool({ connectionString: (pool as unknown as { options: { connectionString: string } }).options.connectionString, max: Math.max(SINGLE_CLIENTS, BATCH_CLIENTS, SILVER_LOOPS) });
  floorPool.on('error', () => undefined);
  console.log(`floors: the same rows inserted straight into PostgreSQL…`);
  let singleFloor: Phase | null = null;
  let batchFloor: Phase | null = null;
  if (single) {
    const nextSingleFloor = makeSender();
    singleFloor = await drive(SINGLE_CLIENTS, FLOOR_SECONDS, async () => {
      const result = await insertBronze(floorPool, [nextSingleFloor()], 'processed');
      return { ok: true, accepted: result.rowCount ?? 0, duplicates: 1 - (result.rowCount ?? 0) };
    });
  }
  if (batch) {
    const nextBatchFloor = makeSender();
    batchFloor = await drive(BATCH_CLIENTS, FLOOR_SECONDS, async () => {
      const seen = new Set<string>();
      const rows = Array.from({ length: BATCH_SIZE }, nextBatchFloor).filter((row) => !seen.has(row.transaction_id) && seen.add(row.transaction_id));
      const result = await insertBronze(floorPool, rows, 'processed');
      return { ok: true, accepted: result.rowCount ?? 0, duplicates: BATCH_SIZE - (result.rowCount ?? 0) };
    });
  }
  // Silver's floor: the pre-loaded transactions' silver rows (a transaction and its three lines, as silver
  // writes them), one statement per silver batch by as many connections as silver has loops.
  let silverFloor: { events: number; seconds: number } | null = null;
  if (silverRun) {
    const eventIds = new Map(
      (await pool.query<{ transaction_id: string; id: string }>(`SELECT transaction_id, id::text FROM ingest_events WHERE business_id = $1 AND transaction_id = ANY ($2::text[])`, [business, preloaded.map((row) => row.transaction_id)])).rows.map((row) => [row.transaction_id, row.id]),
    );
    const batches: Transaction[][] = [];
    for (let start = 0; start < preloaded.length; start += SILVER_BATCH) batches.push(preloaded.slice(start, start + SILVER_BATCH));
    const writeSilver = (rows: Transaction[]) => {
      const lines = rows.flatMap((row) => row.items.map((item, index) => ({ transaction: `${row.transaction_id}#floor`, line: index + 1, ...item })));
      return floorPool.query(
        `WITH written AS (
           INSERT INTO transactions (business_id, shop_id, store_code, transaction_id, event_id, occurred_at, total_cents, currency, item_count)
           SELECT $1, shop, store, id, event, ts, cents, 'USD', 3 FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::bigint[]) AS t(shop, store, id, event, ts, cents)
           RETURNING id AS pk, transaction_id)
         INSERT INTO transaction_items (business_id, transaction_pk, line_no, source_product_id, product_name, brand, qty, unit_price_cents, line_amount_cents)
         SELECT $1, w.pk, l.line, l.product, l.name, l.brand, l.qty, l.price, l.amount
           FROM unnest($8::text[], $9::int[], $10::text[], $11::text[], $12::text[], $13::numeric[], $14::bigint[], $15::bigint[]) AS l(transaction, line, product, name, brand, qty, price, amount)
           JOIN written w ON w.transaction_id = l.transaction`,
        [
          business,
          rows.map((row) => shopByCode.get(row.store_id)!),
          rows.map((row) => row.store_id),
          rows.map((row) => `${row.transaction_id}#floor`),
          rows.map((row) => eventIds.get(row.transaction_id)!),
          rows.map((row) => row.ts),
          rows.map((row) => Math.round(row.total_amount * 100)),
          lines.map((line) => line.transaction),
          lines.map((line) => line.line),
          lines.map((line) => line.product_id),
          lines.map((line) => line.product_name),
          lines.map((line) => line.brand),
          lines.map((line) => line.qty),
          lines.map((line) => Math.round(line.unit_price * 100)),
          lines.map((line) => Math.round(line.line_amount * 100)),
        ],
      );
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: SILVER_LOOPS }, async () => {
      for (let next = batches.shift(); next; next = batches.shift()) await writeSilver(next);
    }));
    silverFloor = { events: preloaded.length, seconds: (performance.now() - started) / 1000 };
  }
  await floorPool.end();

  const ratio = (endpoint: Phase, floor: Phase) => `${((endpoint.accepted / endpoint.seconds / (floor.accepted / floor.seconds)) * 100).toFixed(0)}% of the floor`;
  console.log('');
  console.log(`results (3 items a transaction, ${DUPLICATE_SHARE * 100}% duplicates; load average ${os.loadavg()[0]!.toFixed(2)} at the end):`);
  if (single && singleFloor) {
    console.log(describePhase('single endpoint', single));
    console.log(describePhase('  floor: 1-row INSERT', singleFloor));
    console.log(`    single endpoint at ${ratio(single, singleFloor)}; target 500 req/s with p99 < 100 ms`);
  }
  if (batch && batchFloor) {
    console.log(describePhase('batch endpoint', batch));
    console.log(describePhase('  floor: 1,000-row INSERT', batchFloor));
    console.log(`    batch endpoint at ${ratio(batch, batchFloor)}; target 10,000 tx/s`);
  }
  if (load.total > 0) {
    console.log(`  during the ${loadSeconds.toFixed(0)} s of load (${load.total} accepted, ${rate(load.total, loadSeconds)} tx/s in): silver moved ${rate(silverDuringLoad, loadSeconds)} tx/s`);
    console.log(`    bronze → silver lag p95: ${loadSilver}`);
    console.log(`    gold freshness p95 (accepted → in gold): ${loadGold}`);
    console.log(`    bronze after the catch-up: ${statuses}${backlog > 0 ? `; the ${backlog} pending were deleted before the next phase` : ''}`);
  }
  if (silverRun && silverFloor) {
    const silverRate = silverRun.events / silverRun.seconds;
    const floorRate = silverFloor.events / silverFloor.seconds;
    console.log(`  silver (bronze → silver, linking, quality, gold fold): ${silverRate.toFixed(0).padStart(7)} tx/s  (${silverRun.events} events in ${silverRun.seconds.toFixed(1)} s, ${SILVER_LOOPS} loop(s), batches of ${SILVER_BATCH})`);
    console.log(`    floor: silver rows by ${SILVER_BATCH}-row INSERTs: ${floorRate.toFixed(0).padStart(7)} tx/s  (${SILVER_LOOPS} connection(s)); silver at ${((silverRate / floorRate) * 100).toFixed(0)}% of the floor`);
  }
  for (const run of sustained) {
    console.log(`  sustained at ${run.rate} tx/s offered, duplicates included (${rate(run.phase.accepted, run.phase.seconds)} accepted/s, p99 ${ms(percentile(run.phase.latencies, 99))}, failures ${run.phase.failures}): silver ${run.held ? 'held it' : 'fell behind'}`);
    console.log(`    bronze → silver lag p95: ${run.silver}`);
    console.log(`    gold freshness p95 (accepted → in gold): ${run.gold}`);
  }
  console.log(`  server peak RSS: ${(peakAfterSingle / 1024 / 1024).toFixed(0)} MB after the single phase, ${(peakRss / 1024 / 1024).toFixed(0)} MB after the batch phase`);
} finally {
  await product.stop();
}
