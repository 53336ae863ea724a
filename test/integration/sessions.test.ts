import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, apiClient, PASSWORD, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let tenants: Tenants;

beforeAll(async () => {
  app = await startTestApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '50' });
  tenants = await seedTenants(app.system);
});
afterAll(async () => app?.close());

const signIn = async (email: string, password = PASSWORD): Promise<string> => {
  const res = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const me = (headers: Record<string, string>) => fetch(`${app.url}/api/me`, { headers }).then((res) => res.status);
const post = (path: string, headers: Record<string, string>) => fetch(`${app.url}${path}`, { method: 'POST', headers });

/** A user of their own for a test, so that ending their sessions touches no other test's. */
async function freshUser(email: string, password = PASSWORD): Promise<string> {
  await app.db.prisma.user.deleteMany({ where: { email } });
  const admin = await apiClient(app.url, tenants.users.admin.email);
  const created = await admin.call('POST', '/api/users', { email, role: 'ops', businessId: tenants.businessA, password });
  expect(created.status).toBe(201);
  return created.body!.data.id as string;
}

describe('a password change ends earlier tokens to the token, not to the second', () => {
  it('a token issued in the same second as the change is refused (regression: it survived, 6 of 6 tries); one issued after it works', async () => {
    const email = 'same.second@test.local';
    const userId = await freshUser(email, 'password-number-0');
    const admin = await apiClient(app.url, tenants.users.admin.email);
    let sameSecondTried = 0;
    // The change usually lands in the token's second; tried until it has, so that this is the case tested
    // (on a busy machine a sign-in and a change can take long enough to straddle a second now and then).
    for (let attempt = 1; attempt <= 20 && sameSecondTried === 0; attempt++) {
      const token = await signIn(email, `password-number-${attempt - 1}`);
      expect((await admin.call('PATCH', `/api/users/${userId}`, { password: `password-number-${attempt}` })).status).toBe(200);
      const changedAt = (await app.db.prisma.user.findUniqueOrThrow({ where: { id: userId } })).passwordChangedAt!;
      if (decodeJwt(token).iat === Math.floor(changedAt.getTime() / 1000)) sameSecondTried++;
      expect(await me(bearer(token))).toBe(401);
    }
    expect(sameSecondTried).toBe(1);
    const current = (await app.db.prisma.user.findUniqueOrThrow({ where: { id: userId } })).authVersion;
    const fresh = await signIn(email, `password-number-${current}`);
    expect(await me(bearer(fresh))).toBe(200);
  });

  it('disabling a user ends their tokens for good: enabling them again does not bring the old ones back', async () => {
    const email = 'disable.me@test.local';
    const userId = await freshUser(email);
    const token = await signIn(email);
    const admin = await apiClient(app.url, tenants.users.admin.email);
    expect((await admin.call('PATCH', `/api/users/${userId}`, { disabled: true })).status).toBe(200);
    expect(await me(bearer(token))).toBe(401);
    expect((await admin.call('PATCH', `/api/users/${userId}`, { disabled: false })).status).toBe(200);
    expect(await me(bearer(token))).toBe(401);
    expect(await me(bearer(await signIn(email)))).toBe(200);
  });

  it('a token signed with our secret but without an id or auth version (issued before they existed) is refused', async () => {
    const { value } = await app.db.prisma.appSecret.findUniqueOrThrow({ where: { name: 'token' } });
    const legacy = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(tenants.users.opsA.id)
      .setIssuer('backhouse')
      .setAudience('backhouse-api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(value));
    const res = await fetch(`${app.url}/api/me`, { headers: bearer(legacy) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Sign in again/);
  });
});

describe('POST /api/auth/logout', () => {
  it('ends the token it is sent with, and only that one; audited', async () => {
    const email = 'logout.one@test.local';
    const userId = await freshUser(email);
    const [first, second] = [await signIn(email), await signIn(email)];
    const res = await post('/api/auth/logout', bearer(first));
    expect(res.status).toBe(204);
    expect(await me(bearer(first))).toBe(401);
    expect((await post('/api/auth/logout', bearer(first))).status).toBe(401);
    expect(await me(bearer(second))).toBe(200);
    const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'logout', recordId: userId } });
    expect(audit).toMatchObject({ userId, resource: 'users', after: { tokenId: decodeJwt(first).jti } });
  });

  it('with the admin session instead of a token, says how that one ends; with nothing, 401', async () => {
    const session = await adminClient(app.url, 'ops.a@test.local');
    const res = await post('/api/auth/logout', { cookie: session.cookie });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/\/admin\/logout/);
    expect(await me({ cookie: session.cookie })).toBe(200);
    expect((await post('/api/auth/logout', {})).status).toBe(401);
  });
});

describe('ending all of a user\'s tokens and sessions', () => {
  it('a user ends all of their own: every token and admin session stops working; a new sign-in works; audited', async () => {
    const email = 'everywhere@test.local';
    const userId = await freshUser(email);
    const [first, second] = [await signIn(email), await signIn(email)];
    const session = await adminClient(app.url, email);
    expect(await me({ cookie: session.cookie })).toBe(200);
    expect((await post(`/api/users/${userId}/sessions/end`, bearer(first))).status).toBe(204);
    expect(await me(bearer(first))).toBe(401);
    expect(await me(bearer(second))).toBe(401);
    expect(await me({ cookie: session.cookie })).toBe(401);
    expect((await session.call('GET', '/admin/api/resources/Product/actions/list')).status).toBe(401);
    expect(await me(bearer(await signIn(email)))).toBe(200);
    const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'end_sessions', recordId: userId } });
    expect(audit).toMatchObject({ userId, before: { authVersion: 0 }, after: { authVersion: 1 } });
  });

  it('an admin ends anyone\'s; no one else may end another user\'s (403), and an unknown user is 404', async () => {
    const email = 'ended.by.admin@test.local';
    const userId = await freshUser(email);
    const token = await signIn(email);
    const ops = await signIn('ops.a@test.local');
    const manager = await signIn('manager.a@test.local');
    expect((await post(`/api/users/${userId}/sessions/end`, bearer(ops))).status).toBe(403);
    expect((await post(`/api/users/${userId}/sessions/end`, bearer(manager))).status).toBe(403);
    expect(await me(bearer(token))).toBe(200);
    const admin = await apiClient(app.url, tenants.users.admin.email);
    expect((await admin.call('POST', `/api/users/${userId}/sessions/end`)).status).toBe(204);
    expect(await me(bearer(token))).toBe(401);
    expect(await me(bearer(ops))).toBe(200);
    expect(await app.db.prisma.auditLog.count({ where: { action: 'end_sessions', recordId: userId, userId: tenants.users.admin.id } })).toBe(1);
    expect((await admin.call('POST', '/api/users/00000000-0000-4000-8000-000000000000/sessions/end')).status).toBe(404);
    expect((await admin.call('POST', '/api/users/not-an-id/sessions/end')).status).toBe(404);
  });

  it('the admin\'s "End sessions" action on a user\'s page ends theirs, audited', async () => {
    const email = 'ended.in.admin@test.local';
    const userId = await freshUser(email);
    const token = await signIn(email);
    const admin = await adminClient(app.url, tenants.users.admin.email);
    const res = await admin.call('POST', `/admin/api/resources/User/records/${userId}/endSessions`);
    expect(res.status).toBe(200);
    expect(res.body!.notice).toMatchObject({ type: 'success', message: expect.stringContaining(email) });
    expect(await me(bearer(token))).toBe(401);
    expect(await app.db.prisma.auditLog.count({ where: { action: 'end_sessions', recordId: userId, userId: tenants.users.admin.id } })).toBe(1);
    // Not for other roles: ops may not open users at all.
    const ops = await adminClient(app.url, 'ops.a@test.local');
    expect((await ops.call('POST', `/admin/api/resources/User/records/${tenants.users.managerA.id}/endSessions`)).status).toBe(403);
  });
});

describe('signing out of the admin', () => {
  it('ends that session: its cookie signs nothing in afterwards, and its row is gone', async () => {
    const session = await adminClient(app.url, 'manager.a@test.local');
    expect(await me({ cookie: session.cookie })).toBe(200);
    const sid = decodeURIComponent(session.cookie.split('=')[1]!).replace(/^s:/, '').split('.')[0]!;
    expect((await app.db.pool.query('SELECT 1 FROM admin_sessions WHERE sid = $1', [sid])).rowCount).toBe(1);
    const out = await session.call('GET', '/admin/logout');
    expect(out.status).toBe(302);
    expect(out.location).toBe('/admin/login');
    expect((await app.db.pool.query('SELECT 1 FROM admin_sessions WHERE sid = $1', [sid])).rowCount).toBe(0);
    expect(await me({ cookie: session.cookie })).toBe(401);
    expect((await session.call('GET', '/admin/resources/Shop')).location).toBe('/admin/login');
  });
});
