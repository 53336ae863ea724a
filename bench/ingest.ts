/**
 * Ingest benchmark (`npm run bench:ingest`, issue 17): the product as its own process (bench/product.ts),
 * driven over loopback by concurrent clients, BENCH_SECONDS (60) per phase:
 *   1. single: POST /api/ingest/transactions by BENCH_SINGLE_CLIENTS (50) clients, one transaction a request;
 *   2. batch: POST /api/ingest/transactions:batch by BENCH_BATCH_CLIENTS (4) clients, 1,000 a request;
 * 3 line items per transaction, 10% of sends repeat an earlier transaction (answered as duplicates).
 * Prints accepted transactions/s, p50/p95/p99 latency per request, the server's peak RSS, and beside each
 * its floor, measured in the same run: the same rows inserted straight into PostgreSQL (one single-row
 * INSERT per transaction by as many clients; one multi-row INSERT per batch), with the ratio.
 * Silver lag and gold freshness are read from the tables while the load runs (the count of silver
 * transactions and gold's transaction count against the count accepted so far): "n/a" where those
 * branches' tables are absent. Nothing is asserted. Run it on a quiet machine (load average below 4).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { eventHash } from '../core/ingest/canonical.js';
import { hashIngestKey } from '../core/ingest/keys.js';
import { peakRssOf, percentile, startProduct } from './product.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const FLOOR_SECONDS = Number(process.env.BENCH_FLOOR_SECONDS ?? Math.min(SECONDS, 20));
const SINGLE_CLIENTS = Number(process.env.BENCH_SINGLE_CLIENTS ?? 50);
const BATCH_CLIENTS = Number(process.env.BENCH_BATCH_CLIENTS ?? 4);
const BATCH_SIZE = 1000;
const DUPLICATE_SHARE = 0.1;
const STORES = 20;
const POOL_SIZE = 10;

const [load1] = os.loadavg();
console.log(`bench:ingest — ${os.cpus().length} CPUs, load average ${load1!.toFixed(2)}${load1! >= 4 ? ' (BUSY: the figures below are not representative)' : ''}`);

const product = await startProduct({
  poolSize: POOL_SIZE,
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
/** A transaction of three line items in one of the stores. */
function newTransaction(): Record<string, unknown> {
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
  const recent: Record<string, unknown>[] = [];
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

/** `clients` loops of `call` for `seconds`; each call answers how many transactions it got accepted / duplicate. */
async function drive(clients: number, seconds: number, call: () => Promise<{ accepted: number; duplicates: number; ok: boolean }>, onAccepted?: (count: number) => void): Promise<Phase> {
  const phase: Phase = { requests: 0, accepted: 0, duplicates: 0, failures: 0, seconds: 0, latencies: [] };
  const started = performance.now();
  const ends = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < ends) {
        const t0 = performance.now();
        const answer = await call().catch(() => ({ accepted: 0, duplicates: 0, ok: false }));
        phase.latencies.push(performance.now() - t0);
        phase.requests += 1;
        phase.accepted += answer.accepted;
        phase.duplicates += answer.duplicates;
        if (!answer.ok) phase.failures += 1;
        if (answer.accepted > 0) onAccepted?.(answer.accepted);
      }
    }),
  );
  phase.seconds = (performance.now() - started) / 1000;
  phase.latencies.sort((a, b) => a - b);
  return phase;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const describePhase = (label: string, phase: Phase) =>
  `  ${label.padEnd(26)} ${(phase.accepted / phase.seconds).toFixed(0).padStart(7)} accepted tx/s  ${(phase.requests / phase.seconds).toFixed(0).padStart(6)} req/s  p50 ${ms(percentile(phase.latencies, 50))}  p95 ${ms(percentile(phase.latencies, 95))}  p99 ${ms(percentile(phase.latencies, 99))}  duplicates ${phase.duplicates}  failures ${phase.failures}`;

/** Reads, while the load runs, how many of the bench's transactions silver and gold show (null: table absent). */
async function tableExists(pool: pg.Pool, name: string): Promise<boolean> {
  return (await pool.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [name])).rows[0]!.found;
}

/** Acceptance times against the times silver/gold showed that many: the p95 of the differences. */
class Visibility {
  private accepted: { at: number; total: number }[] = [];
  private seen: { at: number; total: number }[] = [];
  private total = 0;
  record(count: number) {
    this.total += count;
    this.accepted.push({ at: performance.now(), total: this.total });
  }
  observe(total: number) {
    this.seen.push({ at: performance.now(), total });
  }
  get caughtUp(): boolean {
    return (this.seen[this.seen.length - 1]?.total ?? 0) >= this.total;
  }
  p95(): number | null {
    if (this.accepted.length === 0) return null;
    const lags: number[] = [];
    let cursor = 0;
    for (const mark of this.accepted) {
      while (cursor < this.seen.length && this.seen[cursor]!.total < mark.total) cursor += 1;
      if (cursor >= this.seen.length) return null;
      lags.push(Math.max(0, this.seen[cursor]!.at - mark.at));
    }
    lags.sort((a, b) => a - b);
    return percentile(lags, 95);
  }
}

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

  const hasSilver = await tableExists(pool, 'transactions');
  const hasGold = await tableExists(pool, 'gold_sales_hourly');
  const silver = new Visibility();
  const gold = new Visibility();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      if (hasSilver) silver.observe(Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM transactions WHERE business_id = $1', [business])).rows[0]!.n));
      if (hasGold) gold.observe(Number((await pool.query<{ n: string }>('SELECT coalesce(sum(transactions), 0) AS n FROM gold_sales_hourly WHERE business_id = $1', [business])).rows[0]!.n));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const accepted = (count: number) => {
    silver.record(count);
    gold.record(count);
  };

  console.log(`single endpoint: ${SINGLE_CLIENTS} clients for ${SECONDS} s…`);
  const nextSingle = makeSender();
  const single = await drive(
    SINGLE_CLIENTS,
    SECONDS,
    async () => {
      const response = await fetch(`${product.base}/api/ingest/transactions`, { method: 'POST', headers, body: JSON.stringify(nextSingle()) });
      const body = (await response.json()) as { data?: { status: string } };
      return { ok: response.status === 202, accepted: body.data?.status === 'accepted' ? 1 : 0, duplicates: body.data?.status === 'duplicate' ? 1 : 0 };
    },
    accepted,
  );
  const peakAfterSingle = peakRssOf(product.pid);

  console.log(`batch endpoint: ${BATCH_CLIENTS} clients, ${BATCH_SIZE} a batch, for ${SECONDS} s…`);
  const nextBatched = makeSender();
  const batch = await drive(
    BATCH_CLIENTS,
    SECONDS,
    async () => {
      const transactions = Array.from({ length: BATCH_SIZE }, nextBatched);
      const response = await fetch(`${product.base}/api/ingest/transactions:batch`, { method: 'POST', headers, body: JSON.stringify({ transactions }) });
      const body = (await response.json()) as { data?: { accepted: number; duplicate: number; refused: number } };
      return { ok: response.status === 200 && body.data?.refused === 0, accepted: body.data?.accepted ?? 0, duplicates: body.data?.duplicate ?? 0 };
    },
    accepted,
  );
  const peakRss = peakRssOf(product.pid);

  // Silver and gold catch up (at most 60 s more), then the sampler stops.
  const waitUntil = performance.now() + 60_000;
  while ((hasSilver && !silver.caughtUp) || (hasGold && !gold.caughtUp)) {
    if (performance.now() > waitUntil) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  sampling = false;
  await sampler;

  // The floors: the same rows straight into ingest_events, no HTTP, no validation.
  const rowOf = (transaction: Record<string, unknown>) => {
    const hash = eventHash(transaction).toString('hex');
    return { shop: shopByCode.get(transaction.store_id as string)!, store: transaction.store_id as string, id: transaction.transaction_id as string, hash, payload: JSON.stringify(transaction) };
  };
  const insertRows = (client: pg.PoolClient | pg.Pool, rows: ReturnType<typeof rowOf>[]) =>
    client.query(
      `INSERT INTO ingest_events (business_id, shop_id, store_code, transaction_id, event_hash, payload)
       SELECT $1, shop, store, id, decode(hash, 'hex'), payload::jsonb FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(shop, store, id, hash, payload)
        ORDER BY hash
       ON CONFLICT (business_id, event_hash) DO NOTHING`,
      [business, rows.map((row) => row.shop), rows.map((row) => row.store), rows.map((row) => row.id), rows.map((row) => row.hash), rows.map((row) => row.payload)],
    );
  const floorPool = new pg.Pool({ connectionString: (pool as unknown as { options: { connectionString: string } }).options.connectionString, max: Math.max(SINGLE_CLIENTS, BATCH_CLIENTS) });
  floorPool.on('error', () => undefined);
  console.log(`floors: the same rows inserted straight into PostgreSQL, ${FLOOR_SECONDS} s each…`);
  const nextSingleFloor = makeSender();
  const singleFloor = await drive(SINGLE_CLIENTS, FLOOR_SECONDS, async () => {
    const result = await insertRows(floorPool, [rowOf(nextSingleFloor())]);
    return { ok: true, accepted: result.rowCount ?? 0, duplicates: 1 - (result.rowCount ?? 0) };
  });
  const nextBatchFloor = makeSender();
  const batchFloor = await drive(BATCH_CLIENTS, FLOOR_SECONDS, async () => {
    const seen = new Set<string>();
    const rows = Array.from({ length: BATCH_SIZE }, () => rowOf(nextBatchFloor())).filter((row) => !seen.has(row.hash) && seen.add(row.hash));
    const result = await insertRows(floorPool, rows);
    return { ok: true, accepted: result.rowCount ?? 0, duplicates: BATCH_SIZE - (result.rowCount ?? 0) };
  });
  await floorPool.end();

  const ratio = (endpoint: Phase, floor: Phase) => `${((endpoint.accepted / endpoint.seconds / (floor.accepted / floor.seconds)) * 100).toFixed(0)}% of the floor`;
  const lag = (has: boolean, name: string, visibility: Visibility) => (has ? (visibility.p95() === null ? 'not caught up within 60 s' : ms(visibility.p95()!)) : `n/a (${name} not merged)`);
  console.log('');
  console.log(`results (${single.accepted + batch.accepted} transactions accepted over HTTP; 3 items each, ${DUPLICATE_SHARE * 100}% duplicates):`);
  console.log(describePhase('single endpoint', single));
  console.log(describePhase('  floor: 1-row INSERT', singleFloor));
  console.log(`    single endpoint at ${ratio(single, singleFloor)}; target 500 req/s with p99 < 100 ms`);
  console.log(describePhase('batch endpoint', batch));
  console.log(describePhase('  floor: 1,000-row INSERT', batchFloor));
  console.log(`    batch endpoint at ${ratio(batch, batchFloor)}; target 10,000 tx/s`);
  console.log(`  bronze → silver lag p95: ${lag(hasSilver, 'silver', silver)} (target < 2 s)`);
  console.log(`  gold freshness p95 (accepted → visible in gold): ${lag(hasGold, 'gold', gold)} (target < 5 s)`);
  console.log(`  server peak RSS: ${(peakAfterSingle / 1024 / 1024).toFixed(0)} MB after the single phase, ${(peakRss / 1024 / 1024).toFixed(0)} MB after the batch phase`);
  console.log(`  load average at the end: ${os.loadavg()[0]!.toFixed(2)}`);
} finally {
  await product.stop();
}
