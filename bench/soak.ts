/**
 * Soak (`npm run bench:soak [-- --minutes 10]`): mixed load on loopback against the product started here as its
 * own process (`node .build/cli/start.js`, the demo data, an embedded PostgreSQL in a temporary folder, or
 * DATABASE_URL), for a bounded time, then it stops by itself:
 * - a sales feed every 30 s (a generated CSV over the demo products: preview, commit, wait for `transformed`),
 * - a mapping execution every 60 s (a generated orders CSV uploaded as a data source of the layout whose
 *   mapping was saved and approved at the start: execute, wait for `succeeded`),
 * - 20 managers (the demo's manager login) polling the dashboards they are granted (`GET /api/dashboard/:id/data`),
 * - an admin going through list pages (the admin's API with a session, and REST lists with a token),
 * - now and then a multipart upload cut off inside its file part, to `POST /dashboard/data-feeds/preview`:
 *   answered 400 it is expected; anything else, or no answer, is an error.
 * Every minute: requests and errors by kind, p95 per route, the server's RSS and PostgreSQL's client
 * connections (pg_stat_activity; the soak's own monitoring connection included). At the end: the same for the
 * whole run, and whether RSS and connections held flat after the warm-up (every minute's peak within 10% of
 * each other). Should the server die, the soak says so at once, stops its load and exits 1, never waiting on it.
 *
 * Flags (or env): --minutes (SOAK_MINUTES, 10), --managers (SOAK_MANAGERS, 20), --poll-seconds (3),
 * --feed-seconds (30), --feed-rows (2000), --mapping-seconds (60), --mapping-rows (2000), --cutoff-seconds (45; 0: none).
 */
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createdLogins, percentile, rssOf, startProduct } from './product.js';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
    managers: { type: 'string', default: process.env.SOAK_MANAGERS ?? '20' },
    'poll-seconds': { type: 'string', default: '3' },
    'feed-seconds': { type: 'string', default: '30' },
    'feed-rows': { type: 'string', default: '2000' },
    'mapping-seconds': { type: 'string', default: '60' },
    'mapping-rows': { type: 'string', default: '2000' },
    'cutoff-seconds': { type: 'string', default: '45' },
  },
});
const positive = (name: keyof typeof flags) => {
  const value = Number(flags[name]);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number (it was ${JSON.stringify(flags[name])})`);
  return value;
};
const MINUTES = positive('minutes');
const MANAGERS = Math.round(positive('managers'));
const POLL_MS = positive('poll-seconds') * 1000;
const FEED_MS = positive('feed-seconds') * 1000;
const FEED_ROWS = Math.round(positive('feed-rows'));
const MAPPING_MS = positive('mapping-seconds') * 1000;
const MAPPING_ROWS = Math.round(positive('mapping-rows'));
/** 0: none (to soak a build that still dies of them, see issue 15). */
const CUTOFF_MS = Number(flags['cutoff-seconds']) * 1000;
if (!(CUTOFF_MS >= 0)) throw new Error(`--cutoff-seconds must be 0 (none) or more (it was ${JSON.stringify(flags['cutoff-seconds'])})`);
/** Minutes whose figures are the warm-up: not part of the flatness check. */
const WARM_UP_MINUTES = MINUTES >= 5 ? 2 : 1;
const REQUEST_TIMEOUT_MS = 60_000;
const PASSWORD = 'soak-password-123';
const ADMIN_EMAIL = 'soak-admin@example.com';

const product = await startProduct({
  poolSize: 1,
  env: { LOG_LEVEL: 'info', SEED_DEMO: 'true', ADMIN_EMAIL, ADMIN_PASSWORD: PASSWORD },
});
const base = product.base;
const stop = new AbortController();
// Every waiting loop and request listens to it.
setMaxListeners(0, stop.signal);
const started = performance.now();
const deadline = started + MINUTES * 60_000;
const running = () => !stop.signal.aborted && performance.now() < deadline;
/** Waits `ms`, or less when the soak stops meanwhile. */
const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    if (stop.signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, Math.min(ms, deadline - performance.now())));
    function done() {
      clearTimeout(timer);
      stop.signal.removeEventListener('abort', done);
      resolve();
    }
    stop.signal.addEventListener('abort', done);
  });

// What was measured: latencies per route (this minute and the whole run), errors by kind, monitoring samples.
const minuteLatencies = new Map<string, number[]>();
const runLatencies = new Map<string, number[]>();
const minuteErrors = new Map<string, number>();
const runErrors = new Map<string, number>();
const minutes: { minute: number; requests: number; errors: number; rssMax: number; connectionsMax: number }[] = [];
const samples = { rss: [] as number[], connections: [] as number[] };
const counts = { feeds: 0, feedSeconds: [] as number[], executions: 0, rowsLoaded: 0, cutOff: 0 };
let serverDied: string | null = null;

function recordError(kind: string): void {
  for (const errors of [minuteErrors, runErrors]) errors.set(kind, (errors.get(kind) ?? 0) + 1);
}

function recordLatency(route: string, ms: number): void {
  for (const latencies of [minuteLatencies, runLatencies]) {
    const list = latencies.get(route) ?? [];
    list.push(ms);
    latencies.set(route, list);
  }
}

/**
 * One request, timed under its route's name: its response when the status is one of `expected`, null otherwise
 * (the status, a timeout or a lost connection counted as an error of the route).
 */
async function call(route: string, url: string, init: RequestInit = {}, expected: number[] = [200]): Promise<Response | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}${url}`, { ...init, signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), stop.signal]) });
    const body = await res.arrayBuffer();
    recordLatency(route, performance.now() - t0);
    if (!expected.includes(res.status)) {
      recordError(`${route}: ${res.status}`);
      return null;
    }
    return new Response(body, { status: res.status, headers: res.headers });
  } catch (error) {
    // Our own stop is not the request's fault; a connection lost as the server died is.
    if ((error as Error).name === 'AbortError' && stop.signal.aborted) return null;
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    recordError(`${route}: ${cause === 'TimeoutError' ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s` : `connection ${cause}`}`);
    return null;
  }
}

const json = (body: unknown, headers: Record<string, string>): RequestInit => ({ method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const formWithFile = (fields: Record<string, string>, name: string, text: string) => {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('file', new Blob([text], { type: 'text/csv' }), name);
  return form;
};

async function tokenOf(email: string, password: string): Promise<string> {
  const res = await call('POST /api/auth/login', '/api/auth/login', json({ email, password }, {}));
  if (!res) throw new Error(`${email} could not sign in`);
  return ((await res.json()) as { token: string }).token;
}

const isoDaysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

/** A sales file as a shop's till exports it: the last 30 days, the demo's products, one line per order line. */
function salesCsv(feed: number, products: { name: string; sellingPriceCents: number }[]): string {
  const lines = ['transaction_date,product_name,quantity,price,discount,channel,customer,order_id'];
  for (let i = 0; i < FEED_ROWS; i++) {
    const item = products[(i * 7 + feed) % products.length]!;
    lines.push(`${isoDaysAgo(1 + (i % 30))},${item.name},${1 + ((i + feed) % 5)},${(item.sellingPriceCents / 100).toFixed(2)},${i % 13 === 0 ? '0.50' : '0'},${i % 4 === 0 ? 'Online' : 'Offline'},soak${i % 300}@example.com,SOAK-${feed}-${Math.floor(i / 3)}`);
  }
  return `${lines.join('\n')}\n`;
}

const ORDER_HEADERS = 'Order No,Customer,Order Date,Status,Total,Currency,Sales Rep';
/** An orders export (the layout of bench/mapping.ts): refs repeat across cycles, so later executions upsert. */
function ordersCsv(cycle: number): string {
  const statuses = ['paid', 'shipped', 'complete', 'cancelled'];
  const lines = [ORDER_HEADERS];
  for (let i = 0; i < MAPPING_ROWS; i++) {
    const [year, month, day] = isoDaysAgo(1 + ((i + cycle) % 60)).split('-');
    lines.push(`so-${(i + cycle * 500) % (MAPPING_ROWS * 2)},C${i % 400},${day}/${month}/${year},${statuses[(i + cycle) % 4]},"${(10 + ((i * 31 + cycle) % 9000) / 7).toFixed(2)}",${i % 10 === 0 ? 'eur' : ''},rep${i % 5}@soak.example`);
  }
  return `${lines.join('\n')}\n`;
}

async function feedLoop(auth: Record<string, string>, products: { name: string; sellingPriceCents: number }[]): Promise<void> {
  for (let feed = 1; running(); feed++) {
    const cycleStart = performance.now();
    const preview = await call('POST /dashboard/data-feeds/preview', '/dashboard/data-feeds/preview', { method: 'POST', headers: auth, body: formWithFile({ data_type: 'sales' }, `soak-${feed}.csv`, salesCsv(feed, products)) });
    const token = preview && ((await preview.json()) as { upload_token: string }).upload_token;
    const commit = token && (await call('POST /dashboard/data-feeds/commit', '/dashboard/data-feeds/commit', json({ upload_token: token }, auth), [202]));
    if (commit) {
      const feedId = ((await commit.json()) as { feed_id: number }).feed_id;
      const committed = performance.now();
      for (;;) {
        await pause(1000);
        if (stop.signal.aborted) break;
        const status = await call('GET /dashboard/data-feeds/:id/transform-status', `/dashboard/data-feeds/${feedId}/transform-status`, { headers: auth });
        const state = status && ((await status.json()) as { status: string }).status;
        if (state === 'transformed') {
          counts.feeds++;
          counts.feedSeconds.push((performance.now() - committed) / 1000);
          break;
        }
        if (state === 'failed') {
          recordError('feed load failed');
          break;
        }
        // A feed still loading when the soak ends is left to the product's shutdown; at most five minutes on one.
        if (!running() || performance.now() - committed > 300_000) {
          if (running()) recordError('feed load not finished within 5 minutes');
          break;
        }
      }
    }
    await pause(FEED_MS - (performance.now() - cycleStart));
  }
}

/** Uploads an orders file as a data source; its id and, for a layout already approved, the approved version. */
async function uploadOrders(auth: Record<string, string>, cycle: number): Promise<{ id: string; approved: boolean } | null> {
  const res = await call('POST /api/data-sources', '/api/data-sources', { method: 'POST', headers: auth, body: formWithFile({ name: `Soak orders ${cycle}` }, `orders-${cycle}.csv`, ordersCsv(cycle)) }, [201]);
  if (!res) return null;
  const body = (await res.json()) as { id: string; approved_mapping?: unknown };
  return { id: body.id, approved: Boolean(body.approved_mapping) };
}

/** The orders layout's mapping, saved by ops and approved by the admin, once. */
async function approveOrdersMapping(ops: Record<string, string>, admin: Record<string, string>): Promise<void> {
  const source = await uploadOrders(ops, 0);
  if (!source) throw new Error('the first orders file could not be uploaded');
  const columns = [
    { source: 'Order No', target: 'order_ref', transforms: [{ op: 'trim' }, { op: 'upper' }] },
    { source: 'Customer', target: 'customer_ref', transforms: [{ op: 'trim' }] },
    { source: 'Order Date', target: 'order_date', transforms: [{ op: 'date_parse', format: 'DD/MM/YYYY' }] },
    { source: 'Status', target: 'status', transforms: [{ op: 'lower' }] },
    { source: 'Total', target: 'total_amount', transforms: [{ op: 'number_parse', locale: 'en' }] },
    { source: 'Currency', target: 'currency', transforms: [{ op: 'upper' }] },
    { source: 'Sales Rep', target: 'manager_ref', transforms: [{ op: 'trim' }, { op: 'lower' }] },
  ];
  const saved = await fetch(`${base}/api/mapping/save`, json({ data_source_id: source.id, table: 'orders', columns }, ops));
  const version = (await saved.json()) as { id: string };
  if (saved.status !== 201) throw new Error(`saving the orders mapping answered ${saved.status}: ${JSON.stringify(version)}`);
  const approved = await fetch(`${base}/api/mapping/approve`, json({ mapping_version_id: version.id }, admin));
  if (approved.status !== 200) throw new Error(`approving the orders mapping answered ${approved.status}: ${await approved.text()}`);
}

async function mappingLoop(auth: Record<string, string>): Promise<void> {
  for (let cycle = 1; running(); cycle++) {
    const cycleStart = performance.now();
    const source = await uploadOrders(auth, cycle);
    if (source && !source.approved) recordError('data source: approved mapping not recognised');
    const execute = source?.approved ? await call('POST /api/mapping/execute', '/api/mapping/execute', json({ data_source_id: source.id }, auth), [202]) : null;
    if (execute) {
      const executionId = ((await execute.json()) as { execution_id: string }).execution_id;
      const queued = performance.now();
      for (;;) {
        await pause(1000);
        if (stop.signal.aborted) break;
        const res = await call('GET /api/mapping/executions/:id', `/api/mapping/executions/${executionId}`, { headers: auth });
        const status = res && ((await res.json()) as { status: string; rows_loaded: number; error: string | null });
        if (status?.status === 'succeeded') {
          counts.executions++;
          counts.rowsLoaded += status.rows_loaded;
          break;
        }
        if (status?.status === 'failed') {
          recordError('mapping execution failed');
          break;
        }
        if (!running() || performance.now() - queued > 300_000) {
          if (running()) recordError('mapping execution not finished within 5 minutes');
          break;
        }
      }
    }
    await pause(MAPPING_MS - (performance.now() - cycleStart));
  }
}

async function managerLoop(auth: Record<string, string>, index: number): Promise<void> {
  const list = await call('GET /api/dashboards', '/api/dashboards', { headers: auth });
  const dashboards = list ? ((await list.json()) as { data: { id: string }[] }).data : [];
  if (dashboards.length === 0) {
    recordError('manager: no dashboard granted');
    return;
  }
  // Managers start spread over one polling interval, as people opening the page at different moments.
  await pause((POLL_MS * index) / MANAGERS);
  for (let poll = index; running(); poll++) {
    const t0 = performance.now();
    await call('GET /api/dashboard/:id/data', `/api/dashboard/${dashboards[poll % dashboards.length]!.id}/data`, { headers: auth });
    await pause(POLL_MS - (performance.now() - t0));
  }
}

async function adminLoop(auth: Record<string, string>, cookie: string): Promise<void> {
  const pages: [string, string, Record<string, string>][] = [
    ...['Product', 'DataFeed', 'AuditLog', 'User', 'Job'].map((resource): [string, string, Record<string, string>] => [`GET /admin/api/resources/${resource}/actions/list`, `/admin/api/resources/${resource}/actions/list`, { cookie }]),
    ['GET /api/products', '/api/products?perPage=50', auth],
    ['GET /api/audit-log', '/api/audit-log?perPage=50', auth],
    ['GET /api/users', '/api/users', auth],
  ];
  for (let page = 0; running(); page++) {
    const [route, url, headers] = pages[page % pages.length]!;
    await call(route, url, { headers });
    await pause(2000);
  }
}

/** The probe's cut-off upload (issue 15): the body ends inside the file part. A 400 is the right answer. */
async function cutOffLoop(auth: Record<string, string>): Promise<void> {
  if (CUTOFF_MS === 0) return;
  await pause(CUTOFF_MS / 2);
  while (running()) {
    const body = '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nproduct_name,quantity\r\nabc';
    await call('POST /dashboard/data-feeds/preview (cut off)', '/dashboard/data-feeds/preview', { method: 'POST', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=xyz' }, body }, [400]);
    counts.cutOff++;
    await pause(CUTOFF_MS);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Samples RSS and connections every 5 s; prints the minute's figures at each minute's end. */
async function monitorLoop(): Promise<void> {
  let minuteStart = performance.now();
  let rssMax = 0;
  let connectionsMax = 0;
  let requestsBefore = 0;
  while (!stop.signal.aborted) {
    await pause(5000);
    const rss = rssOf(product.pid);
    if (rss !== null) rssMax = Math.max(rssMax, rss);
    const connections = await product.pool
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'`)
      .then((r) => r.rows[0]!.n)
      .catch(() => (recordError('monitor: PostgreSQL did not answer'), null));
    if (connections !== null) connectionsMax = Math.max(connectionsMax, connections);
    const ended = !running();
    if (performance.now() - minuteStart >= 60_000 - 500 || ended) {
      if (performance.now() - minuteStart < 30_000) break; // A last sliver of a minute says nothing on its own.
      const minute = minutes.length + 1;
      const requests = [...runLatencies.values()].reduce((sum, list) => sum + list.length, 0);
      const errors = [...minuteErrors.values()].reduce((sum, n) => sum + n, 0);
      minutes.push({ minute, requests: requests - requestsBefore, errors, rssMax, connectionsMax });
      samples.rss.push(rssMax);
      samples.connections.push(connectionsMax);
      const p95s = [...minuteLatencies].map(([route, list]) => `${route.replace(/^(GET|POST) /, '')} ${percentile(list.sort((a, b) => a - b), 95).toFixed(0)}`).join(', ');
      console.log(
        `minute ${String(minute).padStart(2)}${minute <= WARM_UP_MINUTES ? ' (warm-up)' : ''}: ${requests - requestsBefore} requests, ${errors} errors${errors ? ` (${[...minuteErrors].map(([k, n]) => `${k} ×${n}`).join('; ')})` : ''} | server RSS peak ${mb(rssMax)} | PostgreSQL client connections peak ${connectionsMax} | p95 ms: ${p95s}`,
      );
      requestsBefore = requests;
      minuteLatencies.clear();
      minuteErrors.clear();
      minuteStart = performance.now();
      rssMax = 0;
      connectionsMax = 0;
    }
    if (ended) break;
  }
}

/** Flat after the warm-up: every later minute's peak within 10% of each other. */
function flatness(label: string, values: number[], format: (n: number) => string): string {
  const after = values.slice(WARM_UP_MINUTES);
  if (after.length < 2) return `${label}: too few minutes after the warm-up (${WARM_UP_MINUTES}) to judge`;
  const [low, high] = [Math.min(...after), Math.max(...after)];
  const spread = (high - low) / low;
  // Which way it went, first minute after the warm-up to the last: growth is what a leak looks like.
  const change = (after[after.length - 1]! - after[0]!) / after[0]!;
  const trend = `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}% from the first minute after the warm-up to the last`;
  return `${label} after the warm-up: ${format(low)}–${format(high)} (spread ${(spread * 100).toFixed(1)}%, ${trend}; per minute ${values.map(format).join(', ')}): ${spread <= 0.1 ? 'held flat (target: within 10%)' : 'NOT flat (target: within 10%)'}`;
}

let exitCode = 0;
product.exited.then(() => {
  if (stop.signal.aborted) return;
  // The log's last lines, from the error that ended the process when there is one.
  const last = fs.readFileSync(product.logFile, 'utf8').trim().split('\n').slice(-40);
  const tail = last.slice(Math.max(0, last.findIndex((line) => /Error/.test(line)))).slice(0, 6).join('\n');
  serverDied = `the server process ended at ${((performance.now() - started) / 1000).toFixed(0)} s (${JSON.stringify(product.exit)}); its log ended with:\n${tail}`;
  recordError('server died');
  console.log(`\n!!! ${serverDied}\n`);
  stop.abort();
});

try {
  const logins = createdLogins(product);
  const managerPassword = logins.get('manager@demo.backhouse.local');
  const opsPassword = logins.get('ops@demo.backhouse.local');
  if (!managerPassword || !opsPassword) throw new Error('the demo logins were not printed at first start');
  const admin = { authorization: `Bearer ${await tokenOf(ADMIN_EMAIL, PASSWORD)}` };
  const ops = { authorization: `Bearer ${await tokenOf('ops@demo.backhouse.local', opsPassword)}` };
  const managers = [];
  for (let i = 0; i < MANAGERS; i++) managers.push({ authorization: `Bearer ${await tokenOf('manager@demo.backhouse.local', managerPassword)}` });
  const session = await fetch(`${base}/admin/login`, { method: 'POST', body: new URLSearchParams({ email: ADMIN_EMAIL, password: PASSWORD }), redirect: 'manual' });
  const cookie = session.headers.get('set-cookie')?.split(';')[0];
  if (!cookie) throw new Error(`the admin could not sign in to the admin (${session.status})`);
  const products = ((await (await fetch(`${base}/api/products?perPage=50`, { headers: ops })).json()) as { data: { name: string; sellingPriceCents: number }[] }).data;
  await approveOrdersMapping(ops, admin);
  runLatencies.clear();
  runErrors.clear();
  minuteLatencies.clear();
  minuteErrors.clear();

  console.log(
    `soak: ${MINUTES} min against ${base} (server pid ${product.pid}): a ${FEED_ROWS}-row sales feed every ${FEED_MS / 1000} s, a ${MAPPING_ROWS}-row mapping execution every ${MAPPING_MS / 1000} s, ${MANAGERS} managers polling dashboards every ${POLL_MS / 1000} s, an admin on list pages every 2 s, ${CUTOFF_MS ? `a cut-off upload every ${CUTOFF_MS / 1000} s` : 'no cut-off uploads'}`,
  );
  await Promise.all([feedLoop(ops, products), mappingLoop(ops), ...managers.map((auth, i) => managerLoop(auth, i)), adminLoop(admin, cookie), cutOffLoop(ops), monitorLoop()]);
  stop.abort();

  console.log(`\nwhole run (${((performance.now() - started) / 60_000).toFixed(1)} min):`);
  for (const [route, list] of [...runLatencies].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort((a, b) => a - b);
    console.log(`  ${route.padEnd(58)} n=${String(list.length).padStart(6)}  p50=${percentile(list, 50).toFixed(1).padStart(7)} ms  p95=${percentile(list, 95).toFixed(1).padStart(7)} ms  max=${list[list.length - 1]!.toFixed(0).padStart(6)} ms`);
  }
  const errorTotal = [...runErrors.values()].reduce((sum, n) => sum + n, 0);
  console.log(`errors: ${errorTotal} (target 0)`);
  for (const [kind, n] of [...runErrors].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${kind}`);
  const mean = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
  console.log(`feeds loaded: ${counts.feeds}${counts.feeds ? ` (commit to transformed: mean ${mean(counts.feedSeconds).toFixed(1)} s, max ${Math.max(...counts.feedSeconds).toFixed(1)} s)` : ''}; mapping executions: ${counts.executions} (${counts.rowsLoaded} rows); cut-off uploads sent: ${counts.cutOff}`);
  console.log(flatness('server RSS (peak per minute)', samples.rss, mb));
  console.log(flatness('PostgreSQL client connections (peak per minute)', samples.connections, String));
  if (serverDied) {
    console.log(`\nthe server died: ${serverDied}`);
    exitCode = 1;
  }
} catch (error) {
  console.error(serverDied ? `the server died: ${serverDied}` : error);
  exitCode = 1;
} finally {
  stop.abort();
  await product.stop();
}
process.exit(exitCode);
