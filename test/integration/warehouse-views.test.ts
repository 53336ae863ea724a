import { createHash } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFor, systemContext, type Context } from '../../core/context.js';
import { checkViewStaleness, purgeWarehouseHistory } from '../../core/warehouse/alerts.js';
import { withTransaction } from '../../core/db/index.js';
import { recomputeShopDays } from '../../core/tekmetric/metrics.js';
import { readAsReporter } from '../../core/warehouse/reporting.js';
import { refreshOrder, refreshViews, viewFreshness, viewsDependingOn, warehouseViews, WAREHOUSE_REFRESH_QUEUE } from '../../core/warehouse/views.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * The KPI views: the registry against PostgreSQL's own catalog, the views' figures against sums computed
 * here from the same rows, refresh order and locking, freshness and stale alerts, and the reporting
 * role's scoped access.
 */

const A = '0a000000-0000-4000-8000-00000000000a';
const B = '0b000000-0000-4000-8000-00000000000b';
const M1 = '0a000000-0000-4000-8000-0000000000a1';
const M2 = '0a000000-0000-4000-8000-0000000000a2';
const MB = '0b000000-0000-4000-8000-0000000000b1';
const SOURCE = { [A]: '0a000000-0000-4000-8000-00000000005a', [B]: '0b000000-0000-4000-8000-00000000005b' } as Record<string, string>;
const CURRENCY = { [A]: 'GBP', [B]: 'USD' } as Record<string, string>;

interface Order { business: string; ref: string; customer: string | null; date: string | null; status: string | null; total: string; currency: string | null; manager: string | null }
interface Item { business: string; order: string; product: string; quantity: string; unitPrice: string | null; lineTotal: string | null }
interface Product { business: string; ref: string; name: string; category: string | null }
interface Invoice { business: string; ref: string; invoiceDaysAgo: number | null; dueDaysAgo: number | null; amount: string; paid: boolean | null }
interface Payment { business: string; ref: string; invoice: string; amount: string }

const orders: Order[] = [
  { business: A, ref: 'O-A1', customer: 'C1', date: '2026-01-05', status: 'paid', total: '100.10', currency: null, manager: M1 },
  { business: A, ref: 'O-A2', customer: 'C1', date: '2026-02-10', status: 'Shipped', total: '50.05', currency: 'GBP', manager: M1 },
  { business: A, ref: 'O-A3', customer: 'jane.doe@mail.example', date: '2026-01-20', status: null, total: '200.00', currency: null, manager: M2 },
  { business: A, ref: 'O-A4', customer: 'jane.doe@mail.example', date: '2026-03-01', status: 'Cancelled', total: '999.99', currency: null, manager: M2 },
  { business: A, ref: 'O-A5', customer: 'C3', date: '2026-02-11', status: 'complete', total: '75.25', currency: 'eur', manager: null },
  { business: A, ref: 'O-A6', customer: 'C3', date: '2026-03-15', status: 'complete', total: '10.00', currency: null, manager: null },
  { business: A, ref: 'O-A7', customer: 'C4', date: null, status: 'complete', total: '5.00', currency: null, manager: M1 },
  { business: A, ref: 'O-A8', customer: null, date: '2026-03-16', status: 'VOID', total: '7.77', currency: null, manager: null },
  { business: B, ref: 'O-B1', customer: 'C1', date: '2026-01-05', status: 'paid', total: '1000.00', currency: null, manager: null },
  { business: B, ref: 'O-B2', customer: 'D9', date: '2026-02-05', status: 'paid', total: '300.00', currency: 'USD', manager: MB },
];
const items: Item[] = [
  { business: A, order: 'O-A1', product: 'P1', quantity: '2', unitPrice: '10.00', lineTotal: null },
  { business: A, order: 'O-A1', product: 'P2', quantity: '1', unitPrice: null, lineTotal: '80.10' },
  { business: A, order: 'O-A2', product: 'P1', quantity: '5', unitPrice: '10.01', lineTotal: '50.05' },
  { business: A, order: 'O-A3', product: 'P3', quantity: '1.5', unitPrice: '133.33', lineTotal: null },
  { business: A, order: 'O-A4', product: 'P1', quantity: '100', unitPrice: '10.00', lineTotal: '1000.00' },
  { business: A, order: 'O-A5', product: 'P2', quantity: '3', unitPrice: null, lineTotal: '75.25' },
  { business: B, order: 'O-B1', product: 'P1', quantity: '1', unitPrice: null, lineTotal: '1000.00' },
];
const products: Product[] = [
  { business: A, ref: 'P1', name: 'Flour', category: 'Baking' },
  { business: A, ref: 'P2', name: 'Yeast', category: 'Baking' },
  { business: A, ref: 'P3', name: 'Oven', category: null },
  { business: B, ref: 'P1', name: 'Wrench', category: 'Tools' },
];
const invoices: Invoice[] = [
  { business: A, ref: 'I-1', invoiceDaysAgo: 40, dueDaysAgo: 10, amount: '100.00', paid: false },
  { business: A, ref: 'I-2', invoiceDaysAgo: 75, dueDaysAgo: 45, amount: '200.00', paid: null },
  { business: A, ref: 'I-3', invoiceDaysAgo: 25, dueDaysAgo: -5, amount: '300.00', paid: true },
  { business: A, ref: 'I-4', invoiceDaysAgo: 130, dueDaysAgo: 100, amount: '80.00', paid: false },
  { business: A, ref: 'I-5', invoiceDaysAgo: 70, dueDaysAgo: null, amount: '60.00', paid: null },
  { business: A, ref: 'I-6', invoiceDaysAgo: null, dueDaysAgo: null, amount: '40.00', paid: false },
  { business: A, ref: 'I-7', invoiceDaysAgo: 30, dueDaysAgo: 0, amount: '25.00', paid: false },
  { business: B, ref: 'I-1', invoiceDaysAgo: 230, dueDaysAgo: 200, amount: '999.00', paid: false },
];
const payments: Payment[] = [
  { business: A, ref: 'PAY-1', invoice: 'I-2', amount: '50.00' },
  { business: A, ref: 'PAY-2', invoice: 'I-4', amount: '80.00' },
  { business: B, ref: 'PAY-1', invoice: 'I-1', amount: '1.00' },
];

// ---- the same figures, computed here from the rows above (cents as integers) ----

const cents = (amount: string) => Math.round(Number(amount) * 100);
const money = (value: number) => (value / 100).toFixed(2);
const month = (date: string) => `${date.slice(0, 7)}-01`;
const countsAsSale = (o: Order) => !['cancelled', 'canceled', 'void', 'voided', 'refunded', 'failed'].includes((o.status ?? '').trim().toLowerCase());
const currencyOf = (o: Order) => (o.currency?.trim() ? o.currency.trim().toUpperCase() : CURRENCY[o.business]!);
/** How the reporting view shows a reference to a reader who may not see personal data: an email address as a pseudonym. */
const pseudonym = (ref: string) => (ref.includes('@') ? `anon-${createHash('md5').update(ref.trim().toLowerCase()).digest('hex').slice(0, 10)}` : ref);
const sortRows = <T>(rows: T[]) => rows.map((row) => JSON.stringify(row)).sort();

function groupSum<T>(rows: T[], key: (row: T) => Record<string, unknown>, add: (acc: Record<string, number>, row: T) => void): { key: Record<string, unknown>; acc: Record<string, number> }[] {
  const groups = new Map<string, { key: Record<string, unknown>; acc: Record<string, number> }>();
  for (const row of rows) {
    const k = key(row);
    const id = JSON.stringify(k);
    if (!groups.has(id)) groups.set(id, { key: k, acc: {} });
    add(groups.get(id)!.acc, row);
  }
  return [...groups.values()];
}
const inc = (acc: Record<string, number>, field: string, by: number) => {
  acc[field] = (acc[field] ?? 0) + by;
};

function expectedMonthlyRevenue() {
  const sales = orders.filter((o) => o.date && countsAsSale(o));
  return groupSum(sales, (o) => ({ business_id: o.business, manager_id: o.manager, month: month(o.date!), currency: currencyOf(o) }), (acc, o) => {
    inc(acc, 'revenue', cents(o.total));
    inc(acc, 'orders', 1);
  }).map(({ key, acc }) => ({ ...key, revenue: money(acc.revenue!), order_count: acc.orders!, average_order_value: money(Math.round(acc.revenue! / acc.orders!)) }));
}

function expectedTopCustomers() {
  const named = new Map([[`${A}:C1`, 'Ada Ltd']]);
  const sales = orders.filter((o) => o.customer && countsAsSale(o));
  return groupSum(sales, (o) => ({ business_id: o.business, manager_id: o.manager, customer_ref: o.customer!, customer_name: named.get(`${o.business}:${o.customer}`) ?? null, currency: currencyOf(o) }), (acc, o) => {
    inc(acc, 'revenue', cents(o.total));
    inc(acc, 'orders', 1);
  }).map(({ key, acc }) => ({ ...key, revenue: money(acc.revenue!), order_count: acc.orders! }));
}

function expectedNewReturning() {
  const firsts = new Map<string, string>();
  const active = new Set<string>();
  for (const o of orders.filter((o) => o.customer && o.date && countsAsSale(o))) {
    const who = `${o.business}|${o.customer}`;
    active.add(`${who}|${month(o.date!)}`);
    if (!firsts.has(who) || month(o.date!) < firsts.get(who)!) firsts.set(who, month(o.date!));
  }
  return groupSum([...active].map((entry) => entry.split('|')), ([business, , m]) => ({ business_id: business, month: m }), (acc, [business, customer, m]) => {
    const first = firsts.get(`${business}|${customer}`)!;
    inc(acc, 'new', m === first ? 1 : 0);
    inc(acc, 'returning', m! > first ? 1 : 0);
  }).map(({ key, acc }) => ({ ...key, new_customers: acc.new!, returning_customers: acc.returning! }));
}

function expectedCategorySales() {
  const lines = items.flatMap((item) => {
    const order = orders.find((o) => o.business === item.business && o.ref === item.order)!;
    if (!order.date || !countsAsSale(order)) return [];
    const product = products.find((p) => p.business === item.business && p.ref === item.product);
    // quantity × unit price in exact integers (ten-thousandths × cents), rounded half up to cents as numeric does.
    const revenue = item.lineTotal !== null ? cents(item.lineTotal) : Math.round((Math.round(Number(item.quantity) * 10000) * cents(item.unitPrice!)) / 10000);
    return [{ order, category: product?.category ?? 'Uncategorised', quantity: Math.round(Number(item.quantity) * 10000), revenue }];
  });
  return groupSum(lines, (l) => ({ business_id: l.order.business, manager_id: l.order.manager, month: month(l.order.date!), category: l.category, currency: currencyOf(l.order) }), (acc, l) => {
    inc(acc, 'quantity', l.quantity);
    inc(acc, 'revenue', l.revenue);
  }).map(({ key, acc }) => ({ ...key, quantity: (acc.quantity! / 10000).toFixed(4), revenue: money(acc.revenue!) }));
}

function invoiceBalances() {
  return invoices.map((invoice) => {
    const paidSoFar = payments.filter((p) => p.business === invoice.business && p.invoice === invoice.ref).reduce((sum, p) => sum + cents(p.amount), 0);
    const settled = invoice.paid === true || paidSoFar >= cents(invoice.amount);
    return { invoice, settled, outstanding: invoice.paid === true ? 0 : Math.max(cents(invoice.amount) - paidSoFar, 0) };
  });
}

function expectedInvoiceStatus(today: Record<string, string>) {
  return groupSum(invoiceBalances().filter((b) => b.invoice.invoiceDaysAgo !== null), (b) => ({ business_id: b.invoice.business, month: month(daysBefore(today[b.invoice.business]!, b.invoice.invoiceDaysAgo!)), paid: b.settled }), (acc, b) => {
    inc(acc, 'count', 1);
    inc(acc, 'amount', cents(b.invoice.amount));
    inc(acc, 'outstanding', b.outstanding);
  }).map(({ key, acc }) => ({ ...key, invoice_count: acc.count!, amount: money(acc.amount!), outstanding_amount: money(acc.outstanding!) }));
}

function expectedInvoiceAgeing() {
  const bucketOf = (days: number | null) => (days === null ? 'no_date' : days <= 0 ? 'not_due' : days <= 30 ? '1_30' : days <= 60 ? '31_60' : days <= 90 ? '61_90' : 'over_90');
  return groupSum(invoiceBalances().filter((b) => !b.settled), (b) => ({ business_id: b.invoice.business, bucket: bucketOf(b.invoice.dueDaysAgo ?? b.invoice.invoiceDaysAgo) }), (acc, b) => {
    inc(acc, 'count', 1);
    inc(acc, 'outstanding', b.outstanding);
  }).map(({ key, acc }) => ({ ...key, invoice_count: acc.count!, outstanding_amount: money(acc.outstanding!) }));
}

function daysBefore(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

// ---- setup ----

let database: TestDatabase;
let system: Context;
const logLines: { level: number; msg: string; view?: string }[] = [];
let today: Record<string, string>;

async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await database.db.pool.query<T>(text, params)).rows;
}

async function loadFixture() {
  await sql(`INSERT INTO businesses (id, name, currency, timezone) VALUES ($1, 'Alpha', 'GBP', 'Europe/London'), ($2, 'Beta', 'USD', 'America/Chicago')`, [A, B]);
  await sql(
    `INSERT INTO users (id, email, password_hash, role, business_id) VALUES ($1, 'm1@alpha.test', 'x', 'manager', $4), ($2, 'm2@alpha.test', 'x', 'manager', $4), ($3, 'mb@beta.test', 'x', 'manager', $5)`,
    [M1, M2, MB, A, B],
  );
  for (const business of [A, B]) {
    await sql(`INSERT INTO data_sources (id, business_id, name, filename, header_fingerprint) VALUES ($1, $2, 'ERP export', 'export.csv', 'fp')`, [SOURCE[business], business]);
  }
  const days = await sql<{ a: string; b: string }>(`SELECT (now() AT TIME ZONE 'Europe/London')::date::text AS a, (now() AT TIME ZONE 'America/Chicago')::date::text AS b`);
  today = { [A]: days[0]!.a, [B]: days[0]!.b };
  let row = 0;
  await sql(
    `INSERT INTO canonical_customers (business_id, customer_ref, name, email, phone, city, data_source_id, source_row) VALUES ($1, 'C1', 'Ada Ltd', 'ada@example.com', '+44 20 7946 0000', '1 Mill Lane, Leeds', $2, 1)`,
    [A, SOURCE[A]],
  );
  for (const o of orders) {
    await sql(
      `INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, status, total_amount, currency, manager_id, data_source_id, source_row) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [o.business, o.ref, o.customer, o.date, o.status, o.total, o.currency, o.manager, SOURCE[o.business], ++row],
    );
  }
  for (const i of items) {
    await sql(`INSERT INTO canonical_order_items (business_id, order_ref, product_ref, quantity, unit_price, line_total, data_source_id, source_row) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      i.business, i.order, i.product, i.quantity, i.unitPrice, i.lineTotal, SOURCE[i.business], ++row,
    ]);
  }
  for (const p of products) {
    await sql(`INSERT INTO canonical_products (business_id, product_ref, name, category, price, cost, data_source_id, source_row) VALUES ($1, $2, $3, $4, 9.99, 4.5, $5, $6)`, [p.business, p.ref, p.name, p.category, SOURCE[p.business], ++row]);
  }
  for (const i of invoices) {
    const date = (daysAgo: number | null) => (daysAgo === null ? null : daysBefore(today[i.business]!, daysAgo));
    await sql(`INSERT INTO canonical_invoices (business_id, invoice_ref, customer_ref, invoice_date, due_date, amount, paid, data_source_id, source_row) VALUES ($1, $2, 'C1', $3, $4, $5, $6, $7, $8)`, [
      i.business, i.ref, date(i.invoiceDaysAgo), date(i.dueDaysAgo), i.amount, i.paid, SOURCE[i.business], ++row,
    ]);
  }
  for (const p of payments) {
    await sql(`INSERT INTO canonical_payments (business_id, payment_ref, invoice_ref, paid_at, amount, method, data_source_id, source_row) VALUES ($1, $2, $3, $4, $5, 'Card', $6, $7)`, [
      p.business, p.ref, p.invoice, today[p.business], p.amount, SOURCE[p.business], ++row,
    ]);
  }
  await sql(`INSERT INTO canonical_inventory_levels (business_id, product_ref, location, on_hand, counted_at, data_source_id, source_row) VALUES ($1, 'P1', NULL, 12, '2026-03-01', $2, 1), ($1, 'P1', NULL, 9, '2026-03-08', $2, 2)`, [A, SOURCE[A]]);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  system = systemContext('test', database.db, log);
  await loadFixture();
});
afterAll(async () => database?.drop());

const lastRefreshId = async () => Number((await sql<{ id: string | null }>('SELECT max(id) AS id FROM refresh_jobs'))[0]!.id ?? 0);
const refreshesAfter = async (id: number) => sql<{ view_name: string; trigger: string; status: string }>('SELECT view_name, trigger, status FROM refresh_jobs WHERE id > $1 ORDER BY id', [id]);

// ---- the registry ----

describe('the view registry', () => {
  it('knows exactly the materialized views the database has, at least ten, with monthly_revenue and top_customers', async () => {
    const inDatabase = await sql<{ matviewname: string }>(`SELECT matviewname FROM pg_matviews WHERE schemaname = 'public' ORDER BY 1`);
    expect(warehouseViews.map((v) => v.name).sort()).toEqual(inDatabase.map((r) => r.matviewname));
    expect(warehouseViews.length).toBeGreaterThanOrEqual(10);
    expect(inDatabase.map((r) => r.matviewname)).toEqual(expect.arrayContaining(['monthly_revenue', 'top_customers']));
  });

  it('declares what each view reads exactly as PostgreSQL records it', async () => {
    const reads = await sql<{ view: string; reads: string[] }>(
      `SELECT v.relname AS view, array_agg(DISTINCT d.relname::text ORDER BY d.relname::text) AS reads
         FROM pg_class v
         JOIN pg_rewrite r ON r.ev_class = v.oid
         JOIN pg_depend dep ON dep.classid = 'pg_rewrite'::regclass AND dep.objid = r.oid AND dep.refclassid = 'pg_class'::regclass
         JOIN pg_class d ON d.oid = dep.refobjid AND d.oid <> v.oid
        WHERE v.relkind = 'm' GROUP BY v.relname`,
    );
    const actual = Object.fromEntries(reads.map((r) => [r.view, r.reads]));
    const declared = Object.fromEntries(warehouseViews.map((v) => [v.name, [...v.dependsOn].sort()]));
    expect(declared).toEqual(actual);
  });

  it('gives every view a unique index on plain columns, business_id first, marks team-scoped views by their manager_id, and holds no personal data column', async () => {
    for (const view of warehouseViews) {
      const unique = await sql<{ columns: string[] }>(
        `SELECT array_agg(a.attname::text ORDER BY k.n) AS columns
           FROM pg_index x JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
          WHERE x.indrelid = $1::regclass AND x.indisunique AND x.indpred IS NULL AND x.indexprs IS NULL GROUP BY x.indexrelid`,
        [view.name],
      );
      expect(unique.length, view.name).toBeGreaterThanOrEqual(1);
      expect(unique[0]!.columns[0], view.name).toBe('business_id');
      const columns = (await sql<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0`, [view.name])).map((c) => c.attname);
      expect(columns.includes('manager_id'), view.name).toBe(view.teamScoped);
      if (view.teamScoped) expect(unique[0]!.columns, view.name).toContain('manager_id');
      expect(columns.filter((c) => /email|phone|address|street|city|postcode|zip/.test(c)), view.name).toEqual([]);
    }
  });

  it('orders refreshes after what they read, and finds what depends on a table (through other views too)', () => {
    const all = refreshOrder(warehouseViews.map((v) => v.name));
    for (const view of warehouseViews) {
      for (const dependency of view.dependsOn) {
        if (all.includes(dependency)) expect(all.indexOf(dependency), `${dependency} before ${view.name}`).toBeLessThan(all.indexOf(view.name));
      }
    }
    expect(viewsDependingOn(['canonical_payments'])).toEqual(['invoice_balances', 'invoice_status', 'invoice_ageing', 'payments_monthly']);
    expect(viewsDependingOn(['canonical_products'])).toEqual(['product_sales', 'category_sales', 'inventory_current']);
    expect(viewsDependingOn(['canonical_suppliers'])).toEqual([]);
    const afterOrders = viewsDependingOn(['canonical_orders']);
    expect(afterOrders).toEqual(expect.arrayContaining(['daily_revenue', 'monthly_revenue', 'top_customers', 'product_sales', 'category_sales', 'customer_retention']));
    expect(afterOrders.indexOf('daily_revenue')).toBeLessThan(afterOrders.indexOf('monthly_revenue'));
    expect(afterOrders).not.toContain('invoice_status');
  });
});

// ---- figures ----

describe('after a full refresh, the views hold the sums computed from the canonical rows', () => {
  beforeAll(async () => {
    const result = await refreshViews(system, { trigger: 'full' });
    expect(result.views.map((v) => v.view)).toEqual(refreshOrder(warehouseViews.map((v) => v.name)));
  });

  it('monthly_revenue: per business, team, month and currency (cancelled, voided and undated orders left out)', async () => {
    const rows = await sql(`SELECT business_id, manager_id, month::text, currency, revenue::text, order_count::int, average_order_value::text FROM monthly_revenue`);
    expect(sortRows(rows)).toEqual(sortRows(expectedMonthlyRevenue()));
    // Spot check one figure by hand: Alpha, team M1, January: O-A1 alone.
    expect(rows).toContainEqual({ business_id: A, manager_id: M1, month: '2026-01-01', currency: 'GBP', revenue: '100.10', order_count: 1, average_order_value: '100.10' });
  });

  it('top_customers: revenue per customer; its reporting view shows references and names only to readers who may see personal data', async () => {
    const rows = await sql(`SELECT business_id, manager_id, customer_ref, customer_name, currency, revenue::text, order_count::int FROM top_customers`);
    expect(sortRows(rows)).toEqual(sortRows(expectedTopCustomers()));
    const read = (showsPersonalData: boolean) =>
      readAsReporter(database.db.pool, { businessId: A, showsPersonalData }, async (client) => (await client.query(`SELECT customer_ref, customer_name, revenue::text FROM reporting.top_customers t ORDER BY t.revenue DESC, t.customer_ref`)).rows);
    const shown = await read(true);
    expect(shown[0]).toEqual({ customer_ref: 'jane.doe@mail.example', customer_name: null, revenue: '200.00' });
    expect(shown).toContainEqual(expect.objectContaining({ customer_ref: 'C1', customer_name: 'Ada Ltd' }));
    const hidden = await read(false);
    expect(hidden[0]).toEqual({ customer_ref: pseudonym('jane.doe@mail.example'), customer_name: null, revenue: '200.00' });
    expect(hidden).toContainEqual(expect.objectContaining({ customer_ref: 'C1', customer_name: expect.stringMatching(/^Customer [0-9A-F]{6}$/) }));
  });

  it('new_returning_customers: new in the month of their first order, returning after', async () => {
    const rows = await sql(`SELECT business_id, month::text, new_customers::int, returning_customers::int FROM new_returning_customers`);
    expect(sortRows(rows)).toEqual(sortRows(expectedNewReturning()));
  });

  it('category_sales (read from product_sales): units and line revenue per category', async () => {
    const rows = await sql(`SELECT business_id, manager_id, month::text, category, currency, quantity::text, revenue::text FROM category_sales`);
    expect(sortRows(rows)).toEqual(sortRows(expectedCategorySales()));
  });

  it('invoice_status and invoice_ageing: paid and unpaid, and what is open by how long it is overdue, in the business’s own days', async () => {
    const status = await sql(`SELECT business_id, month::text, paid, invoice_count::int, amount::text, outstanding_amount::text FROM invoice_status`);
    expect(sortRows(status)).toEqual(sortRows(expectedInvoiceStatus(today)));
    const ageing = await sql<{ business_id: string; as_of: string }>(`SELECT business_id, bucket, invoice_count::int, outstanding_amount::text FROM invoice_ageing`);
    expect(sortRows(ageing)).toEqual(sortRows(expectedInvoiceAgeing()));
    const asOf = await sql<{ business_id: string; as_of: string }>(`SELECT DISTINCT business_id, as_of::text FROM invoice_ageing ORDER BY 1`);
    expect(asOf).toEqual([{ business_id: A, as_of: today[A] }, { business_id: B, as_of: today[B] }]);
  });

  it('no view shows an email address, a phone number or an address from the canonical rows to a reader who may not see personal data', async () => {
    for (const view of warehouseViews) {
      for (const businessId of [A, B]) {
        const rows = await readAsReporter(database.db.pool, { businessId }, async (client) => (await client.query(`SELECT * FROM reporting.${pg.escapeIdentifier(view.name)}`)).rows);
        expect(JSON.stringify(rows), view.name).not.toMatch(/@|7946|Mill Lane/);
      }
    }
    // Only top_customers keeps a customer's reference and name, for the readers who may see them.
    const holding = [];
    for (const view of warehouseViews) if (/@/.test(JSON.stringify(await sql(`SELECT * FROM ${pg.escapeIdentifier(view.name)}`)))) holding.push(view.name);
    expect(holding).toEqual(warehouseViews.filter((view) => view.personal).map((view) => view.name));
  });
});

// ---- refreshing ----

describe('refreshing', () => {
  it('an incremental refresh after a load updates the views that read the table and nothing else', async () => {
    const before = await lastRefreshId();
    await sql(`INSERT INTO canonical_orders (business_id, order_ref, customer_ref, order_date, total_amount, manager_id, data_source_id, source_row) VALUES ($1, 'O-A9', 'C1', '2026-01-31', 0.90, $2, $3, 99)`, [A, M1, SOURCE[A]]);
    const stale = await sql<{ revenue: string }>(`SELECT revenue::text FROM monthly_revenue WHERE business_id = $1 AND manager_id = $2 AND month = '2026-01-01'`, [A, M1]);
    expect(stale).toEqual([{ revenue: '100.10' }]);
    const result = await refreshViews(system, { views: viewsDependingOn(['canonical_orders']), trigger: 'incremental' });
    expect(result.views.every((v) => v.mode === 'concurrently')).toBe(true);
    const fresh = await sql<{ revenue: string }>(`SELECT revenue::text FROM monthly_revenue WHERE business_id = $1 AND manager_id = $2 AND month = '2026-01-01'`, [A, M1]);
    expect(fresh).toEqual([{ revenue: '101.00' }]);
    const recorded = await refreshesAfter(before);
    expect(recorded.map((r) => r.view_name)).toEqual(viewsDependingOn(['canonical_orders']));
    expect(recorded.every((r) => r.trigger === 'incremental' && r.status === 'succeeded')).toBe(true);
  });

  it('refreshes a view and then everything downstream of it, in dependency order, with each duration recorded', async () => {
    const before = await lastRefreshId();
    const result = await refreshViews(system, { views: ['invoice_balances'], trigger: 'manual' });
    expect(result.views.map((v) => v.view)).toEqual(['invoice_balances', 'invoice_status', 'invoice_ageing']);
    const recorded = await sql<{ view_name: string; duration_ms: number; finished: boolean }>(
      'SELECT view_name, duration_ms, finished_at >= started_at AS finished FROM refresh_jobs WHERE id > $1 ORDER BY id',
      [before],
    );
    expect(recorded.map((r) => r.view_name)).toEqual(['invoice_balances', 'invoice_status', 'invoice_ageing']);
    expect(recorded.every((r) => r.duration_ms >= 0 && r.finished)).toBe(true);
    expect(result.views.map((v) => v.durationMs)).toEqual(recorded.map((r) => r.duration_ms));
  });

  it('a view never populated gets a plain refresh first, then concurrent ones', async () => {
    await sql('REFRESH MATERIALIZED VIEW monthly_revenue WITH NO DATA');
    const first = await refreshViews(system, { views: ['monthly_revenue'], trigger: 'manual' });
    expect(first.views).toEqual([expect.objectContaining({ view: 'monthly_revenue', mode: 'plain' })]);
    const second = await refreshViews(system, { views: ['monthly_revenue'], trigger: 'manual' });
    expect(second.views).toEqual([expect.objectContaining({ view: 'monthly_revenue', mode: 'concurrently' })]);
    expect((await sql('SELECT count(*)::int AS n FROM monthly_revenue'))[0]).toEqual({ n: expectedMonthlyRevenue().length });
  });

  it('a failing refresh is recorded as failed with its error; the views after it are left for the retry', async () => {
    const before = await lastRefreshId();
    // Bad data breaks invoice_ageing's computation (it reads the business's time zone).
    await sql(`UPDATE businesses SET timezone = 'Mars/Olympus_Mons' WHERE id = $1`, [B]);
    try {
      await expect(refreshViews(system, { trigger: 'full' })).rejects.toThrow(/time zone/);
    } finally {
      await sql(`UPDATE businesses SET timezone = 'America/Chicago' WHERE id = $1`, [B]);
    }
    const recorded = await refreshesAfter(before);
    const order = refreshOrder(warehouseViews.map((v) => v.name));
    const failedAt = order.indexOf('invoice_ageing');
    expect(recorded.map((r) => `${r.view_name}:${r.status}`)).toEqual([...order.slice(0, failedAt).map((v) => `${v}:succeeded`), 'invoice_ageing:failed']);
    const ageing = (await viewFreshness(system)).find((v) => v.view === 'invoice_ageing')!;
    expect(ageing.lastAttempt).toEqual(expect.objectContaining({ status: 'failed', error: expect.stringMatching(/time zone/) }));
    // The lock was given back: the retry runs at once.
    const retry = await refreshViews(system, { trigger: 'full', waitSeconds: 1 });
    expect(retry.views).toHaveLength(warehouseViews.length);
  });
});

// ---- one refresh at a time ----

describe('the refresh lock', () => {
  const LOCK_SQL = `SELECT pg_advisory_lock(hashtextextended('backhouse.warehouse.refresh', 0))`;

  async function waitingOnAdvisoryLock(): Promise<number> {
    const rows = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`);
    return rows[0]!.n;
  }

  it('a refresh waits while another holds the lock, and starts once it is released', async () => {
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query(LOCK_SQL);
      const before = await lastRefreshId();
      const refresh = refreshViews(system, { views: ['payments_monthly'], trigger: 'manual' });
      const deadline = Date.now() + 10_000;
      while ((await waitingOnAdvisoryLock()) === 0) {
        if (Date.now() > deadline) throw new Error('the refresh never waited for the lock');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await refreshesAfter(before)).toEqual([]);
      await other.query(`SELECT pg_advisory_unlock(hashtextextended('backhouse.warehouse.refresh', 0))`);
      const result = await refresh;
      expect(result.waitedMs).toBeGreaterThanOrEqual(300);
      expect((await refreshesAfter(before)).map((r) => r.view_name)).toEqual(['payments_monthly']);
    } finally {
      await other.end();
    }
  });

  it('gives up with a conflict after waitSeconds, refreshing nothing', async () => {
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query(LOCK_SQL);
      const before = await lastRefreshId();
      await expect(refreshViews(system, { trigger: 'manual', waitSeconds: 1 })).rejects.toMatchObject({ code: 'conflict', status: 409 });
      expect(await refreshesAfter(before)).toEqual([]);
    } finally {
      await other.end();
    }
  });

  it('two refreshes started together run one after the other, never side by side', async () => {
    const before = await lastRefreshId();
    const [full, manual] = await Promise.all([refreshViews(system, { trigger: 'full' }), refreshViews(system, { trigger: 'manual' })]);
    expect(full.views).toHaveLength(warehouseViews.length);
    expect(manual.views).toHaveLength(warehouseViews.length);
    const spans = await sql<{ trigger: string; first_start: Date; last_end: Date }>(
      'SELECT trigger, min(started_at) AS first_start, max(finished_at) AS last_end FROM refresh_jobs WHERE id > $1 GROUP BY trigger',
      [before],
    );
    expect(spans).toHaveLength(2);
    const [one, two] = spans.sort((a, b) => a.first_start.getTime() - b.first_start.getTime());
    expect(one!.last_end.getTime()).toBeLessThanOrEqual(two!.first_start.getTime());
    expect(Math.max(full.waitedMs, manual.waitedMs)).toBeGreaterThan(0);
  });

  it('marks a refresh left "running" by a process that died as failed, once it holds the lock', async () => {
    const [orphan] = await sql<{ id: string }>(`INSERT INTO refresh_jobs (view_name, trigger, started_at) VALUES ('daily_revenue', 'full', now() - interval '1 hour') RETURNING id`);
    await refreshViews(system, { views: ['payments_monthly'], trigger: 'manual' });
    expect(await sql('SELECT status, error FROM refresh_jobs WHERE id = $1', [orphan!.id])).toEqual([{ status: 'failed', error: 'interrupted: the process refreshing it stopped' }]);
  });

  it('is for administrators and the system only: a refresh serves every business', async () => {
    const ops = contextFor({ kind: 'user', id: M1, email: 'm1@alpha.test', name: null, role: 'ops', businessId: A, shopIds: [] }, database.db, system.log);
    await expect(refreshViews(ops, { trigger: 'manual' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(refreshViews(system, { views: ['monthly_revenue', 'revenue_by_moon'], trigger: 'manual' })).rejects.toMatchObject({ code: 'validation_failed', details: { views: ['revenue_by_moon'] } });
  });
});

// ---- freshness ----

describe('freshness and stale alerts', () => {
  const openAlerts = () => sql<{ view_name: string; message: string }>(`SELECT view_name, message FROM warehouse_alerts WHERE closed_at IS NULL ORDER BY view_name`);

  it('every view is fresh after a refresh', async () => {
    await refreshViews(system, { trigger: 'full' });
    const freshness = await viewFreshness(system);
    expect(freshness.map((v) => v.view)).toEqual(warehouseViews.map((v) => v.name));
    for (const view of freshness) {
      expect(view.stale, view.view).toBe(false);
      expect(view.ageSeconds!).toBeLessThan(60);
      expect(view.lastAttempt?.status).toBe('succeeded');
    }
    expect((await checkViewStaleness(system)).stale).toEqual([]);
  });

  it('a view older than its policy opens one alert (and warns at every check) until it is refreshed', async () => {
    const policy = warehouseViews.find((v) => v.name === 'invoice_ageing')!.maxStalenessSeconds;
    await sql(`UPDATE refresh_jobs SET started_at = started_at - make_interval(secs => $1), finished_at = finished_at - make_interval(secs => $1) WHERE view_name = 'invoice_ageing'`, [policy + 600]);
    const ageing = (await viewFreshness(system)).find((v) => v.view === 'invoice_ageing')!;
    expect(ageing.stale).toBe(true);
    expect(ageing.ageSeconds!).toBeGreaterThan(policy);

    logLines.length = 0;
    expect(await checkViewStaleness(system)).toEqual({ stale: ['invoice_ageing'], opened: ['invoice_ageing'], closed: [] });
    expect(await checkViewStaleness(system)).toEqual({ stale: ['invoice_ageing'], opened: [], closed: [] });
    const alerts = await openAlerts();
    expect(alerts).toEqual([{ view_name: 'invoice_ageing', message: expect.stringMatching(/invoice_ageing was last refreshed \d+ min ago; its policy allows \d+ min/) }]);
    expect(logLines.filter((line) => line.level === 40 && line.view === 'invoice_ageing')).toHaveLength(2);

    await refreshViews(system, { views: ['invoice_ageing'], trigger: 'manual' });
    expect(await checkViewStaleness(system)).toEqual({ stale: [], opened: [], closed: ['invoice_ageing'] });
    expect(await openAlerts()).toEqual([]);
    expect(await sql(`SELECT count(*)::int AS n FROM warehouse_alerts WHERE view_name = 'invoice_ageing' AND closed_at IS NOT NULL`)).toEqual([{ n: 1 }]);
  });

  it('a view never refreshed is stale', async () => {
    await sql(`DELETE FROM refresh_jobs WHERE view_name = 'inventory_current'`);
    const inventory = (await viewFreshness(system)).find((v) => v.view === 'inventory_current')!;
    expect(inventory).toEqual(expect.objectContaining({ stale: true, lastRefreshedAt: null, ageSeconds: null, lastAttempt: null }));
    expect((await checkViewStaleness(system)).opened).toEqual(['inventory_current']);
    expect((await openAlerts())[0]!.message).toMatch(/never been refreshed/);
    await refreshViews(system, { views: ['inventory_current'], trigger: 'manual' });
    expect((await checkViewStaleness(system)).closed).toEqual(['inventory_current']);
  });

  it('housekeeping trims old refresh history and long-closed alerts, keeping what freshness reads', async () => {
    const old = `now() - interval '40 days'`;
    // monthly_revenue: two old rows besides its recent ones. payments_monthly: every row old, the latest a failure.
    await sql(`INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at) VALUES ('monthly_revenue', 'full', 'succeeded', ${old}, ${old}), ('monthly_revenue', 'full', 'failed', ${old}, ${old})`);
    await sql(`UPDATE refresh_jobs SET started_at = started_at - interval '40 days', finished_at = finished_at - interval '40 days' WHERE view_name = 'payments_monthly'`);
    await sql(`INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, error) VALUES ('payments_monthly', 'full', 'failed', now() - interval '39 days', now() - interval '39 days', 'disk full')`);
    const paymentsBefore = (await viewFreshness(system)).find((v) => v.view === 'payments_monthly')!;
    await sql(`INSERT INTO warehouse_alerts (view_name, kind, message, max_staleness_seconds, opened_at, closed_at) VALUES ('daily_revenue', 'stale', 'long ago', 93600, now() - interval '120 days', now() - interval '100 days'), ('daily_revenue', 'stale', 'lately', 93600, now() - interval '20 days', now() - interval '10 days')`);
    const oldRows = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM refresh_jobs WHERE started_at < now() - interval '30 days'`);

    const purged = await purgeWarehouseHistory(system);
    // Every old row goes but payments_monthly's latest success and latest attempt.
    expect(purged).toEqual({ refreshJobs: oldRows[0]!.n - 2, closedAlerts: 1 });
    expect(await sql(`SELECT status, error FROM refresh_jobs WHERE view_name = 'payments_monthly' ORDER BY started_at`)).toEqual([
      { status: 'succeeded', error: null },
      { status: 'failed', error: 'disk full' },
    ]);
    const paymentsAfter = (await viewFreshness(system)).find((v) => v.view === 'payments_monthly')!;
    expect({ ...paymentsAfter, ageSeconds: null }).toEqual({ ...paymentsBefore, ageSeconds: null });
    expect(await sql(`SELECT message FROM warehouse_alerts WHERE view_name = 'daily_revenue' AND closed_at IS NOT NULL`)).toEqual([{ message: 'lately' }]);
    expect(await purgeWarehouseHistory(system)).toEqual({ refreshJobs: 0, closedAlerts: 0 });
    await refreshViews(system, { views: ['payments_monthly'], trigger: 'manual' });
  });
});

// ---- scoped reading ----

describe('the reporting role reads the views through schema reporting, scoped like the canonical tables', () => {
  const asReporter = <T>(settings: { business?: string; manager?: string }, read: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    readAsReporter(database.db.pool, { businessId: settings.business, managerId: settings.manager }, read);
  const distinct = async (client: pg.PoolClient, view: string, column: string) =>
    (await client.query<{ v: string | null }>(`SELECT DISTINCT ${column}::text AS v FROM reporting.${pg.escapeIdentifier(view)} ORDER BY 1`)).rows.map((r) => r.v);

  beforeAll(async () => {
    // Sales of both businesses for the views over fact_sales (the feeds load them; here they are written directly).
    for (const business of [A, B]) {
      await sql(
        `INSERT INTO fact_sales (business_id, date_key, quantity, unit_price, gross_revenue, cogs_amount, gross_margin_amount) VALUES ($1, '2026-01-05', 2, 3.00, 6.00, 2.00, 4.00)`,
        [business],
      );
    }
    // A Tekmetric shop per business, with a posted repair order (a day whose totals differ from Tekmetric's)
    // and an open one, for the Shop dashboard's views.
    for (const [index, business] of [A, B].entries()) {
      const tmShop = 9100 + index;
      const [shop] = await sql<{ id: string }>(`INSERT INTO shops (business_id, name) VALUES ($1, 'Tekmetric shop') RETURNING id`, [business]);
      await sql(`INSERT INTO tm_shops (id, business_id, backhouse_shop_id, name) VALUES ($1, $2, $3, 'Tekmetric shop')`, [tmShop, business, shop!.id]);
      await sql(`INSERT INTO tm_employees (shop_id, id, business_id, first_name, pay_rate_cents) VALUES ($1, 7, $2, 'Tess', 3000)`, [tmShop, business]);
      await sql(`INSERT INTO tm_repair_orders (shop_id, id, business_id, status_id, technician_id, total_sales_cents, posted_date, created_on) VALUES ($1, 1, $2, 5, 7, 15100, '2026-01-05', '2026-01-05'), ($1, 2, $2, 2, 7, 0, NULL, '2026-01-06')`, [tmShop, business]);
      await sql(`INSERT INTO tm_jobs (shop_id, id, business_id, repair_order_id, authorized, technician_id, subtotal_cents, logged_hours) VALUES ($1, 1, $2, 1, true, 7, 15000, 0.8)`, [tmShop, business]);
      await sql(`INSERT INTO tm_job_labor (shop_id, id, business_id, repair_order_id, job_id, rate_cents, hours) VALUES ($1, 1, $2, 1, 1, 15000, 1.0)`, [tmShop, business]);
      await withTransaction(database.db.pool, (client) => recomputeShopDays(client, tmShop, ['2026-01-05']));
    }
    await refreshViews(system, { trigger: 'full' });
  });

  it('business A sees only A’s rows in every view', async () => {
    await asReporter({ business: A }, async (client) => {
      for (const view of warehouseViews) expect(await distinct(client, view.name, 'business_id'), view.name).toEqual([A]);
      expect(await distinct(client, 'monthly_revenue', 'manager_id')).toEqual([M1, M2, null]);
    });
  });

  it('a manager of A sees only their team’s rows in team-scoped views, and the business’s in the others', async () => {
    await asReporter({ business: A, manager: M1 }, async (client) => {
      for (const view of warehouseViews) {
        expect(await distinct(client, view.name, 'business_id'), view.name).toEqual([A]);
        if (view.teamScoped) expect(await distinct(client, view.name, 'manager_id'), view.name).toEqual([M1]);
      }
      const revenue = await client.query<{ total: string }>(`SELECT sum(revenue)::text AS total FROM reporting.monthly_revenue`);
      // O-A1 100.10 + O-A2 50.05 + O-A9 0.90 (loaded by the incremental-refresh test); O-A7 has no date.
      expect(revenue.rows[0]!.total).toBe('151.05');
    });
  });

  it('without the setting sees nothing, and cannot read the materialized views directly', async () => {
    await asReporter({}, async (client) => {
      for (const view of warehouseViews) expect(await distinct(client, view.name, 'business_id'), view.name).toEqual([]);
    });
    await expect(asReporter({ business: A }, (client) => client.query('SELECT * FROM public.monthly_revenue'))).rejects.toMatchObject({ code: '42501' });
  });
});

// ---- jobs ----

describe('jobs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({}, 'worker');
  });
  afterAll(async () => app?.close());

  it('schedules the refresh of changed views, the nightly full refresh and the staleness check', async () => {
    const schedules = await app.db.pool.query<{ name: string; cron: string }>(`SELECT name, cron FROM pgboss.schedule WHERE name LIKE 'warehouse.%' ORDER BY name`);
    expect(schedules.rows).toEqual([
      { name: 'warehouse.refresh-changed', cron: '* * * * *' },
      { name: 'warehouse.refresh-nightly', cron: '0 2 * * *' },
      { name: 'warehouse.staleness-check', cron: '*/10 * * * *' },
    ]);
  });

  it('a warehouse.refresh job refreshes the views it names and their dependants', async () => {
    const id = (await app.jobs.send(WAREHOUSE_REFRESH_QUEUE, { views: viewsDependingOn(['canonical_payments']), trigger: 'incremental' }))!;
    const deadline = Date.now() + 15_000;
    let state = '';
    while (state !== 'completed') {
      if (Date.now() > deadline) throw new Error(`warehouse.refresh is ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = (await app.db.pool.query<{ state: string }>('SELECT state::text FROM pgboss.job WHERE id = $1', [id])).rows[0]!.state;
    }
    const recorded = await app.db.pool.query<{ view_name: string }>(`SELECT view_name FROM refresh_jobs WHERE trigger = 'incremental' AND status = 'succeeded' ORDER BY id`);
    expect(recorded.rows.map((r) => r.view_name)).toEqual(['invoice_balances', 'invoice_status', 'invoice_ageing', 'payments_monthly']);
  });
});
