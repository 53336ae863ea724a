import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackhouse, type Running } from '../../app/runtime.js';
import { loadConfig, projectRoot } from '../../core/config.js';
import { contextFor } from '../../core/context.js';
import { createIngestKey, hashIngestKey, listIngestKeys, revokeIngestKey } from '../../core/ingest/keys.js';
import { createLogger } from '../../core/log.js';
import { ADMIN_EMAIL, PASSWORD, startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
let key: string;
let otherStoreKey: string;

const transaction = (id: string, store = 'STORE-001', extra: Record<string, unknown> = {}) => ({
  transaction_id: id,
  store_id: store,
  ts: '2026-12-07T18:30:00Z',
  total_amount: 56.5,
  items: [
    { product_id: 'PROD-001', product_name: 'Coca-Cola 350ml', brand: 'Coca-Cola', qty: 2, unit_price: 25, line_amount: 50 },
    { product_id: 'PROD-002', product_name: 'Crisps', brand: null, qty: 1, unit_price: 6.5, line_amount: 6.5 },
  ],
  ...extra,
});

async function post(pathname: string, body: unknown, options: { key?: string | null; headers?: Record<string, string>; raw?: string; url?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  const bearer = options.key === undefined ? key : options.key;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(`${options.url ?? app.url}/api/ingest/${pathname}`, { method: 'POST', headers, body: options.raw ?? JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}

const eventCount = async () => Number((await app.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM ingest_events')).rows[0]!.n);

beforeAll(async () => {
  app = await startTestApp({ INGEST_MAX_BODY_KB: '64', INGEST_RATE_LIMIT_PER_SECOND: '10000', INGEST_RATE_LIMIT_BURST: '10000', INGEST_CORS_ORIGINS: 'https://pos.example.com' });
  await app.system.db.prisma.business.create({ data: { name: 'Scout Retail' } });
  key = (await createIngestKey(app.system, { stores: ['STORE-001', 'STORE-002'], name: 'till 1' })).key;
  otherStoreKey = (await createIngestKey(app.system, { stores: ['STORE-009'] })).key;
}, 120_000);
afterAll(async () => app?.close());

describe('POST /api/ingest/transactions', () => {
  it('accepts a transaction with 202 and its event id, stored in bronze with its store, key and hash', async () => {
    const sent = await post('transactions', transaction('TXN-1'));
    expect(sent.status).toBe(202);
    expect(sent.body.data).toMatchObject({ status: 'accepted', transaction_id: 'TXN-1' });
    const { rows } = await app.db.pool.query(`SELECT e.*, s.code FROM ingest_events e JOIN shops s ON s.id = e.shop_id WHERE e.id = $1`, [sent.body.data.event_id]);
    expect(rows[0]).toMatchObject({ store_code: 'STORE-001', code: 'STORE-001', transaction_id: 'TXN-1', status: 'pending', simulated: false });
    expect(rows[0].event_hash).toHaveLength(32);
    expect(rows[0].payload.items[1]).toMatchObject({ product_name: 'Crisps', qty: 1 });
  });

  it('the same transaction again (other key order, 10 as 10.0 or 1e1) gets the same event id and stores nothing', async () => {
    const first = await post('transactions', transaction('TXN-2'));
    const before = await eventCount();
    const reordered = `{"items":[{"line_amount":5.0e1,"unit_price":25.00,"qty":2.0,"product_name":"Coca-Cola 350ml","brand":"Coca-Cola","product_id":"PROD-001"},{"brand":null,"product_id":"PROD-002","product_name":"Crisps","qty":1,"unit_price":6.50,"line_amount":6.5}],"total_amount":56.50,"ts":"2026-12-07T18:30:00Z","store_id":"STORE-001","transaction_id":"TXN-2"}`;
    const again = await post('transactions', null, { raw: reordered });
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({ event_id: first.body.data.event_id, status: 'duplicate' });
    expect(await eventCount()).toBe(before);
  });

  it('wakes the silver worker (NOTIFY ingest_events at commit) for a new transaction, not for a repeat', async () => {
    const listener = new pg.Client({ connectionString: app.database.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (message) => heard.push(message.payload ?? ''));
      await listener.query('LISTEN ingest_events');
      expect((await post('transactions', transaction('TXN-WAKE'))).status).toBe(202);
      await expect.poll(() => heard.length).toBe(1);
      expect((await post('transactions', transaction('TXN-WAKE'))).body.data.status).toBe('duplicate');
      // A marker sent after the repeat arrives after anything the repeat could have sent.
      await app.db.pool.query(`SELECT pg_notify('ingest_events', 'marker')`);
      await expect.poll(() => heard.includes('marker')).toBe(true);
      expect(heard).toEqual(['', 'marker']);
    } finally {
      await listener.end();
    }
  });

  it('50 concurrent sends of one transaction store one event, and all 50 answer with its id', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => post('transactions', transaction('TXN-RACE'))));
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(202));
    const ids = new Set(answers.map((answer) => answer.body.data.event_id));
    expect(ids.size).toBe(1);
    expect(answers.filter((answer) => answer.body.data.status === 'accepted')).toHaveLength(1);
    const { rows } = await app.db.pool.query(`SELECT id::text FROM ingest_events WHERE transaction_id = 'TXN-RACE'`);
    expect(rows).toEqual([{ id: [...ids][0] }]);
  });

  it.each([
    ['transaction_id', { transaction_id: undefined }, 'transaction_id', /required/],
    ['transaction_id blank', { transaction_id: '  ' }, 'transaction_id', /empty/],
    ['store_id', { store_id: 42 }, 'store_id', /text/],
    ['ts', { ts: '07/12/2026 18:30' }, 'ts', /ISO 8601/],
    ['ts without zone', { ts: '2026-12-07T18:30:00' }, 'ts', /zone/],
    ['total_amount', { total_amount: '56.50' }, 'total_amount', /number/],
    ['currency', { currency: 'usd' }, 'currency', /ISO 4217/],
    ['items missing', { items: undefined }, 'items', /required/],
    ['items empty', { items: [] }, 'items', /at least one/],
    ['NUL in a kept field', { note: 'a\u0000b' }, 'note', /NUL/],
    ['simulated', { simulated: 'yes' }, 'simulated', /true or false/],
    ['item', { items: ['cola'] }, 'items[0]', /object/],
    ['product_id', { items: [{ product_name: 'Cola', qty: 1, unit_price: 1, line_amount: 1 }] }, 'items[0].product_id', /required/],
    ['product_name', { items: [{ product_id: 'P', product_name: 7, qty: 1, unit_price: 1, line_amount: 1 }] }, 'items[0].product_name', /text/],
    ['brand', { items: [{ product_id: 'P', product_name: 'Cola', brand: 5, qty: 1, unit_price: 1, line_amount: 1 }] }, 'items[0].brand', /text/],
    ['qty', { items: [{ product_id: 'P', product_name: 'Cola', qty: 0, unit_price: 1, line_amount: 1 }] }, 'items[0].qty', /more than 0/],
    ['unit_price', { items: [{ product_id: 'P', product_name: 'Cola', qty: 1, unit_price: null, line_amount: 1 }] }, 'items[0].unit_price', /number/],
    ['line_amount', { items: [{ product_id: 'P', product_name: 'Cola', qty: 1, unit_price: 1 }] }, 'items[0].line_amount', /required/],
    ['amount size', { total_amount: 1e13 }, 'total_amount', /less than/],
  ])('refuses a transaction with a bad %s: 400 naming the path', async (_name, change, where, reason) => {
    const before = await eventCount();
    const sent = await post('transactions', { ...transaction('TXN-BAD'), ...change });
    expect(sent.status).toBe(400);
    expect(sent.body.error.details).toContainEqual({ path: where, reason: expect.stringMatching(reason) });
    expect(await eventCount()).toBe(before);
  });

  it('lists every problem of a body with its path, items[2].qty included', async () => {
    const body = transaction('TXN-MANY', 'STORE-001', { total_amount: 'lots', ts: 'yesterday' });
    body.items = [
      body.items[0]!,
      { ...body.items[1]!, product_name: '' },
      { product_id: 'PROD-003', product_name: 'Gum', brand: 'X', qty: 0, unit_price: 'one', line_amount: 1 } as never,
    ];
    const sent = await post('transactions', body);
    expect(sent.status).toBe(400);
    expect(sent.body.error.details.map((problem: { path: string }) => problem.path).sort()).toEqual(['items[1].product_name', 'items[2].qty', 'items[2].unit_price', 'total_amount', 'ts']);
    expect(sent.body.error.message).toContain('items[2].qty must be more than 0');
  });

  it('refuses a body that is not JSON (400), not sent as JSON (415), or larger than the limit (413)', async () => {
    expect((await post('transactions', null, { raw: '{"transaction_id": ' })).status).toBe(400);
    const asForm = await post('transactions', null, { raw: 'transaction_id=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(asForm.status).toBe(415);
    expect(asForm.body.error.message).toContain('application/json');
    const big = transaction('TXN-BIG', 'STORE-001', { note: 'x'.repeat(70 * 1024) });
    const tooLarge = await post('transactions', big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.message).toContain('64 KB');
  });

  it('refuses a missing, unknown or revoked key (401), and a key of another store (403)', async () => {
    expect((await post('transactions', transaction('TXN-K1'), { key: null })).status).toBe(401);
    expect((await post('transactions', transaction('TXN-K1'), { key: 'bhk_notakey' })).status).toBe(401);
    const other = await post('transactions', transaction('TXN-K1'), { key: otherStoreKey });
    expect(other.status).toBe(403);
    expect(other.body.error.message).toContain('STORE-009');
    const made = await createIngestKey(app.system, { stores: ['STORE-001'], name: 'to revoke' });
    expect((await post('transactions', transaction('TXN-K2'), { key: made.key })).status).toBe(202);
    await revokeIngestKey(app.system, made.record.id);
    const revoked = await post('transactions', transaction('TXN-K3'), { key: made.key });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toContain('revoked');
  });

  it('an ingest key authenticates nowhere else in the product', async () => {
    for (const pathname of ['/api/me', '/api/products', '/api/shops', '/dashboard/metrics']) {
      const response = await fetch(`${app.url}${pathname}`, { headers: { authorization: `Bearer ${key}` } });
      expect(response.status, pathname).toBe(401);
    }
  });

  it('the same Idempotency-Key with another body is a 422; with the same body the same answer', async () => {
    const headers = { 'idempotency-key': 'till-1-0001' };
    const first = await post('transactions', transaction('TXN-IDEM'), { headers });
    expect(first.status).toBe(202);
    const repeat = await post('transactions', transaction('TXN-IDEM'), { headers });
    expect(repeat.body.data.event_id).toBe(first.body.data.event_id);
    const before = await eventCount();
    const changed = await post('transactions', transaction('TXN-IDEM-OTHER'), { headers });
    expect(changed.status).toBe(422);
    expect(changed.body.error.message).toContain('till-1-0001');
    expect(await eventCount()).toBe(before);
  });

  it('answers CORS preflights for the configured origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${app.url}/api/ingest/transactions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    const allowed = await preflight('https://pos.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://pos.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization');
    const refused = await preflight('https://evil.example.net');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const sent = await post('transactions', transaction('TXN-CORS'), { headers: { origin: 'https://evil.example.net' } });
    expect(sent.status).toBe(403);
    const fromPos = await post('transactions', transaction('TXN-CORS'), { headers: { origin: 'https://pos.example.com' } });
    expect(fromPos.status).toBe(202);
    expect(fromPos.headers.get('access-control-allow-origin')).toBe('https://pos.example.com');
  });
});

describe('POST /api/ingest/transactions:batch', () => {
  it('answers per transaction: accepted, duplicate, refused with reasons; the bad ones sink nothing', async () => {
    await post('transactions', transaction('TXN-B0'));
    const before = await eventCount();
    const bad = transaction('TXN-B2');
    bad.items[1] = { ...bad.items[1]!, qty: -1 };
    const sent = await post('transactions:batch', {
      transactions: [transaction('TXN-B1'), transaction('TXN-B0'), bad, transaction('TXN-B3', 'STORE-009'), transaction('TXN-B4', 'STORE-002'), transaction('TXN-B1'), 'nonsense'],
    });
    expect(sent.status).toBe(200);
    const results = sent.body.data.results;
    expect(results.map((result: { status: string }) => result.status)).toEqual(['accepted', 'duplicate', 'refused', 'refused', 'accepted', 'duplicate', 'refused']);
    expect(results[2]).toMatchObject({ reason: 'invalid', errors: [{ path: 'transactions[2].items[1].qty', reason: 'must be more than 0' }] });
    expect(results[3]).toMatchObject({ reason: 'store_not_allowed', errors: [{ path: 'transactions[3].store_id' }] });
    expect(results[6].errors[0].path).toBe('transactions[6]');
    expect(results[5].event_id).toBe(results[0].event_id);
    expect(sent.body.data).toMatchObject({ accepted: 2, duplicate: 2, refused: 3 });
    expect(await eventCount()).toBe(before + 2);
  });

  it('a repeated batch under its Idempotency-Key answers duplicates; another body under it is a 422', async () => {
    const headers = { 'idempotency-key': 'batch-7' };
    const body = { transactions: [transaction('TXN-IB1'), transaction('TXN-IB2')] };
    const first = await post('transactions:batch', body, { headers });
    const again = await post('transactions:batch', body, { headers });
    expect(again.body.data.results.map((result: { event_id: string }) => result.event_id)).toEqual(first.body.data.results.map((result: { event_id: string }) => result.event_id));
    expect(again.body.data.duplicate).toBe(2);
    const changed = await post('transactions:batch', { transactions: [transaction('TXN-IB1'), transaction('TXN-IB9')] }, { headers });
    expect(changed.status).toBe(422);
  });

  it('refuses more than 1,000 transactions, and a body without a list', async () => {
    // About 25 KB: within this app's 64 KB body limit, so it is the count that is refused.
    const many = await post('transactions:batch', { transactions: Array.from({ length: 1001 }, (_, i) => ({ transaction_id: `T${i}` })) });
    expect(many.status).toBe(400);
    expect(many.body.error.details).toEqual([{ path: 'transactions', reason: 'must hold 1 to 1000 transactions' }]);
    const notAList = await post('transactions:batch', { transactions: { a: 1 } });
    expect(notAList.status).toBe(400);
    expect(notAList.body.error.details).toEqual([{ path: 'transactions', reason: 'must be a list of transactions' }]);
  });
});

describe('rate limit per key, shared by every process', () => {
  let first: Running;
  let second: Running;
  beforeAll(async () => {
    const config = loadConfig({
      NODE_ENV: 'test', DATABASE_URL: app.database.url, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', SEED_DEMO: 'false',
      ADMIN_EMAIL, ADMIN_PASSWORD: PASSWORD, DATABASE_POOL_SIZE: '3', INGEST_RATE_LIMIT_PER_SECOND: '0.05', INGEST_RATE_LIMIT_BURST: '3',
    });
    first = await startBackhouse('web', config, createLogger('silent'));
    second = await startBackhouse('web', config, createLogger('silent'));
  }, 120_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  it('three requests through one instance use the burst; the fourth, through the other, is a 429 with Retry-After', async () => {
    const limited = (await createIngestKey(app.system, { stores: ['STORE-001'], name: 'limited' })).key;
    for (let i = 0; i < 3; i += 1) expect((await post('transactions', transaction(`TXN-R${i}`), { key: limited, url: first.url! })).status).toBe(202);
    const refused = await post('transactions', transaction('TXN-R3'), { key: limited, url: second.url! });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another key has its own rate.
    const fresh = (await createIngestKey(app.system, { stores: ['STORE-001'], name: 'fresh' })).key;
    expect((await post('transactions', transaction('TXN-R4'), { key: fresh, url: second.url! })).status).toBe(202);
  });
});

describe('ingest API keys', () => {
  it('keeps only the SHA-256 of a key, shows it once, and lists last use and request rates', async () => {
    const made = await createIngestKey(app.system, { stores: ['STORE-NEW'], name: 'new store till' });
    expect(made.key).toMatch(/^bhk_[A-Za-z0-9_-]{43}$/);
    const { rows } = await app.db.pool.query('SELECT * FROM ingest_api_keys WHERE id = $1', [made.record.id]);
    expect(rows[0].key_hash.equals(hashIngestKey(made.key))).toBe(true);
    expect(JSON.stringify(rows[0])).not.toContain(made.key.slice(4));
    expect(made.key.startsWith(rows[0].key_prefix)).toBe(true);
    // The store was created for it, with its code.
    const shop = await app.db.pool.query(`SELECT s.code FROM shops s WHERE s.id = ANY ($1::uuid[])`, [rows[0].shop_ids]);
    expect(shop.rows).toEqual([{ code: 'STORE-NEW' }]);
    expect(JSON.stringify(await listIngestKeys(app.system))).not.toContain(made.key.slice(4));
    for (let i = 0; i < 3; i += 1) await post('transactions', transaction(`TXN-U${i}`, 'STORE-NEW'), { key: made.key });
    await expect
      .poll(async () => (await listIngestKeys(app.system, { ids: [made.record.id] }))[0], { timeout: 15_000 })
      .toMatchObject({ requestsLastMinute: 3, requestsLastHour: 3, lastUsedAt: expect.any(Date), stores: ['STORE-NEW'] });
    const audit = await app.db.pool.query(`SELECT action FROM audit_log WHERE resource = 'ingestKeys' AND record_id = $1`, [made.record.id]);
    expect(audit.rows).toEqual([{ action: 'create' }]);
  });

  it('only admins manage keys', async () => {
    const business = await app.db.prisma.business.findFirstOrThrow();
    const ops = contextFor({ kind: 'user', id: '00000000-0000-0000-0000-000000000001', email: 'ops@x', name: null, role: 'ops', businessId: business.id, shopIds: [] }, app.db, app.system.log);
    await expect(createIngestKey(ops, { stores: ['STORE-001'] })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(listIngestKeys(ops)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('the CLI creates (key printed once), lists and revokes; with two businesses it asks which', async () => {
    const env = { DATABASE_URL: app.database.url };
    const created = await run(['create', '--store', 'STORE-CLI', '--name', 'cli till'], env);
    expect(created.code, created.output).toBe(0);
    const printed = /\n {2}(bhk_\S+)\n/.exec(created.output)?.[1];
    expect(printed).toBeDefined();
    expect((await post('transactions', transaction('TXN-CLI', 'STORE-CLI'), { key: printed! })).status).toBe(202);
    const listed = await run(['list'], env);
    expect(listed.output).toContain('cli till');
    expect(listed.output).toContain('STORE-CLI');
    expect(listed.output).not.toContain(printed!.slice(12));
    const id = /^(\S{36}) {2}bhk_/m.exec(listed.output.split('\n').find((line) => line.includes(printed!.slice(0, 12)))!)?.[1];
    const revoked = await run(['revoke', id!], env);
    expect(revoked.code, revoked.output).toBe(0);
    expect((await post('transactions', transaction('TXN-CLI2', 'STORE-CLI'), { key: printed! })).status).toBe(401);
    await app.db.prisma.business.create({ data: { name: 'Second Business' } });
    const ambiguous = await run(['create', '--store', 'STORE-X'], env);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.output).toContain('--business');
    expect(ambiguous.output).toContain('Scout Retail');
    expect(ambiguous.output).toContain('Second Business');
  }, 60_000);
});

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'cli/ingest-key.ts'), ...args], { cwd: projectRoot, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}
