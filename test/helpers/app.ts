import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackhouse, type Running } from '../../app/runtime.js';
import { loadConfig } from '../../core/config.js';
import { systemContext, type Context } from '../../core/context.js';
import { createLogger } from '../../core/log.js';
import { createRecord } from '../../core/records/service.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export const PASSWORD = 'correct-horse-battery';
export const ADMIN_EMAIL = 'admin@test.local';

export interface TestApp extends Running {
  url: string;
  database: TestDatabase;
  system: Context;
  close(): Promise<void>;
}

/**
 * The whole product (web, API, admin, workers) on its own fresh database and a free port, started
 * the way `npm start` starts it with DATABASE_URL set.
 */
export async function startTestApp(env: Record<string, string> = {}, mode: 'all' | 'web' | 'worker' = 'all'): Promise<TestApp> {
  const database = await createTestDatabase();
  // The pipelines' files (intermediate CSVs, day outputs) in a folder of the test's own, never in the checkout.
  const pipelineDir = env.PIPELINE_DATA_DIR ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-test-pipelines-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SEED_DEMO: 'false',
    ADMIN_EMAIL,
    ADMIN_PASSWORD: PASSWORD,
    DATABASE_POOL_SIZE: '5',
    JOB_CONCURRENCY: '1',
    SHUTDOWN_TIMEOUT_SECONDS: '10',
    ...(pipelineDir ? { PIPELINE_DATA_DIR: pipelineDir } : {}),
    ...env,
  });
  const log = createLogger(config.LOG_LEVEL);
  const running = await startBackhouse(mode, config, log);
  return {
    ...running,
    url: running.url ?? '',
    database,
    system: systemContext('test', running.db, log),
    async close() {
      await running.stop();
      await database.drop();
      if (pipelineDir) fs.rmSync(pipelineDir, { recursive: true, force: true });
    },
  };
}

export interface Tenants {
  businessA: string;
  businessB: string;
  shopA1: string;
  shopA2: string;
  shopB1: string;
  productA: string;
  productB: string;
  users: Record<'admin' | 'opsA' | 'managerA' | 'opsB' | 'managerB', { id: string; email: string }>;
}

/** Two businesses with shops, products and people of every role, created through core like any write. */
export async function seedTenants(ctx: Context): Promise<Tenants> {
  const id = (row: Record<string, unknown>) => row.id as string;
  const businessA = id(await createRecord(ctx, 'businesses', { name: 'Alpha Bakery', timezone: 'Europe/London', currency: 'GBP' }));
  const businessB = id(await createRecord(ctx, 'businesses', { name: 'Beta Garage', timezone: 'America/Chicago', currency: 'USD' }));
  const shopA1 = id(await createRecord(ctx, 'shops', { businessId: businessA, name: 'Alpha High Street' }));
  const shopA2 = id(await createRecord(ctx, 'shops', { businessId: businessA, name: 'Alpha Station' }));
  const shopB1 = id(await createRecord(ctx, 'shops', { businessId: businessB, name: 'Beta North' }));
  const productA = id(await createRecord(ctx, 'products', { businessId: businessA, name: 'Croissant', sellingPriceCents: 295, costPriceCents: 90 }));
  const productB = id(await createRecord(ctx, 'products', { businessId: businessB, name: 'Oil change', sellingPriceCents: 4900, costPriceCents: 2100 }));
  const admin = await ctx.db.prisma.user.findUniqueOrThrow({ where: { email: ADMIN_EMAIL } });
  const user = async (email: string, role: string, businessId: string, shopIds: string[] = []) =>
    ({ id: id(await createRecord(ctx, 'users', { email, role, businessId, shopIds, password: PASSWORD })), email });
  return {
    businessA,
    businessB,
    shopA1,
    shopA2,
    shopB1,
    productA,
    productB,
    users: {
      admin: { id: admin.id, email: admin.email },
      opsA: await user('ops.a@test.local', 'ops', businessA),
      managerA: await user('manager.a@test.local', 'manager', businessA, [shopA1]),
      opsB: await user('ops.b@test.local', 'ops', businessB),
      managerB: await user('manager.b@test.local', 'manager', businessB),
    },
  };
}

/** A caller of the REST API with a bearer token. */
export async function apiClient(baseUrl: string, email: string, password = PASSWORD) {
  const login = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (login.status !== 200) throw new Error(`API login of ${email} failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  return {
    token,
    async call(method: string, path: string, body?: unknown) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
    },
  };
}

/** Signs in through the admin's login form and returns a caller of the admin's HTTP API with that session. */
export async function adminClient(baseUrl: string, email: string, password = PASSWORD) {
  const form = new URLSearchParams({ email, password });
  const login = await fetch(`${baseUrl}/admin/login`, { method: 'POST', body: form, redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')?.split(';')[0];
  if (login.status !== 302 || !cookie) throw new Error(`admin login of ${email} failed: ${login.status} ${await login.text()}`);
  return {
    cookie,
    async call(method: string, path: string, form?: Record<string, string>) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { cookie },
        body: form ? new URLSearchParams(form) : undefined,
        redirect: 'manual',
      });
      const text = await res.text();
      let body: Record<string, any> | null = null;
      try {
        body = text ? (JSON.parse(text) as Record<string, any>) : null;
      } catch {
        body = { html: text };
      }
      return { status: res.status, body, location: res.headers.get('location') };
    },
  };
}
