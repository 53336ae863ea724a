/**
 * Foundation benchmark: sign-in and scoped record reads through the REST API and the admin's API.
 * Run with `npm run bench:api` (embedded PostgreSQL in a temporary folder, or DATABASE_URL).
 * Prints latency percentiles and throughput; nothing is asserted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackhouse } from '../app/runtime.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { systemContext } from '../core/context.js';
import { createRecord } from '../core/records/service.js';

const BUSINESSES = Number(process.env.BENCH_BUSINESSES ?? 20);
const PRODUCTS_PER_BUSINESS = Number(process.env.BENCH_PRODUCTS ?? 5000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const PASSWORD = 'bench-password-123';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(name: string, total: number, concurrency: number, call: () => Promise<Response>): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = performance.now();
        const res = await call();
        await res.arrayBuffer();
        if (!res.ok) failures++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} n=${String(total).padStart(5)}  c=${String(concurrency).padStart(2)}  p50=${percentile(latencies, 50).toFixed(1).padStart(6)} ms  p95=${percentile(latencies, 95).toFixed(1).padStart(6)} ms  p99=${percentile(latencies, 99).toFixed(1).padStart(6)} ms  ${(total / seconds).toFixed(0).padStart(5)} req/s  failures=${failures}`,
  );
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-'));
const config = loadConfig({ ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SEED_DEMO: 'false', ADMIN_EMAIL: 'bench-admin@example.com', ADMIN_PASSWORD: PASSWORD, LOGIN_MAX_FAILURES_PER_IP: '100000' });
const log = createLogger(config.LOG_LEVEL);
const running = await startBackhouse('all', config, log);
try {
  const ctx = systemContext('bench', running.db, log);
  console.log(`seeding ${BUSINESSES} businesses × ${PRODUCTS_PER_BUSINESS} products…`);
  const businessIds: string[] = [];
  for (let b = 0; b < BUSINESSES; b++) businessIds.push((await createRecord(ctx, 'businesses', { name: `Bench business ${b}` })).id as string);
  await running.db.pool.query(
    `INSERT INTO products (business_id, name, category, selling_price_cents, cost_price_cents)
     SELECT b.id, 'Product ' || g, 'Category ' || (g % 25), 100 + g % 5000, 50 + g % 2000
     FROM unnest($1::uuid[]) AS b(id), generate_series(1, $2) AS g`,
    [businessIds, PRODUCTS_PER_BUSINESS],
  );
  await running.db.pool.query('ANALYZE products');
  await createRecord(ctx, 'users', { email: 'bench-ops@example.com', role: 'ops', businessId: businessIds[0], password: PASSWORD });

  const base = running.url!;
  const login = (email: string) => fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  await measure('POST /api/auth/login (argon2id)', 50, 2, () => login('bench-ops@example.com'));
  const { token } = (await (await login('bench-ops@example.com')).json()) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  await measure('GET /api/products?perPage=50 (ops, scoped)', REQUESTS, CONCURRENCY, () => fetch(`${base}/api/products?perPage=50`, { headers: auth }));
  const ids = (await running.db.pool.query<{ id: string }>('SELECT id FROM products WHERE business_id = $1 LIMIT 500', [businessIds[0]])).rows.map((r) => r.id);
  await measure('GET /api/products/:id (ops, scoped)', REQUESTS, CONCURRENCY, () => fetch(`${base}/api/products/${ids[Math.floor(Math.random() * ids.length)]}`, { headers: auth }));
  const form = new URLSearchParams({ email: 'bench-ops@example.com', password: PASSWORD });
  const session = await fetch(`${base}/admin/login`, { method: 'POST', body: form, redirect: 'manual' });
  const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
  await measure('GET admin Product list (ops, scoped, 10 rows)', Math.min(REQUESTS, 300), CONCURRENCY, () => fetch(`${base}/admin/api/resources/Product/actions/list`, { headers: { cookie } }));
  await measure('GET /api/healthz', REQUESTS, CONCURRENCY, () => fetch(`${base}/api/healthz`));
} finally {
  await running.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
