import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../core/auth/passwords.js';
import { updateRecord } from '../../core/records/service.js';
import { adminClient, apiClient, PASSWORD, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let tenants: Tenants;

beforeAll(async () => {
  app = await startTestApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '50', LOGIN_BLOCK_SECONDS: '600' });
  tenants = await seedTenants(app.system);
});
afterAll(async () => app?.close());

/** Signs in through the admin's login form (over `cookie`, when given) and answers the session cookie it sets. */
async function adminSessionCookie(email: string, password: string, cookie?: string): Promise<string> {
  const res = await fetch(`${app.url}/admin/login`, { method: 'POST', body: new URLSearchParams({ email, password }), headers: cookie ? { cookie } : {}, redirect: 'manual' });
  expect(res.status).toBe(302);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

const login = (email: string, password: string) =>
  fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });

describe('signing in through the API', () => {
  it('answers a signed, expiring bearer token for the right password, and records the sign-in', async () => {
    const res = await login('OPS.A@test.local ', PASSWORD);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expiresAt: string; user: { role: string; businessId: string } };
    expect(body.token.split('.')).toHaveLength(3);
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(body.user).toMatchObject({ role: 'ops', businessId: tenants.businessA });
    const me = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(me.status).toBe(200);
    const user = await app.db.prisma.user.findUniqueOrThrow({ where: { email: 'ops.a@test.local' } });
    expect(user.lastLoginAt).not.toBeNull();
    expect(await app.db.prisma.auditLog.count({ where: { action: 'login', recordId: user.id } })).toBe(1);
  });

  it('replaces a hash made with older settings at sign-in, and leaves a current one alone', async () => {
    const email = 'ops.b@test.local';
    const older = await argon2.hash(PASSWORD, { type: argon2.argon2id });
    await app.db.prisma.user.update({ where: { email }, data: { passwordHash: older } });
    expect((await login(email, 'not the password')).status).toBe(401);
    expect((await app.db.prisma.user.findUniqueOrThrow({ where: { email } })).passwordHash).toBe(older);
    expect((await login(email, PASSWORD)).status).toBe(200);
    const upgraded = (await app.db.prisma.user.findUniqueOrThrow({ where: { email } })).passwordHash;
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(await verifyPassword(upgraded, PASSWORD)).toBe(true);
    const audit = await app.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'login', recordId: (await app.db.prisma.user.findUniqueOrThrow({ where: { email } })).id }, orderBy: { id: 'desc' } });
    expect(audit.after).toEqual({ passwordHashUpgraded: true });
    expect((await login(email, PASSWORD)).status).toBe(200);
    expect((await app.db.prisma.user.findUniqueOrThrow({ where: { email } })).passwordHash).toBe(upgraded);
  });

  it('refuses a wrong password and an unknown email with the same 401 message', async () => {
    const wrong = await login('manager.a@test.local', 'not-the-password');
    const unknown = await login('nobody@test.local', 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await wrong.json(), await unknown.json()];
    expect(a).toEqual(b);
    expect(a).toEqual({ error: { code: 'unauthenticated', message: 'The email or password is incorrect.' } });
  });

  it('refuses a disabled user, and ends the tokens and sessions they already had', async () => {
    const ops = await apiClient(app.url, 'ops.b@test.local');
    const admin = await adminClient(app.url, 'ops.b@test.local');
    await updateRecord(app.system, 'users', tenants.users.opsB.id, { disabled: true });
    const res = await login('ops.b@test.local', PASSWORD);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/disabled/);
    expect((await ops.call('GET', '/api/products')).status).toBe(401);
    const page = await admin.call('GET', '/admin/api/resources/Product/actions/list');
    expect(page.status).toBe(401);
  });

  it('blocks an account after too many failures, even with the right password, and says when to retry', async () => {
    for (let i = 0; i < 3; i++) expect((await login('manager.b@test.local', `wrong-${i}`)).status).toBe(401);
    const blocked = await login('manager.b@test.local', PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('too_many_requests');
    // Other accounts from the same address are not blocked by this account's failures.
    expect((await login('manager.a@test.local', PASSWORD)).status).toBe(200);
  });

  it('rejects a malformed body with 400 and a token that is not ours with 401', async () => {
    const res = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' });
    expect(res.status).toBe(400);
    const forged = await fetch(`${app.url}/api/products`, { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad' } });
    expect(forged.status).toBe(401);
    const none = await fetch(`${app.url}/api/products`);
    expect(none.status).toBe(401);
  });
});

describe('signing in to the admin', () => {
  it('signs in with the form and keeps the session in PostgreSQL', async () => {
    const admin = await adminClient(app.url, 'ops.a@test.local');
    const sessions = await app.db.pool.query(`SELECT sess FROM admin_sessions WHERE sess->'adminUser'->>'email' = 'ops.a@test.local'`);
    expect(sessions.rowCount).toBeGreaterThan(0);
    expect((await admin.call('GET', '/admin/api/resources/Product/actions/list')).status).toBe(200);
  });

  it('a sign-in gets a new session id: a session known before it does not become the new user\'s (regression: session fixation)', async () => {
    const signIn = (email: string, cookie?: string) => adminSessionCookie(email, PASSWORD, cookie);
    const me = async (cookie: string) => (await fetch(`${app.url}/api/me`, { headers: { cookie } }).then((res) => res.json())) as { data?: { user: { role: string } } };
    const opsSession = await signIn('ops.a@test.local');
    const adminSession = await signIn(tenants.users.admin.email, opsSession);
    expect(adminSession).not.toBe(opsSession);
    expect((await me(adminSession)).data!.user.role).toBe('admin');
    // The cookie from before the admin signed in is no session of the admin's.
    expect((await me(opsSession)).data?.user.role).not.toBe('admin');
  });

  it('a write with the session cookie from another site is refused; from the site itself, or with a token, it goes through (regression: CSRF)', async () => {
    const cookie = await adminSessionCookie('ops.a@test.local', PASSWORD);
    const product = tenants.productA;
    const rename = (name: string, origin: string) =>
      fetch(`${app.url}/admin/api/resources/Product/records/${product}/edit`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name }) });
    const forged = await rename('Renamed from elsewhere', `http://127.0.0.1:9999`);
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toMatch(/came from another site/);
    const upload = new FormData();
    upload.append('file', new Blob(['a,b\n1,2\n']), 'x.csv');
    expect((await fetch(`${app.url}/api/data-sources`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' }, body: upload })).status).toBe(403);
    // A page may hide its origin ("null"): that cannot be checked, so it is refused too.
    expect((await rename('Renamed from nowhere', 'null')).status).toBe(403);
    expect((await app.db.prisma.product.findUniqueOrThrow({ where: { id: product } })).name).toBe('Croissant');
    expect((await rename('Croissant', app.url)).status).toBe(200);
  });

  it('a changed password ends the tokens and sessions of the old one; a new sign-in works (regression: they lived on for hours)', async () => {
    const email = 'reset.me@test.local';
    await app.db.prisma.user.deleteMany({ where: { email } });
    const admin = await apiClient(app.url, tenants.users.admin.email);
    const created = await admin.call('POST', '/api/users', { email, role: 'ops', businessId: tenants.businessA, password: 'first-password-1' });
    expect(created.status).toBe(201);
    const token = (await (await login(email, 'first-password-1')).json()).token as string;
    const cookie = await adminSessionCookie(email, 'first-password-1');
    const me = (headers: Record<string, string>) => fetch(`${app.url}/api/me`, { headers }).then((res) => res.status);
    expect(await me({ authorization: `Bearer ${token}` })).toBe(200);
    expect(await me({ cookie })).toBe(200);
    expect((await admin.call('PATCH', `/api/users/${created.body!.data.id}`, { password: 'second-password-2' })).status).toBe(200);
    expect(await me({ authorization: `Bearer ${token}` })).toBe(401);
    expect(await me({ cookie })).toBe(401);
    expect((await fetch(`${app.url}/admin/resources/Product`, { headers: { cookie }, redirect: 'manual' })).headers.get('location')).toBe('/admin/login');
    const fresh = (await (await login(email, 'second-password-2')).json()).token as string;
    expect(await me({ authorization: `Bearer ${fresh}` })).toBe(200);
    // Other changes to the user (a name) end nothing.
    expect((await admin.call('PATCH', `/api/users/${created.body!.data.id}`, { name: 'Renamed' })).status).toBe(200);
    expect(await me({ authorization: `Bearer ${fresh}` })).toBe(200);
  });

  it('shows the login page again, with no session, for a wrong password', async () => {
    const res = await fetch(`${app.url}/admin/login`, { method: 'POST', body: new URLSearchParams({ email: 'ops.a@test.local', password: 'nope' }), redirect: 'manual' });
    expect(res.status).not.toBe(302);
    expect(await res.text()).toContain('login');
  });

  it('sends an unsigned visitor to the login page', async () => {
    const res = await fetch(`${app.url}/admin/resources/Product`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/login');
  });
});
