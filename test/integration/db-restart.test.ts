import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startBackhouse, type Running } from '../../app/runtime.js';
import { loadConfig } from '../../core/config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../../core/db/embedded.js';
import { createLogger } from '../../core/log.js';
import { adminClient, ADMIN_EMAIL, apiClient, PASSWORD } from '../helpers/app.js';
import { freePort } from '../helpers/net.js';

/**
 * The database server goes away under a running product and comes back on the same port: a PostgreSQL of
 * its own (stopping the test run's shared server would take every other test file down with it).
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-restart-'));
const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'test');
let server: EmbeddedServer | null = null;
let running: Running | null = null;
afterAll(async () => {
  await running?.stop();
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('PostgreSQL restarting under a running product', () => {
  it('answers 503 with Retry-After while the database is away, then reconnects by itself: requests, sessions and jobs', async () => {
    const pgPort = await freePort();
    server = await startEmbeddedPostgres({ dataDir, port: pgPort, log });
    await ensureDatabase(server.adminUrl, 'backhouse');
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: server.urlFor('backhouse'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SEED_DEMO: 'false',
      ADMIN_EMAIL,
      ADMIN_PASSWORD: PASSWORD,
      DATABASE_POOL_SIZE: '5',
      JOB_CONCURRENCY: '1',
      SHUTDOWN_TIMEOUT_SECONDS: '10',
    });
    running = await startBackhouse('all', config, log);
    const url = running.url!;
    const api = await apiClient(url, ADMIN_EMAIL);
    const admin = await adminClient(url, ADMIN_EMAIL);
    const business = await api.call('POST', '/api/businesses', { name: 'Restart Bakery', timezone: 'Europe/London', currency: 'GBP' });
    expect(business.status).toBe(201);
    const product = (name: string) => ({ businessId: business.body!.data.id, name, sellingPriceCents: 250, costPriceCents: 100 });
    expect((await api.call('POST', '/api/products', product('Before'))).status).toBe(201);
    const queuedBefore = await api.call('POST', '/api/jobs/probe', { note: 'before the restart' });
    expect(queuedBefore.status).toBe(202);
    let queueErrors = 0;
    running.jobs.boss.on('error', () => queueErrors++);

    // Requests in flight while the server stops, and every kind of request once it is gone.
    const whileStopping = Array.from({ length: 10 }, (_, index) => api.call('GET', `/api/products?page=${index + 1}`));
    const stopped = server.stop();
    const answersWhileStopping = await Promise.all(whileStopping);
    await stopped;
    const down = {
      list: await fetch(`${url}/api/products`, { headers: { authorization: `Bearer ${api.token}` } }),
      write: await fetch(`${url}/api/products`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body: JSON.stringify(product('During')) }),
      login: await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: PASSWORD }) }),
      job: await fetch(`${url}/api/jobs/probe`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body: '{}' }),
      adminList: await fetch(`${url}/admin/api/resources/Product/actions/list`, { headers: { cookie: admin.cookie } }),
      adminPage: await fetch(`${url}/admin`, { headers: { cookie: admin.cookie }, redirect: 'manual' }),
      health: await fetch(`${url}/api/healthz`),
    };
    const answers = Object.entries(down).map(([what, res]) => ({ what, status: res.status, retryAfter: res.headers.get('retry-after') }));
    expect(answers).toEqual(Object.keys(down).map((what) => ({ what, status: 503, retryAfter: expect.stringMatching(/^\d+$/) })));
    const body = (await down.list.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toMatch(/database/i);
    expect(((await down.health.json()) as { database: { ok: boolean } }).database.ok).toBe(false);
    expect(answersWhileStopping.map((answer) => answer.status).filter((status) => status !== 200 && status !== 503)).toEqual([]);
    // The workers met the outage (their polls failed) and kept going.
    await vi.waitFor(() => expect(queueErrors).toBeGreaterThan(0), { timeout: 30_000 });

    server = await startEmbeddedPostgres({ dataDir, port: pgPort, log });
    await expect.poll(async () => (await api.call('GET', '/api/products')).status, { timeout: 30_000, interval: 200 }).toBe(200);
    expect((await fetch(`${url}/api/healthz`)).status).toBe(200);
    expect((await api.call('POST', '/api/products', product('After'))).status).toBe(201);
    // The write refused during the outage was not made; the ones accepted are all there.
    const names = ((await api.call('GET', '/api/products?perPage=100')).body!.data as { name: string }[]).map((row) => row.name).sort();
    expect(names).toEqual(['After', 'Before']);
    // The admin session lives in PostgreSQL: it survives the restart.
    expect((await admin.call('GET', '/admin/api/resources/Product/actions/list')).status).toBe(200);
    const queuedAfter = await api.call('POST', '/api/jobs/probe', { note: 'after the restart' });
    expect(queuedAfter.status).toBe(202);
    for (const job of [queuedBefore, queuedAfter]) {
      await expect.poll(async () => (await api.call('GET', `/api/jobs/${job.body!.data.id}`)).body?.data?.state, { timeout: 60_000, interval: 250 }).toBe('completed');
    }
  }, 180_000);
});
