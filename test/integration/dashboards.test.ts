import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '../../core/auth/signIn.js';
import { contextFor, type Context } from '../../core/context.js';
import { createLogger } from '../../core/log.js';
import { createRecord, deleteRecord, updateRecord } from '../../core/records/service.js';
import { todayIn } from '../../core/warehouse/ranges.js';
import { refreshViews } from '../../core/warehouse/views.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/**
 * Dashboards: widget data read under the reporting role equals what the views hold for the caller,
 * managers see only their business and team, dashboards not granted are not found, and only admins
 * compose and grant (audited).
 */

let app: TestApp;
let t: Tenants;
let otherManagerA: string;
let seeded: string;
type Client = Awaited<ReturnType<typeof apiClient>>;
const clients = {} as Record<'admin' | 'opsA' | 'managerA' | 'managerB', Client>;

interface Order { business: 'A' | 'B'; ref: string; customer: string; date: string; status: string; total: string; team: 'managerA' | 'otherA' | 'managerB' | null }
const orders: Order[] = [
  { business: 'A', ref: 'A1', customer: 'C1', date: '2026-01-05', status: 'paid', total: '100.10', team: 'managerA' },
  { business: 'A', ref: 'A2', customer: 'C1', date: '2026-02-10', status: 'paid', total: '50.05', team: 'managerA' },
  { business: 'A', ref: 'A3', customer: 'C2', date: '2026-02-11', status: 'paid', total: '700.00', team: 'otherA' },
  { business: 'A', ref: 'A4', customer: 'C3', date: '2026-03-01', status: 'cancelled', total: '999.99', team: 'managerA' },
  { business: 'A', ref: 'A5', customer: 'C4', date: '2026-03-02', status: 'paid', total: '20.00', team: null },
  { business: 'B', ref: 'B1', customer: 'C1', date: '2026-01-05', status: 'paid', total: '5000.00', team: 'managerB' },
];

async function ctxOf(userId: string): Promise<Context> {
  const principal = principalOf(await app.db.prisma.user.findUniqueOrThrow({ where: { id: userId } }));
  return contextFor(principal, app.db, createLogger('silent'));
}

const sql = async (text: string, params: unknown[] = []) => (await app.db.pool.query(text, params)).rows;
const cents = (amount: string) => Math.round(Number(amount) * 100);

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  otherManagerA = (await createRecord(app.system, 'users', { email: 'manager.a2@test.local', role: 'manager', businessId: t.businessA, password: 'correct-horse-battery' })).id as string;
  const team = { managerA: t.users.managerA.id, otherA: otherManagerA, managerB: t.users.managerB.id };
  const business = { A: t.businessA, B: t.businessB };
  const sources: Record<string, string> = {};
  for (const key of ['A', 'B'] as const) {
    const [row] = await sql(`INSERT INTO data_sources (business_id, name, filename, header_fingerprint) VALUES ($1, 'ERP', 'orders.csv', 'fp') RETURNING id`, [business[key]]);
    sources[key] = row!.id as string;
  }
  let row = 0;
  for (const o of orders) {
    await sql(
      `INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, manager_id, data_source_id, source_row) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [business[o.business], o.ref, o.customer, o.date, o.status, o.total, o.team ? team[o.team] : null, sources[o.business], ++row],
    );
  }
  await sql(`INSERT INTO canonical_customers (business_id, customer_ref, name, data_source_id, source_row) VALUES ($1, 'C1', 'Ada Ltd', $2, 1), ($1, 'C2', 'Bea plc', $2, 2)`, [t.businessA, sources.A]);
  await sql(
    `INSERT INTO canonical_invoices (business_id, invoice_ref, customer_ref, invoice_date, amount, paid, data_source_id, source_row)
     VALUES ($1, 'I1', 'C1', '2026-01-06', 100.10, true, $3, 1), ($1, 'I2', 'C2', '2026-02-12', 700.00, false, $3, 2), ($2, 'I1', 'C1', '2026-01-06', 5000, false, $4, 1)`,
    [t.businessA, t.businessB, sources.A, sources.B],
  );
  await refreshViews(app.system, { trigger: 'manual' });
  clients.admin = await apiClient(app.url, t.users.admin.email);
  clients.opsA = await apiClient(app.url, t.users.opsA.email);
  clients.managerA = await apiClient(app.url, t.users.managerA.email);
  clients.managerB = await apiClient(app.url, t.users.managerB.email);
  const [dashboard] = await sql(`SELECT id FROM dashboards WHERE name = 'Orders & customers'`);
  seeded = dashboard!.id as string;
}, 120_000);
afterAll(async () => app?.close());

type Widget = { id: string; title: string; type: string; rows: Record<string, unknown>[]; freshness: { refreshed_at: string | null; stale: boolean }; error: string | null };
async function widgetsOf(client: Client, query = ''): Promise<Record<string, Widget>> {
  const res = await client.call('GET', `/api/dashboard/${seeded}/data${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return Object.fromEntries((res.body!.data.widgets as Widget[]).map((w) => [w.title, w]));
}

/** Revenue of the orders a reader may see, computed here from the rows inserted above. */
function expectedRevenue(visible: (o: Order) => boolean) {
  const counted = orders.filter((o) => visible(o) && o.status !== 'cancelled');
  const byMonth = new Map<string, number>();
  for (const o of counted) byMonth.set(`${o.date.slice(0, 7)}-01`, (byMonth.get(`${o.date.slice(0, 7)}-01`) ?? 0) + cents(o.total));
  return {
    total: counted.reduce((sum, o) => sum + cents(o.total), 0),
    orders: counted.length,
    months: [...byMonth.entries()].sort().map(([month, revenue]) => ({ month, revenue })),
  };
}

describe('listing and opening dashboards', () => {
  it('the seeded "Orders & customers" is listed for admin, ops and manager', async () => {
    for (const client of [clients.admin, clients.opsA, clients.managerA]) {
      const res = await client.call('GET', '/api/dashboards');
      expect(res.status).toBe(200);
      expect(res.body!.data.map((d: { name: string }) => d.name)).toContain('Orders & customers');
    }
    const detail = await clients.managerA.call('GET', `/api/dashboard/${seeded}`);
    expect(detail.status).toBe(200);
    expect(detail.body!.data.widgets.map((w: { type: string }) => w.type).sort()).toEqual(['bar', 'donut', 'kpi', 'kpi', 'line', 'table']);
    expect(detail.body!.data.can_edit).toBe(false);
  });

  it('an unknown dashboard, a malformed id and a dashboard not granted to the role are 404', async () => {
    expect((await clients.managerA.call('GET', '/api/dashboard/00000000-0000-4000-8000-000000000000/data')).status).toBe(404);
    expect((await clients.managerA.call('GET', '/api/dashboard/not-an-id')).status).toBe(404);
    const adminCtx = await ctxOf(t.users.admin.id);
    const secret = await createRecord(adminCtx, 'dashboards', { name: 'Board only' });
    await createRecord(adminCtx, 'dashboardPermissions', { dashboardId: secret.id, role: 'admin' });
    await createRecord(adminCtx, 'dashboardWidgets', { dashboardId: secret.id, title: 'Orders', type: 'kpi', viewName: 'monthly_revenue', fields: { value: 'order_count' } });
    for (const path of [`/api/dashboard/${secret.id}`, `/api/dashboard/${secret.id}/data`]) {
      expect((await clients.managerA.call('GET', path)).status).toBe(404);
      expect((await clients.opsA.call('GET', path)).status).toBe(404);
    }
    expect((await clients.managerA.call('GET', '/api/dashboards')).body!.data.map((d: { name: string }) => d.name)).not.toContain('Board only');
    expect((await clients.admin.call('GET', `/api/dashboard/${secret.id}/data?business_id=${t.businessA}`)).status).toBe(200);
    // Granted to managers, but of business B: not there for a manager of A.
    const ofB = await createRecord(adminCtx, 'dashboards', { name: 'Beta only', businessId: t.businessB });
    await createRecord(adminCtx, 'dashboardPermissions', { dashboardId: ofB.id, role: 'manager' });
    expect((await clients.managerA.call('GET', `/api/dashboard/${ofB.id}/data`)).status).toBe(404);
    expect((await clients.managerB.call('GET', `/api/dashboard/${ofB.id}/data`)).status).toBe(200);
  });
});

describe('widget data', () => {
  it('equals what the views hold for the caller: ops see their whole business', async () => {
    const widgets = await widgetsOf(clients.opsA);
    const viewRows = await sql(
      `SELECT to_char(month, 'YYYY-MM-DD') AS month, currency, sum(revenue)::text AS revenue FROM monthly_revenue WHERE business_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
      [t.businessA],
    );
    expect(widgets['Monthly revenue']!.rows).toEqual(viewRows.map((r) => ({ month: r.month, currency: r.currency, revenue: Number(r.revenue) })));
    const expected = expectedRevenue((o) => o.business === 'A');
    expect(widgets['Monthly revenue']!.rows.map((r) => ({ month: r.month, revenue: Math.round((r.revenue as number) * 100) }))).toEqual(expected.months);
    expect(widgets['Revenue, all time']!.rows).toEqual([{ currency: 'GBP', revenue: expected.total / 100 }]);
    expect(widgets['Orders, all time']!.rows).toEqual([{ order_count: expected.orders }]);
    const top = await sql(`SELECT customer_name, customer_ref, currency, sum(revenue)::text AS revenue, sum(order_count)::text AS order_count FROM top_customers WHERE business_id = $1 GROUP BY 1, 2, 3 ORDER BY sum(revenue) DESC, 1, 2, 3 LIMIT 10`, [t.businessA]);
    expect(widgets['Top customers']!.rows).toEqual(top.map((r) => ({ ...r, revenue: Number(r.revenue), order_count: Number(r.order_count) })));
    // Slices by size, ties in order of their label.
    expect(widgets['Invoices by status']!.rows).toEqual([
      { paid: false, invoice_count: 1 },
      { paid: true, invoice_count: 1 },
    ]);
    for (const widget of Object.values(widgets)) {
      expect(widget.error).toBeNull();
      expect(widget.freshness.stale).toBe(false);
      expect(Date.parse(widget.freshness.refreshed_at!)).toBeGreaterThan(Date.now() - 600_000);
    }
  });

  it('a manager sees only their own team’s orders in team-scoped widgets, and their business’s in the others', async () => {
    const widgets = await widgetsOf(clients.managerA);
    const expected = expectedRevenue((o) => o.business === 'A' && o.team === 'managerA');
    expect(widgets['Revenue, all time']!.rows).toEqual([{ currency: 'GBP', revenue: expected.total / 100 }]);
    expect(widgets['Orders, all time']!.rows).toEqual([{ order_count: expected.orders }]);
    expect(widgets['Monthly revenue']!.rows.map((r) => ({ month: r.month, revenue: Math.round((r.revenue as number) * 100) }))).toEqual(expected.months);
    expect(widgets['Top customers']!.rows.map((r) => r.customer_ref)).toEqual(['C1']);
    // Customers and invoices are business-wide: A's, never B's.
    expect(widgets['Invoices by status']!.rows.reduce((sum, r) => sum + (r.invoice_count as number), 0)).toBe(2);
    // C1, C2 (another team's customer) and C4 (no team); C3 only cancelled.
    const bar = widgets['New vs returning customers']!.rows;
    expect(bar.reduce((sum, r) => sum + (r.new_customers as number), 0)).toBe(3);
  });

  it('a manager never reaches another business through any endpoint or parameter', async () => {
    expect((await clients.managerA.call('GET', `/api/dashboard/${seeded}/data?business_id=${t.businessB}`)).status).toBe(403);
    const widgetsB = await widgetsOf(clients.managerB);
    expect(widgetsB['Revenue, all time']!.rows).toEqual([{ currency: 'USD', revenue: 5000 }]);
    expect(widgetsB['Top customers']!.rows.map((r) => r.customer_name)).not.toContain('Ada Ltd');
  });

  it('an admin chooses the business, and one widget can be asked for alone', async () => {
    expect((await clients.admin.call('GET', `/api/dashboard/${seeded}/data`)).status).toBe(400);
    const widgets = await widgetsOf(clients.admin, `?business_id=${t.businessB}`);
    expect(widgets['Revenue, all time']!.rows).toEqual([{ currency: 'USD', revenue: 5000 }]);
    const one = await clients.admin.call('GET', `/api/dashboard/${seeded}/data?business_id=${t.businessA}&widget_id=${widgets['Monthly revenue']!.id}`);
    expect(one.body!.data.widgets.map((w: Widget) => w.title)).toEqual(['Monthly revenue']);
  });

  it('answers follow the views: unchanged until a refresh, then the new rows, never one reader’s answer for another', async () => {
    const revenue = async (client: Client) => (await widgetsOf(client))['Revenue, all time']!;
    const opsBefore = await revenue(clients.opsA);
    const managerBefore = await revenue(clients.managerA);
    const [source] = await sql(`SELECT id FROM data_sources WHERE business_id = $1`, [t.businessA]);
    await sql(
      `INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, manager_id, data_source_id, source_row) VALUES ($1, 'A9', 'C9', '2026-03-03', 'paid', 1.25, $2, $3, 99)`,
      [t.businessA, t.users.managerA.id, source!.id],
    );
    // The views do not hold the new order yet, and neither do the answers.
    expect(await revenue(clients.opsA)).toEqual(opsBefore);
    await refreshViews(app.system, { trigger: 'manual' });
    const opsAfter = await revenue(clients.opsA);
    const managerAfter = await revenue(clients.managerA);
    expect(opsAfter.freshness.refreshed_at).not.toBe(opsBefore.freshness.refreshed_at);
    expect(cents(String(opsAfter.rows[0]!.revenue))).toBe(cents(String(opsBefore.rows[0]!.revenue)) + 125);
    expect(cents(String(managerAfter.rows[0]!.revenue))).toBe(cents(String(managerBefore.rows[0]!.revenue)) + 125);
    expect(managerAfter.rows).not.toEqual(opsAfter.rows);
    await sql(`DELETE FROM canonical_orders WHERE business_id = $1 AND order_ref = 'A9'`, [t.businessA]);
    await refreshViews(app.system, { trigger: 'manual' });
    expect((await revenue(clients.opsA)).rows).toEqual(opsBefore.rows);
  });
});

describe('composing and granting', () => {
  it('admins compose and grant through the records service, and every change is audited', async () => {
    const adminCtx = await ctxOf(t.users.admin.id);
    const dashboard = await createRecord(adminCtx, 'dashboards', { name: 'Team sales', description: 'For managers' });
    const widget = await createRecord(adminCtx, 'dashboardWidgets', { dashboardId: dashboard.id, title: 'By status', type: 'bar', viewName: 'orders_by_status', fields: '{"x": "status", "y": ["order_count"]}', refreshIntervalSeconds: '30' });
    const grant = await createRecord(adminCtx, 'dashboardPermissions', { dashboardId: dashboard.id, role: 'manager' });
    await updateRecord(adminCtx, 'dashboardWidgets', widget.id as string, { title: 'Orders by status' });
    const audit = await sql(`SELECT resource, action, record_id FROM audit_log WHERE user_id = $1 AND record_id = ANY($2) ORDER BY id`, [t.users.admin.id, [dashboard.id, widget.id, grant.id]]);
    expect(audit).toEqual([
      { resource: 'dashboards', action: 'create', record_id: dashboard.id },
      { resource: 'dashboardWidgets', action: 'create', record_id: widget.id },
      { resource: 'dashboardPermissions', action: 'create', record_id: grant.id },
      { resource: 'dashboardWidgets', action: 'update', record_id: widget.id },
    ]);
    const data = await clients.managerA.call('GET', `/api/dashboard/${dashboard.id}/data`);
    expect(data.status).toBe(200);
    expect(data.body!.data.widgets[0].rows).toEqual([
      { status: 'cancelled', order_count: 1 },
      { status: 'paid', order_count: 2 },
    ]);
    await deleteRecord(adminCtx, 'dashboardPermissions', grant.id as string);
    expect((await clients.managerA.call('GET', `/api/dashboard/${dashboard.id}/data`)).status).toBe(404);
  });

  it('widget specs are checked against the registry and the view’s columns', async () => {
    const adminCtx = await ctxOf(t.users.admin.id);
    const [dashboard] = await sql(`SELECT id FROM dashboards WHERE name = 'Team sales'`);
    const attempt = (input: Record<string, unknown>) => createRecord(adminCtx, 'dashboardWidgets', { dashboardId: dashboard!.id, title: 'W', type: 'line', viewName: 'monthly_revenue', ...input }).then(() => null, (error: { code: string; details: unknown }) => error);
    expect(await attempt({ viewName: 'users', fields: { x: 'email', y: ['id'] } })).toMatchObject({ code: 'validation_failed', details: [{ field: 'viewName' }] });
    expect(await attempt({ fields: { x: 'month', y: ['currency'] } })).toMatchObject({ code: 'validation_failed', details: [{ field: 'fields.y.0', reason: expect.stringContaining('not a number column') }] });
    expect(await attempt({ fields: { x: 'month; DROP TABLE users', y: ['revenue'] } })).toMatchObject({ code: 'validation_failed' });
    expect(await attempt({ fields: { x: 'nope', y: ['revenue'] } })).toMatchObject({ code: 'validation_failed', details: [{ field: 'fields.x' }] });
    expect(await attempt({ fields: { y: ['revenue'] } })).toMatchObject({ code: 'validation_failed', details: [{ field: 'fields.x', reason: 'is required for a line widget' }] });
    expect(await attempt({ fields: { x: 'business_id', y: ['revenue'] } })).toMatchObject({ code: 'validation_failed' });
    expect(await attempt({ fields: { x: 'month', y: ['revenue'] } })).toBeNull();
  });

  it('ops and managers cannot compose, edit or grant', async () => {
    for (const user of [t.users.opsA.id, t.users.managerA.id]) {
      const ctx = await ctxOf(user);
      await expect(createRecord(ctx, 'dashboards', { name: 'Mine' })).rejects.toMatchObject({ code: 'forbidden' });
      await expect(updateRecord(ctx, 'dashboards', seeded, { name: 'Renamed' })).rejects.toMatchObject({ code: 'forbidden' });
      await expect(createRecord(ctx, 'dashboardPermissions', { dashboardId: seeded, role: 'ops', canEdit: true })).rejects.toMatchObject({ code: 'forbidden' });
      const [widget] = await sql(`SELECT id FROM dashboard_widgets WHERE dashboard_id = $1 LIMIT 1`, [seeded]);
      await expect(updateRecord(ctx, 'dashboardWidgets', widget!.id as string, { title: 'x' })).rejects.toMatchObject({ code: 'forbidden' });
    }
    const adminCtx = await ctxOf(t.users.admin.id);
    const [grant] = await sql(`SELECT id FROM dashboard_permissions WHERE dashboard_id = $1 AND role = 'ops'`, [seeded]);
    await expect(updateRecord(adminCtx, 'dashboardPermissions', grant!.id as string, { canEdit: true })).rejects.toMatchObject({ code: 'validation_failed', details: [{ field: 'canEdit' }] });
  });
});

describe('personal data on dashboards (issue 16)', () => {
  beforeAll(async () => {
    const [source] = await sql(`SELECT id FROM data_sources WHERE business_id = $1`, [t.businessA]);
    await sql(`INSERT INTO canonical_customers (business_id, customer_ref, name, data_source_id, source_row) VALUES ($1, 'dora@example.com', 'Dora Diaz', $2, 10)`, [t.businessA, source!.id]);
    await sql(
      `INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, manager_id, data_source_id, source_row) VALUES ($1, 'A9', 'dora@example.com', '2026-03-05', 'paid', 5000, $2, $3, 10)`,
      [t.businessA, t.users.managerA.id, source!.id],
    );
    await sql(
      `INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, manager_id, data_source_id, source_row) VALUES ($1, 'A10', 'dora@example.com', '2026-03-06', 'paid', 4000, $2, $3, 11)`,
      [t.businessA, t.users.managerA.id, source!.id],
    );
    await refreshViews(app.system, { trigger: 'manual' });
  });
  type Top = Widget & { personal_data: string | null };

  it('admins and ops see customers’ names and references (regression: "anon-…" and "–" even for an admin)', async () => {
    for (const widgets of [await widgetsOf(clients.admin, `?business_id=${t.businessA}`), await widgetsOf(clients.opsA)]) {
      const top = widgets['Top customers'] as Top;
      expect(top.personal_data).toBe('shown');
      expect(top.rows[0]).toMatchObject({ customer_name: 'Dora Diaz', customer_ref: 'dora@example.com', revenue: 9000, order_count: 2 });
      expect(top.rows.map((r) => r.customer_name)).toContain('Ada Ltd');
    }
  });

  it('a manager, who may not see personal data, gets stable pseudonyms, and the answer says so', async () => {
    const top = (await widgetsOf(clients.managerA))['Top customers'] as Top;
    expect(top.personal_data).toBe('pseudonymised');
    const dora = top.rows.filter((r) => r.revenue === 9000);
    expect(dora).toHaveLength(1);
    expect(dora[0]!.customer_ref).toMatch(/^anon-[0-9a-f]{10}$/);
    expect(dora[0]!.customer_name).toMatch(/^Customer [0-9A-F]{6}$/);
    expect(JSON.stringify(top.rows)).not.toMatch(/Dora|dora@|Ada Ltd/);
    // The same customer has the same pseudonym at every read.
    expect(((await widgetsOf(clients.managerA))['Top customers'] as Top).rows).toEqual(top.rows);
    // Widgets without personal data say nothing about it.
    expect(((await widgetsOf(clients.managerA))['Monthly revenue'] as Top).personal_data).toBeNull();
  });
});

describe('periods in progress (issue 16)', () => {
  it('a chart over a view’s months marks this month as still in progress, and a KPI none', async () => {
    const widgets = (await widgetsOf(clients.opsA)) as Record<string, Widget & { current_period: string | null }>;
    expect(widgets['Monthly revenue']!.current_period).toBe(`${todayIn('Europe/London').slice(0, 7)}-01`);
    expect(widgets['New vs returning customers']!.current_period).toBe(`${todayIn('Europe/London').slice(0, 7)}-01`);
    expect(widgets['Revenue, all time']!.current_period).toBeNull();
  });
});
