import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/** Every admin screen opens for an admin, and its configuration names only properties that exist. */
let app: TestApp;
let t: Tenants;
const warnings: string[] = [];

beforeAll(async () => {
  // AdminJS reports a misconfigured screen on the console, as an error or a warning.
  for (const level of ['warn', 'error'] as const) {
    const original = console[level];
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
      original(...args);
    });
  }
  app = await startTestApp();
  t = await seedTenants(app.system);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await app?.close();
});

const screens = ['Product', 'ProductCost', 'Business', 'Shop', 'User', 'AuditLog', 'Job', 'DataFeed', 'StagedSalesRow', 'StagedCostRow', 'Dashboard', 'DashboardWidget', 'DashboardPermission'];

describe('admin screens', () => {
  it.each(screens)('%s lists, and shows its first record', async (resource) => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const list = await admin.call('GET', `/admin/api/resources/${resource}/actions/list`);
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const first = list.body!.records[0] as { id: string } | undefined;
    if (first) expect((await admin.call('GET', `/admin/api/resources/${resource}/records/${encodeURIComponent(first.id)}/show`)).status).toBe(200);
    expect(warnings.filter((w) => w.includes('[AdminJS]'))).toEqual([]);
  });

  it('a list asked for with a filter its field cannot take, or a sort by no column, is a 400 that says so (regression: 500)', async () => {
    const ops = await adminClient(app.url, t.users.opsA.email);
    for (const query of ['Product/actions/list?sortBy=foo', 'Product/actions/list?filters.sellingPriceCents=abc', 'Product/actions/list?filters.createdAt~~from=notadate', 'DataFeed/actions/list?filters.id=abc']) {
      const res = await ops.call('GET', `/admin/api/resources/${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body!.error.message, query).toMatch(/^The list cannot be filtered or sorted that way/);
    }
  });
});
