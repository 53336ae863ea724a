import express from 'express';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorMiddleware, handle } from '../../api/http.js';
import { connectDb, closeDb } from '../../core/db/index.js';
import { checkHealth } from '../../core/system/health.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
});
afterAll(async () => app?.close());

describe('GET /api/healthz', () => {
  it('reports the database and the job queue, without signing in', async () => {
    const res = await fetch(`${app.url}/api/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ status: 'ok', database: { ok: true }, jobQueue: { ok: true } });
    expect(body.database.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('says degraded, with the reason, when the database cannot be reached', async () => {
    const db = connectDb(app.database.url, 1);
    await closeDb(db);
    const health = await checkHealth(db, app.jobs);
    expect(health.status).toBe('degraded');
    expect(health.database.ok).toBe(false);
    expect(health.database.error).toBeTruthy();
  });
});

describe('one error shape for every failure', () => {
  it('404 for an unknown endpoint', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    const res = await api.call('GET', '/api/no-such-thing');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('400 for a body that is not JSON, 413 for one that is too large', async () => {
    const api = await apiClient(app.url, t.users.opsA.email);
    const broken = await fetch(`${app.url}/api/products`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body: '{"name": ' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as Record<string, any>).error.code).toBe('bad_request');
    const huge = await fetch(`${app.url}/api/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), sellingPriceCents: 1 }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as Record<string, any>).error.code).toBe('payload_too_large');
  });

  it('401 for an expired token, with a message that says so', async () => {
    const secret = (await app.db.prisma.appSecret.findUniqueOrThrow({ where: { name: 'token' } })).value;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(t.users.admin.id)
      .setIssuer('backhouse')
      .setAudience('backhouse-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(secret));
    const res = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${expired}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Record<string, any>).error.message).toMatch(/expired/);
  });

  it('400 for a bad query, and every answer carries a request id', async () => {
    const api = await apiClient(app.url, t.users.opsA.email);
    const res = await fetch(`${app.url}/api/products?perPage=100000`, { headers: { authorization: `Bearer ${api.token}`, 'x-request-id': 'trace-me-123' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBe('trace-me-123');
    expect(((await res.json()) as Record<string, any>).error.details[0].field).toBe('perPage');
  });

  it('500 for an unexpected error: a request id, no stack trace, no internals', async () => {
    const probe = express();
    probe.use((req, res, next) => {
      res.setHeader('X-Request-Id', 'req-42');
      next();
    });
    probe.get('/boom', handle(async () => {
      throw new Error('connection string postgres://secret@db/prod refused');
    }));
    probe.use(errorMiddleware);
    const server = probe.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/boom`);
    server.close();
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'internal', requestId: 'req-42' } });
    expect(text).not.toMatch(/secret|at .*\.ts|stack/);
  });
});

describe('users managed by an admin through the API', () => {
  it('creates, edits (role, business, shops), disables and re-enables a user', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    const created = await api.call('POST', '/api/users', { email: 'New.Manager@Test.local', name: 'Nina', role: 'manager', businessId: t.businessA, shopIds: [t.shopA2], password: 'manager-password-1' });
    expect(created.status).toBe(201);
    expect(created.body!.data).not.toHaveProperty('passwordHash');
    const id = created.body!.data.id as string;
    const edited = await api.call('PATCH', `/api/users/${id}`, { role: 'ops', shopIds: [] });
    expect(edited.body!.data).toMatchObject({ role: 'ops', shopIds: [], email: 'new.manager@test.local' });
    expect((await api.call('PATCH', `/api/users/${id}`, { disabled: true })).status).toBe(200);
    const refused = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new.manager@test.local', password: 'manager-password-1' }) });
    expect(refused.status).toBe(403);
    await api.call('PATCH', `/api/users/${id}`, { disabled: false, password: 'a-brand-new-password' });
    const ok = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'new.manager@test.local', password: 'a-brand-new-password' }) });
    expect(ok.status).toBe(200);
  });

  it('refuses a weak password and a duplicate email with reasons', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    const weak = await api.call('POST', '/api/users', { email: 'weak@test.local', role: 'ops', businessId: t.businessA, password: 'short' });
    expect(weak.status).toBe(422);
    expect(weak.body!.error.details[0].field).toBe('password');
    const dup = await api.call('POST', '/api/users', { email: 'OPS.A@test.local', role: 'ops', businessId: t.businessA, password: 'long-enough-password' });
    expect(dup.status).toBe(409);
    expect(dup.body!.error.details.field).toBe('email');
  });
});

describe('products', () => {
  it('a cost not given, or given empty, is unknown (null), not 0; an edit that does not name it keeps it', async () => {
    const api = await apiClient(app.url, t.users.opsA.email);
    const untold = await api.call('POST', '/api/products', { name: 'Untold Cost Loaf', sellingPriceCents: 400 });
    expect(untold.status).toBe(201);
    expect(untold.body!.data.costPriceCents).toBeNull();
    const empty = await api.call('POST', '/api/products', { name: 'Empty Cost Loaf', sellingPriceCents: 400, costPriceCents: '' });
    expect(empty.status).toBe(201);
    expect(empty.body!.data.costPriceCents).toBeNull();
    const costed = await api.call('POST', '/api/products', { name: 'Costed Loaf', sellingPriceCents: 400, costPriceCents: 150 });
    const renamed = await api.call('PATCH', `/api/products/${costed.body!.data.id}`, { name: 'Costed Loaf (large)' });
    expect(renamed.status).toBe(200);
    expect((await app.db.prisma.product.findUniqueOrThrow({ where: { id: costed.body!.data.id } })).costPriceCents).toBe(150);
  });
});
