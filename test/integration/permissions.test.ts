import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecord } from '../../core/records/service.js';
import { adminClient, apiClient, PASSWORD, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/**
 * The permission matrix as the product's users were promised it (issue 2), written out by hand so that
 * a change to core/auth/permissions.ts that breaks a promise fails here.
 */
type Role = 'admin' | 'ops' | 'manager' | 'dashboard_reader';
type Resource = 'products' | 'businesses' | 'shops' | 'users' | 'auditLog' | 'jobs';
type Action = 'list' | 'show' | 'new' | 'edit' | 'delete';
const all: Action[] = ['list', 'show', 'new', 'edit', 'delete'];
const read: Action[] = ['list', 'show'];
const expected: Record<Role, Record<Resource, Action[]>> = {
  admin: { products: all, businesses: all, shops: all, users: all, auditLog: read, jobs: read },
  ops: { products: all, businesses: read, shops: read, users: [], auditLog: [], jobs: [] },
  manager: { products: [], businesses: read, shops: read, users: [], auditLog: [], jobs: [] },
  // Reads dashboards only (issue 17): no record screen at all.
  dashboard_reader: { products: [], businesses: [], shops: [], users: [], auditLog: [], jobs: [] },
};
const resources = Object.keys(expected.admin) as Resource[];
const adminIds: Record<Resource, string> = { products: 'Product', businesses: 'Business', shops: 'Shop', users: 'User', auditLog: 'AuditLog', jobs: 'Job' };
const apiPaths: Record<Resource, string> = { products: '/api/products', businesses: '/api/businesses', shops: '/api/shops', users: '/api/users', auditLog: '/api/audit-log', jobs: '/api/jobs' };

let app: TestApp;
let t: Tenants;
let counter = 0;
const emails: Record<Role, string> = { admin: '', ops: '', manager: '', dashboard_reader: '' };

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  emails.admin = t.users.admin.email;
  emails.ops = t.users.opsA.email;
  emails.manager = t.users.managerA.email;
  emails.dashboard_reader = 'reader.matrix@test.local';
  await createRecord(app.system, 'users', { email: emails.dashboard_reader, role: 'dashboard_reader', businessId: t.businessA, password: PASSWORD });
  // One failed job so that the jobs screens have a record to show.
  await app.jobs.send('system.probe', { note: 'matrix', failAttempts: 100 });
});
afterAll(async () => app?.close());

/** A record of the caller's own business (business A, shop A1) that the action can act on. */
async function targetFor(resource: Resource): Promise<string> {
  const n = ++counter;
  const ctx = app.system;
  switch (resource) {
    case 'products':
      return (await createRecord(ctx, 'products', { businessId: t.businessA, name: `Target ${n}`, sellingPriceCents: 100 })).id as string;
    case 'businesses':
      // Scoped users can only ever reach their own business.
      return t.businessA;
    case 'shops':
      return t.shopA1;
    case 'users':
      return (await createRecord(ctx, 'users', { email: `target${n}@test.local`, role: 'ops', businessId: t.businessA, password: 'a-long-password' })).id as string;
    case 'auditLog':
      return String((await app.db.prisma.auditLog.findFirstOrThrow({ where: { businessId: t.businessA } })).id);
    case 'jobs': {
      const rows = await app.db.pool.query<{ id: string }>(`SELECT id::text FROM pgboss.job WHERE name = 'system.probe' LIMIT 1`);
      return rows.rows[0]!.id;
    }
  }
}

function newInput(resource: Resource): Record<string, string> {
  const n = ++counter;
  switch (resource) {
    case 'products':
      return { businessId: t.businessA, name: `New product ${n}`, sellingPriceCents: '250', unit: 'each' };
    case 'businesses':
      return { name: `New business ${n}`, timezone: 'UTC', currency: 'EUR' };
    case 'shops':
      return { businessId: t.businessA, name: `New shop ${n}` };
    case 'users':
      return { email: `new${n}@test.local`, role: 'ops', businessId: t.businessA, password: 'a-long-password' };
    default:
      return { note: 'x' };
  }
}

const editInput: Record<Resource, Record<string, string>> = {
  products: { category: 'Edited' },
  businesses: { timezone: 'Europe/Paris' },
  shops: { code: 'ED' },
  users: { name: 'Edited Name' },
  auditLog: { action: 'tampered' },
  jobs: { state: 'completed' },
};

/** Businesses and shops are deleted only when nothing refers to them: give deletes a fresh one. */
async function deletableTarget(resource: Resource, allowed: boolean): Promise<string> {
  // A refused delete is tried on a record the caller can see, so the refusal is the role's, not the scope's.
  if (!allowed) return targetFor(resource);
  if (resource === 'businesses') return (await createRecord(app.system, 'businesses', { name: `Disposable ${++counter}` })).id as string;
  if (resource === 'shops') return (await createRecord(app.system, 'shops', { businessId: t.businessA, name: `Disposable ${++counter}` })).id as string;
  return targetFor(resource);
}

/** The admin names a record's business by its relation, `business`. */
function asAdminForm(input: Record<string, string>): Record<string, string> {
  const { businessId, ...rest } = input;
  return businessId ? { ...rest, business: businessId } : rest;
}

const cases = (Object.keys(expected) as Role[]).flatMap((role) =>
  resources.flatMap((resource) => all.map((action) => ({ role, resource, action, allowed: expected[role][resource].includes(action) }))),
);

describe('the permission matrix through /api', () => {
  it.each(cases)('$role $action $resource → allowed: $allowed', async ({ role, resource, action, allowed }) => {
    const api = await apiClient(app.url, emails[role]);
    const base = apiPaths[resource];
    let res;
    if (action === 'list') res = await api.call('GET', base);
    else if (action === 'show') res = await api.call('GET', `${base}/${await targetFor(resource)}`);
    else if (action === 'new') res = await api.call('POST', base, newInput(resource));
    else if (action === 'edit') res = await api.call('PATCH', `${base}/${await targetFor(resource)}`, editInput[resource]);
    else res = await api.call('DELETE', `${base}/${await deletableTarget(resource, allowed)}`);
    if (allowed) {
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    } else {
      // Read-only resources have no write routes at all (404); everything else says 403.
      expect([403, 404], JSON.stringify(res.body)).toContain(res.status);
      expect(res.body?.error?.code).toMatch(/forbidden|not_found/);
      if (resource !== 'auditLog' && resource !== 'jobs') expect(res.status).toBe(403);
    }
  });
});

describe('the permission matrix through the admin', () => {
  it.each(cases)('$role $action $resource → allowed: $allowed', async ({ role, resource, action, allowed }) => {
    const admin = await adminClient(app.url, emails[role]);
    const id = adminIds[resource];
    let res;
    if (action === 'list') res = await admin.call('GET', `/admin/api/resources/${id}/actions/list`);
    else if (action === 'show') res = await admin.call('GET', `/admin/api/resources/${id}/records/${await targetFor(resource)}/show`);
    else if (action === 'new') res = await admin.call('POST', `/admin/api/resources/${id}/actions/new`, asAdminForm(newInput(resource)));
    else if (action === 'edit') res = await admin.call('POST', `/admin/api/resources/${id}/records/${await targetFor(resource)}/edit`, editInput[resource]);
    else res = await admin.call('POST', `/admin/api/resources/${id}/records/${await deletableTarget(resource, allowed)}/delete`);
    if (allowed) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body?.record?.errors ?? {}, JSON.stringify(res.body)).toEqual({});
      expect(res.body?.notice?.type ?? 'success', JSON.stringify(res.body)).toBe('success');
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(403);
    }
  });
});

describe('scope: nobody reads or writes another business by id', () => {
  it('an ops user of business A gets 404 for business B’s product, and cannot write into business B', async () => {
    const api = await apiClient(app.url, t.users.opsA.email);
    const show = await api.call('GET', `/api/products/${t.productB}`);
    expect(show.status).toBe(404);
    expect(JSON.stringify(show.body)).not.toContain('Oil change');
    expect((await api.call('PATCH', `/api/products/${t.productB}`, { name: 'stolen' })).status).toBe(404);
    expect((await api.call('DELETE', `/api/products/${t.productB}`)).status).toBe(404);
    const create = await api.call('POST', '/api/products', { businessId: t.businessB, name: 'Planted', sellingPriceCents: 1 });
    expect(create.status).toBe(403);
    const list = await api.call('GET', '/api/products?perPage=500');
    expect(list.body?.data.every((p: { businessId: string }) => p.businessId === t.businessA)).toBe(true);
    const filtered = await api.call('GET', `/api/products?businessId=${t.businessB}`);
    expect(filtered.body?.data).toEqual([]);
    const product = await app.db.prisma.product.findUniqueOrThrow({ where: { id: t.productB } });
    expect(product.name).toBe('Oil change');
  });

  it('a manager of business A sees only their assigned shop and their business, never B’s', async () => {
    const api = await apiClient(app.url, t.users.managerA.email);
    expect((await api.call('GET', `/api/shops/${t.shopB1}`)).status).toBe(404);
    expect((await api.call('GET', `/api/shops/${t.shopA2}`)).status).toBe(404);
    expect((await api.call('GET', `/api/shops/${t.shopA1}`)).status).toBe(200);
    expect((await api.call('GET', `/api/businesses/${t.businessB}`)).status).toBe(404);
    const shops = await api.call('GET', '/api/shops');
    expect(shops.body?.data.map((s: { id: string }) => s.id)).toEqual([t.shopA1]);
    const businesses = await api.call('GET', '/api/businesses');
    expect(businesses.body?.data.map((b: { id: string }) => b.id)).toEqual([t.businessA]);
    expect((await api.call('GET', `/api/products/${t.productB}`)).status).toBe(403);
  });

  it('the same holds in the admin: another business’s record is not shown, edited or deleted', async () => {
    const ops = await adminClient(app.url, t.users.opsA.email);
    const show = await ops.call('GET', `/admin/api/resources/Product/records/${t.productB}/show`);
    expect(show.status).toBe(404);
    expect(JSON.stringify(show.body)).not.toContain('Oil change');
    const edit = await ops.call('POST', `/admin/api/resources/Product/records/${t.productB}/edit`, { name: 'stolen' });
    expect(edit.status).toBe(404);
    const del = await ops.call('POST', `/admin/api/resources/Product/records/${t.productB}/delete`);
    expect(del.status).toBe(404);
    const list = await ops.call('GET', '/admin/api/resources/Product/actions/list?perPage=500');
    expect(list.body?.records.length).toBeGreaterThan(0);
    expect(list.body?.records.every((r: { params: { business: string } }) => r.params.business === t.businessA)).toBe(true);
    const manager = await adminClient(app.url, t.users.managerA.email);
    const shop = await manager.call('GET', `/admin/api/resources/Shop/records/${t.shopB1}/show`);
    expect(shop.status).toBe(404);
    expect((await app.db.prisma.product.findUniqueOrThrow({ where: { id: t.productB } })).name).toBe('Oil change');
  });
});
