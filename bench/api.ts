/**
 * API benchmark (`npm run bench:api`): sign-in, and concurrent scoped reads through the REST API, the metrics
 * API and the admin's API, each beside its floor: the same SQL the endpoint runs (the caller's user row and the
 * token's revocation, then
 * the endpoint's own queries, in the same order and parallelism), sent straight to PostgreSQL through a pg pool
 * of the app's size by as many concurrent callers, in the same run. The product runs as its own process
 * (`node .build/cli/start.js`, LOG_LEVEL info as `npm start`, log to a file) with the demo data, 20 businesses
 * × BENCH_PRODUCTS products; the load comes from this process. Also prints the CPU time per request of the app
 * and of PostgreSQL, which the machine's other load does not inflate as much as latency.
 * BENCH_REQUESTS, BENCH_CONCURRENCY (50, as the probe of issue 15), BENCH_LOG_LEVEL; BENCH_CPU_PROF=<dir>
 * writes a V8 CPU profile of the server (`node --cpu-prof`) there when it stops. Nothing is asserted.
 */
import { randomUUID } from 'node:crypto';
import { hashPassword } from '../core/auth/passwords.js';
import { DEMO_BUSINESS_ID } from '../core/demo/seed.js';
import { percentile, postmasterOf, processStat, serverCpuSeconds, startProduct } from './product.js';

const BUSINESSES = Number(process.env.BENCH_BUSINESSES ?? 20);
const PRODUCTS_PER_BUSINESS = Number(process.env.BENCH_PRODUCTS ?? 5000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const POOL_SIZE = 10; // DATABASE_POOL_SIZE's default: the app's pg pool and Prisma's each have this many.
const PASSWORD = 'bench-password-123';

const profileDir = process.env.BENCH_CPU_PROF;
const product = await startProduct({
  poolSize: POOL_SIZE,
  nodeFlags: profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', SEED_DEMO: 'true', ADMIN_EMAIL: 'bench-admin@example.com', ADMIN_PASSWORD: PASSWORD, LOGIN_MAX_FAILURES_PER_IP: '100000' },
});

interface Figures {
  p50: number;
  p95: number;
  perSecond: number;
  failures: number;
  appCpuMs: number;
  databaseCpuMs: number;
}

/** `total` calls by `concurrency` callers; latency of each, throughput, and CPU per call of the app and of PostgreSQL. */
async function measure(total: number, concurrency: number, call: () => Promise<boolean>, cpu: () => { app: number; database: number }): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const cpuBefore = cpu();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = performance.now();
        if (!(await call().catch(() => false))) failures++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpu();
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    perSecond: total / seconds,
    failures,
    appCpuMs: ((cpuAfter.app - cpuBefore.app) * 1000) / total,
    databaseCpuMs: ((cpuAfter.database - cpuBefore.database) * 1000) / total,
  };
}

const line = (label: string, f: Figures) =>
  `  ${label.padEnd(7)} p50=${f.p50.toFixed(1).padStart(6)} ms  p95=${f.p95.toFixed(1).padStart(6)} ms  ${f.perSecond.toFixed(0).padStart(5)} req/s  CPU/request: app ${f.appCpuMs.toFixed(2).padStart(5)} ms, PostgreSQL ${f.databaseCpuMs.toFixed(2).padStart(5)} ms  failures=${f.failures}`;

try {
  const pool = product.pool;
  const postmaster = await postmasterOf(pool);
  const cpu = () => ({ app: processStat(product.pid).cpuSeconds, database: serverCpuSeconds(postmaster) });

  console.log(`seeding ${BUSINESSES} businesses × ${PRODUCTS_PER_BUSINESS} products (the demo business among them)…`);
  await pool.query(`INSERT INTO businesses (name) SELECT 'Bench business ' || g FROM generate_series(1, $1) g`, [BUSINESSES - 1]);
  const businessIds = (await pool.query<{ id: string }>(`SELECT id FROM businesses`)).rows.map((r) => r.id);
  await pool.query(
    `INSERT INTO products (business_id, name, category, selling_price_cents, cost_price_cents)
     SELECT b.id, 'Product ' || g, 'Category ' || (g % 25), 100 + g % 5000, 50 + g % 2000
     FROM unnest($1::uuid[]) AS b(id), generate_series(1, $2) AS g`,
    [businessIds, PRODUCTS_PER_BUSINESS],
  );
  await pool.query('ANALYZE products');
  await pool.query(`INSERT INTO users (email, password_hash, role, business_id) VALUES ('bench-ops@example.com', $1, 'ops', $2)`, [await hashPassword(PASSWORD), DEMO_BUSINESS_ID]);
  // The Metrics KPIs read the demo's ninety days of sales, loaded by a job after the first start.
  for (;;) {
    const feed = (await pool.query<{ status: string }>(`SELECT status FROM data_feeds WHERE business_id = $1`, [DEMO_BUSINESS_ID])).rows[0];
    if (feed?.status === 'transformed') break;
    if (feed?.status === 'failed') throw new Error('the demo sales did not load');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const base = product.base;
  const login = () => fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench-ops@example.com', password: PASSWORD }) });
  const signIn = await measure(50, 2, async () => (await login()).ok, cpu);
  console.log(`POST /api/auth/login (argon2id), n=50 c=2\n${line('app', signIn)}`);
  const { token } = (await (await login()).json()) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const get = (url: string, headers: Record<string, string> = auth) => async () => {
    const res = await fetch(`${base}${url}`, { headers });
    await res.arrayBuffer();
    return res.ok;
  };
  const userId = (await pool.query<{ id: string }>(`SELECT id FROM users WHERE email = 'bench-ops@example.com'`)).rows[0]!.id;
  // Every token-authenticated request first reads its caller's user row (role, scope, disabled, auth version)
  // and whether the token was ended (core/auth/credentials.ts), side by side.
  const tokenId = randomUUID();
  const caller = () => Promise.all([pool.query('SELECT * FROM users WHERE id = $1', [userId]), pool.query('SELECT count(*) FROM revoked_tokens WHERE token_id = $1', [tokenId])]);
  const ids = (await pool.query<{ id: string }>('SELECT id FROM products WHERE business_id = $1 LIMIT 500', [DEMO_BUSINESS_ID])).rows.map((r) => r.id);
  const randomId = () => ids[Math.floor(Math.random() * ids.length)]!;
  const { from, to, previousFrom, previousTo } = (
    await pool.query<{ from: string; to: string; previousFrom: string; previousTo: string }>(
      `SELECT (d - 29)::text AS "from", d::text AS "to", (d - 59)::text AS "previousFrom", (d - 30)::text AS "previousTo" FROM (SELECT (now() AT TIME ZONE timezone)::date AS d FROM businesses WHERE id = $1) t`,
      [DEMO_BUSINESS_ID],
    )
  ).rows[0]!;
  const kpiSql = `SELECT count(*) AS records, sum(quantity) AS quantity, count(DISTINCT order_id) AS orders, sum(gross_revenue) AS gross_revenue, sum(discount) AS discount,
            sum(cogs_amount) AS cogs_amount, sum(gross_margin_amount) AS gross_margin_amount,
            round(100 * sum(gross_margin_amount) / NULLIF(sum(gross_revenue), 0), 2) AS gross_margin_percent,
            round(sum(gross_revenue) / NULLIF(count(DISTINCT order_id), 0), 2) AS avg_order_value
     FROM fact_sales WHERE business_id = $1 AND date_key BETWEEN $2 AND $3 AND ($4::uuid IS NULL OR product_id = $4)`;

  const routes: { name: string; app: () => Promise<boolean>; floor: () => Promise<unknown> }[] = [
    {
      name: 'GET /api/products?perPage=50 (ops, scoped, 5,000 products)',
      app: get('/api/products?perPage=50'),
      floor: async () => {
        await caller();
        await Promise.all([
          pool.query('SELECT * FROM products WHERE business_id = $1 ORDER BY id DESC LIMIT 50 OFFSET 0', [DEMO_BUSINESS_ID]),
          pool.query('SELECT count(*) FROM products WHERE business_id = $1', [DEMO_BUSINESS_ID]),
        ]);
      },
    },
    {
      name: 'GET /dashboard/metrics/kpi (ops, last 30 days)',
      app: get('/dashboard/metrics/kpi'),
      floor: async () => {
        await caller();
        await pool.query('SELECT * FROM businesses WHERE id = $1', [DEMO_BUSINESS_ID]);
        await Promise.all([pool.query(kpiSql, [DEMO_BUSINESS_ID, from, to, null]), pool.query(kpiSql, [DEMO_BUSINESS_ID, previousFrom, previousTo, null])]);
      },
    },
    {
      name: 'GET /api/products/:id (ops, scoped)',
      app: async () => get(`/api/products/${randomId()}`)(),
      floor: async () => {
        await caller();
        await pool.query('SELECT * FROM products WHERE id = $1 AND business_id = $2 LIMIT 1', [randomId(), DEMO_BUSINESS_ID]);
      },
    },
  ];
  console.log(`\n${REQUESTS} requests by ${CONCURRENCY} concurrent clients; floor: the same SQL straight to PostgreSQL (pg pool of ${POOL_SIZE}, ${CONCURRENCY} concurrent callers)`);
  for (const route of routes) {
    // A short warm-up of both, so that neither pays for first plans and cold caches.
    await measure(100, CONCURRENCY, route.app, cpu);
    await measure(100, CONCURRENCY, async () => (await route.floor(), true), cpu);
    const app = await measure(REQUESTS, CONCURRENCY, route.app, cpu);
    const floor = await measure(REQUESTS, CONCURRENCY, async () => (await route.floor(), true), cpu);
    console.log(`${route.name}\n${line('app', app)}\n${line('floor', floor)}\n  app / floor: p95 ${(app.p95 / floor.p95).toFixed(1)}×, throughput ${(floor.perSecond / app.perSecond).toFixed(1)}× lower`);
  }

  const form = new URLSearchParams({ email: 'bench-ops@example.com', password: PASSWORD });
  const session = await fetch(`${base}/admin/login`, { method: 'POST', body: form, redirect: 'manual' });
  const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
  const adminList = await measure(Math.min(REQUESTS, 300), CONCURRENCY, get('/admin/api/resources/Product/actions/list', { cookie }), cpu);
  console.log(`GET admin Product list (ops session, scoped, 10 rows), n=${Math.min(REQUESTS, 300)}\n${line('app', adminList)}`);
  const health = await measure(REQUESTS, CONCURRENCY, get('/api/healthz', {}), cpu);
  console.log(`GET /api/healthz (no caller)\n${line('app', health)}`);
} finally {
  await product.stop();
  if (profileDir) console.log(`CPU profile of the server written to ${profileDir}`);
}
