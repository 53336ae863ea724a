import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
});
afterAll(async () => app?.close());

const entriesFor = (recordId: string) => app.db.prisma.auditLog.findMany({ where: { recordId }, orderBy: { id: 'asc' } });

describe('every write is audited: who, when, what, before and after', () => {
  it('through the API: create, edit and delete of a product', async () => {
    const api = await apiClient(app.url, t.users.opsA.email);
    const created = await api.call('POST', '/api/products', { name: 'Audited Tart', sellingPriceCents: 450, costPriceCents: 120 });
    expect(created.status).toBe(201);
    const id = created.body!.data.id as string;
    expect(created.body!.data.businessId).toBe(t.businessA);
    expect((await api.call('PATCH', `/api/products/${id}`, { sellingPriceCents: 475 })).status).toBe(200);
    expect((await api.call('DELETE', `/api/products/${id}`)).status).toBe(204);

    const entries = await entriesFor(id);
    expect(entries.map((e) => e.action)).toEqual(['create', 'update', 'delete']);
    for (const entry of entries) {
      expect(entry).toMatchObject({ resource: 'products', userId: t.users.opsA.id, userEmail: t.users.opsA.email, businessId: t.businessA });
      expect(entry.at.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(entry.requestId).toBeTruthy();
    }
    const [create, update, remove] = entries;
    expect(create!.before).toBeNull();
    expect(create!.after).toMatchObject({ name: 'Audited Tart', sellingPriceCents: 450 });
    expect(update!.before).toMatchObject({ sellingPriceCents: 450 });
    expect(update!.after).toMatchObject({ sellingPriceCents: 475 });
    expect(remove!.before).toMatchObject({ name: 'Audited Tart', sellingPriceCents: 475 });
    expect(remove!.after).toBeNull();
  });

  it('through the admin: create, edit and delete of a user, never storing a password', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const created = await admin.call('POST', '/admin/api/resources/User/actions/new', {
      email: 'Audited.User@test.local',
      role: 'manager',
      business: t.businessB,
      'shopIds.0': t.shopB1,
      password: 'a-secret-password',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body!.record.errors).toEqual({});
    const id = created.body!.record.id as string;
    const user = await app.db.prisma.user.findUniqueOrThrow({ where: { id } });
    expect(user).toMatchObject({ email: 'audited.user@test.local', role: 'manager', businessId: t.businessB, shopIds: [t.shopB1] });
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);

    const edited = await admin.call('POST', `/admin/api/resources/User/records/${id}/edit`, { name: 'Audrey', disabled: 'true' });
    expect(edited.status).toBe(200);
    expect(edited.body!.record.errors).toEqual({});
    const reset = await admin.call('POST', `/admin/api/resources/User/records/${id}/edit`, { password: 'another-secret-password' });
    expect(reset.body!.record.errors).toEqual({});
    expect((await admin.call('POST', `/admin/api/resources/User/records/${id}/delete`)).status).toBe(200);

    const entries = await entriesFor(id);
    expect(entries.map((e) => e.action)).toEqual(['create', 'update', 'update', 'delete']);
    expect(entries.every((e) => e.userId === t.users.admin.id)).toBe(true);
    expect(entries[1]!.before).toMatchObject({ name: null, disabled: false });
    expect(entries[1]!.after).toMatchObject({ name: 'Audrey', disabled: true });
    expect(entries[1]!.after).not.toHaveProperty('passwordChanged');
    // A password reset says so (regression: its entry showed no change at all).
    expect(entries[2]!.after).toMatchObject({ passwordChanged: true });
    expect(JSON.stringify(entries.map((e) => ({ ...e, id: String(e.id) })))).not.toMatch(/argon2|secret-password|passwordHash/);
  });

  it('a refused write changes nothing and logs nothing', async () => {
    const last = await app.db.prisma.auditLog.findFirstOrThrow({ orderBy: { id: 'desc' } });
    const api = await apiClient(app.url, t.users.managerA.email);
    expect((await api.call('PATCH', `/api/shops/${t.shopA1}`, { name: 'Renamed' })).status).toBe(403);
    const invalid = await (await apiClient(app.url, t.users.opsA.email)).call('POST', '/api/products', { name: '', sellingPriceCents: -5 });
    expect(invalid.status).toBe(422);
    expect(invalid.body!.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'name' }), expect.objectContaining({ field: 'sellingPriceCents' })]),
    );
    // An edit naming no field that can change (regression: 200, and an "update" entry that changed nothing).
    const nothing = await (await apiClient(app.url, t.users.opsA.email)).call('PATCH', `/api/products/${t.productA}`, { id: '22222222-2222-2222-2222-222222222222', business: t.businessB });
    expect(nothing.status).toBe(400);
    expect(nothing.body!.error.message).toMatch(/^Nothing to change: the request names no field of the product that can be changed \(businessId, name, /);
    const since = await app.db.prisma.auditLog.findMany({ where: { id: { gt: last.id } } });
    expect(since.map((e) => e.action)).toEqual(['login', 'login', 'login']);
  });

  it('an edit changes the fields it names, and leaves the others as they are (regression: an edit re-activated a product and reset a business\'s time zone)', async () => {
    const ops = await apiClient(app.url, t.users.opsA.email);
    const created = await ops.call('POST', '/api/products', { name: 'Seasonal Stollen', sellingPriceCents: 1200, costPriceCents: 400, active: false, unit: 'loaf' });
    expect(created.status).toBe(201);
    const renamed = await ops.call('PATCH', `/api/products/${created.body!.data.id}`, { name: 'Christmas Stollen' });
    expect(renamed.status).toBe(200);
    expect(await app.db.prisma.product.findUniqueOrThrow({ where: { id: created.body!.data.id } })).toMatchObject({ name: 'Christmas Stollen', active: false, costPriceCents: 400, unit: 'loaf' });
    const admin = await apiClient(app.url, t.users.admin.email);
    expect((await admin.call('PATCH', `/api/businesses/${t.businessA}`, { name: 'Alpha Bakery' })).status).toBe(200);
    expect(await app.db.prisma.business.findUniqueOrThrow({ where: { id: t.businessA } })).toMatchObject({ timezone: 'Europe/London', currency: 'GBP' });
  });

  it('the audit log is readable by admins only, and cannot be changed through any door', async () => {
    const admin = await apiClient(app.url, t.users.admin.email);
    const list = await admin.call('GET', '/api/audit-log?perPage=5');
    expect(list.status).toBe(200);
    expect(list.body!.data.length).toBe(5);
    const id = list.body!.data[0].id as string;
    expect((await admin.call('PATCH', `/api/audit-log/${id}`, { action: 'x' })).status).toBe(404);
    expect((await admin.call('DELETE', `/api/audit-log/${id}`)).status).toBe(404);
    const session = await adminClient(app.url, t.users.admin.email);
    expect((await session.call('POST', `/admin/api/resources/AuditLog/records/${id}/delete`)).status).toBe(403);
    expect((await (await apiClient(app.url, t.users.opsA.email)).call('GET', '/api/audit-log')).status).toBe(403);
  });
});

describe('conflicts and integrity', () => {
  it('a duplicate product name in the same business is a 409 that names the field', async () => {
    const api = await apiClient(app.url, t.users.opsA.email);
    const dup = await api.call('POST', '/api/products', { name: 'Croissant', sellingPriceCents: 1 });
    expect(dup.status).toBe(409);
    expect(dup.body!.error).toMatchObject({ code: 'conflict', details: { field: 'name' } });
  });

  it('the last active admin cannot be disabled, demoted or deleted', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    expect((await api.call('PATCH', `/api/users/${t.users.admin.id}`, { disabled: true })).status).toBe(409);
    expect((await api.call('PATCH', `/api/users/${t.users.admin.id}`, { role: 'ops', businessId: t.businessA })).status).toBe(409);
    expect((await api.call('DELETE', `/api/users/${t.users.admin.id}`)).status).toBe(409);
  });

  it('two admins disabling each other at the same moment leave one active (regression: both went through, and nobody could sign in as admin)', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    const second = await api.call('POST', '/api/users', { email: 'second.admin@test.local', role: 'admin', password: 'second-admin-pw-1' });
    expect(second.status).toBe(201);
    try {
      for (let round = 0; round < 3; round++) {
        // Signed in each round: disabling a user ends their tokens for good, re-enabling them does not revive them.
        const [mine, other] = [await apiClient(app.url, t.users.admin.email), await apiClient(app.url, 'second.admin@test.local', 'second-admin-pw-1')];
        const answers = await Promise.all([mine.call('PATCH', `/api/users/${second.body!.data.id}`, { disabled: true }), other.call('PATCH', `/api/users/${t.users.admin.id}`, { disabled: true })]);
        const active = await app.db.prisma.user.count({ where: { role: 'admin', disabled: false } });
        expect(active, JSON.stringify(answers.map((a) => a.status))).toBe(1);
        // The other is refused: by the last-admin check (409), or, when the first change had already ended
        // its sender's tokens by the time its request was read, as no longer signed in (401).
        const [accepted, refused] = answers.map((a) => a.status).sort();
        expect(accepted).toBe(200);
        expect([401, 409]).toContain(refused);
        // Both active again for the next round.
        await app.db.prisma.user.updateMany({ where: { role: 'admin' }, data: { disabled: false } });
      }
    } finally {
      await app.db.prisma.user.updateMany({ where: { role: 'admin' }, data: { disabled: false } });
      await app.db.prisma.user.delete({ where: { id: second.body!.data.id } });
    }
  });

  it('a manager’s shops must belong to their business', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    const res = await api.call('POST', '/api/users', { email: 'cross@test.local', role: 'manager', businessId: t.businessA, shopIds: [t.shopB1], password: 'long-enough-pw' });
    expect(res.status).toBe(422);
    expect(res.body!.error.details).toEqual([expect.objectContaining({ field: 'shopIds' })]);
  });
});
