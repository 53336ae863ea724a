import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalTables, type CanonicalColumn } from '../../core/mapping/canonical.js';
import { readAsReporter } from '../../core/warehouse/reporting.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/** The canonical tables against the catalog, their natural keys, the metadata constraints, and RLS for the reporting role. */

let database: TestDatabase;
const A = '0a000000-0000-4000-8000-00000000000a';
const B = '0b000000-0000-4000-8000-00000000000b';
const managerA1 = '0a000000-0000-4000-8000-0000000000a1';
const managerA2 = '0a000000-0000-4000-8000-0000000000a2';
const sourceA = '0a000000-0000-4000-8000-00000000005a';
const sourceB = '0b000000-0000-4000-8000-00000000005b';

/** Columns every canonical table has besides the catalog's: tenant, identity, lineage, bookkeeping. */
const systemColumns = ['business_id', 'id', 'data_source_id', 'source_row', 'loaded_at', 'updated_at'];

/** The column type a catalog column's first (most telling) value kind calls for. */
function expectedType(column: CanonicalColumn): string {
  switch (column.kinds[0]) {
    case 'date':
      return 'date';
    case 'money':
      return 'numeric(18,2)';
    case 'integer':
    case 'decimal':
      return 'numeric(18,4)';
    case 'boolean':
      return 'boolean';
    default:
      return 'text';
  }
}

async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await database.db.pool.query<T>(text, params)).rows;
}

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; constraint?: string; message: string };
  }
  throw new Error('expected the statement to fail');
}

beforeAll(async () => {
  database = await createTestDatabase();
  await sql(`INSERT INTO businesses (id, name, currency) VALUES ($1, 'Alpha', 'GBP'), ($2, 'Beta', 'USD')`, [A, B]);
  await sql(
    `INSERT INTO users (id, email, password_hash, role, business_id) VALUES ($1, 'm1@alpha.test', 'x', 'manager', $3), ($2, 'm2@alpha.test', 'x', 'manager', $3)`,
    [managerA1, managerA2, A],
  );
  await sql(
    `INSERT INTO data_sources (id, business_id, name, filename, header_fingerprint) VALUES ($1, $3, 'Alpha ERP', 'a.csv', 'fa'), ($2, $4, 'Beta ERP', 'b.csv', 'fb')`,
    [sourceA, sourceB, A, B],
  );
});
afterAll(async () => database?.drop());

describe('canonical tables and the catalog', () => {
  it('has one table per catalog entry, with every catalog column typed as its values are, and nothing else but lineage', async () => {
    const problems: string[] = [];
    for (const [entity, columns] of Object.entries(canonicalTables)) {
      const table = `canonical_${entity}`;
      const actual = await sql<{ column_name: string; type: string }>(
        `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [table],
      );
      if (actual.length === 0) {
        problems.push(`${table} is missing`);
        continue;
      }
      const types = new Map(actual.map((row) => [row.column_name, row.type]));
      for (const column of columns) {
        const type = types.get(column.name);
        if (!type) problems.push(`${table}.${column.name} is missing`);
        else if (type !== expectedType(column)) problems.push(`${table}.${column.name} is ${type}, expected ${expectedType(column)} (values: ${column.kinds.join('/')})`);
      }
      const allowed = new Set([...columns.map((c) => c.name), ...systemColumns, ...(entity === 'orders' ? ['manager_id'] : [])]);
      for (const name of types.keys()) if (!allowed.has(name)) problems.push(`${table}.${name} is not in the catalog`);
      for (const name of systemColumns) if (!types.has(name)) problems.push(`${table}.${name} (lineage/tenant) is missing`);
      if (types.get('business_id') !== 'uuid') problems.push(`${table}.business_id is ${types.get('business_id')}`);
    }
    expect(problems).toEqual([]);
  });

  it('leads every key and index of every canonical table with business_id', async () => {
    const indexes = await sql<{ table: string; index: string; first: string }>(
      `SELECT t.relname AS table, i.relname AS index, a.attname AS first
         FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
        WHERE t.relname LIKE 'canonical\\_%' AND t.relkind = 'r'`,
    );
    expect(indexes.length).toBeGreaterThanOrEqual(Object.keys(canonicalTables).length * 3);
    expect(indexes.filter((row) => row.first !== 'business_id')).toEqual([]);
  });
});

describe('natural keys', () => {
  const keyValue = (type: string, n: number) => (type === 'date' ? `2026-01-0${n}` : `K-${n}`);

  it('refuse a second row with the same key in one business, and allow it in another', async () => {
    for (const entity of Object.keys(canonicalTables)) {
      const table = `canonical_${entity}`;
      const key = await sql<{ column_name: string; type: string }>(
        `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_constraint c JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
          WHERE c.conname = $1 AND c.contype = 'u' ORDER BY k.n`,
        [`${table}_natural_key`],
      );
      expect(key[0]?.column_name, table).toBe('business_id');
      const columns = [...key.map((k) => k.column_name), 'data_source_id', 'source_row'];
      const insert = (business: string, source: string, n: number) =>
        sql(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, [
          business,
          ...key.slice(1).map((k) => keyValue(k.type, n)),
          source,
          n,
        ]);
      await insert(A, sourceA, 1);
      const duplicate = await errorOf(insert(A, sourceA, 1));
      expect(duplicate.code, table).toBe('23505');
      expect(duplicate.constraint, table).toBe(`${table}_natural_key`);
      await insert(B, sourceB, 1);
      await insert(A, sourceA, 2);
    }
  });

  it('let a loader upsert: a second load of the same order updates it', async () => {
    const upsert = (total: string, row: number) =>
      sql(
        `INSERT INTO canonical_orders (business_id, order_ref, total_amount, data_source_id, source_row) VALUES ($1, 'UP-1', $2, $3, $4)
         ON CONFLICT (business_id, order_ref) DO UPDATE SET total_amount = excluded.total_amount, source_row = excluded.source_row, updated_at = now()`,
        [A, total, sourceA, row],
      );
    await upsert('10.00', 1);
    await upsert('12.50', 7);
    expect(await sql(`SELECT total_amount, source_row FROM canonical_orders WHERE business_id = $1 AND order_ref = 'UP-1'`, [A])).toEqual([{ total_amount: '12.50', source_row: 7 }]);
  });

  it('order lines are one per product and order; stock counts one per product, location (none is one place) and day', async () => {
    const line = (product: string) =>
      sql(`INSERT INTO canonical_order_items (business_id, order_ref, product_ref, quantity, data_source_id, source_row) VALUES ($1, 'OL-1', $2, 1, $3, 1)`, [A, product, sourceA]);
    await line('P-1');
    await line('P-2');
    expect((await errorOf(line('P-1'))).code).toBe('23505');

    const count = (location: string | null, day: string) =>
      sql(`INSERT INTO canonical_inventory_levels (business_id, product_ref, location, on_hand, counted_at, data_source_id, source_row) VALUES ($1, 'S-1', $2, 5, $3, $4, 1)`, [A, location, day, sourceA]);
    await count(null, '2026-03-01');
    await count(null, '2026-03-02');
    await count('Back room', '2026-03-01');
    expect((await errorOf(count(null, '2026-03-01'))).code).toBe('23505');
    const defaulted = await sql<{ today: boolean }>(
      `INSERT INTO canonical_inventory_levels (business_id, product_ref, on_hand, data_source_id, source_row) VALUES ($1, 'S-2', 1, $2, 1) RETURNING counted_at = current_date AS today`,
      [A, sourceA],
    );
    expect(defaulted).toEqual([{ today: true }]);
  });

  it('a data source with loaded rows cannot be deleted (lineage would be lost)', async () => {
    // PostgreSQL names a RESTRICT refusal restrict_violation or foreign_key_violation depending on which
    // referential trigger fires first (their order follows object ids), so either code is the refusal.
    expect(['23001', '23503']).toContain((await errorOf(sql('DELETE FROM data_sources WHERE id = $1', [sourceA]))).code);
    expect(await sql('SELECT 1 FROM data_sources WHERE id = $1', [sourceA])).toHaveLength(1);
  });
});

describe('metadata constraints', () => {
  const mappingVersion = (status: string, version: number, fingerprint = 'fp-1') =>
    sql<{ id: string }>(
      `INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table, status, approved_at) VALUES ($1, $2, $3, 'orders', $4, CASE WHEN $4 = 'draft' THEN NULL ELSE now() END) RETURNING id`,
      [A, fingerprint, version, status],
    );

  it.each([
    ['a mapping version in an unknown status', `INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table, status) VALUES ('${A}', 'x', 1, 'orders', 'published')`],
    ['a mapping onto a table the catalog does not have', `INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table) VALUES ('${A}', 'x', 1, 'employees')`],
    ['an approved mapping version without its approval time', `INSERT INTO mapping_versions (business_id, header_fingerprint, version, target_table, status) VALUES ('${A}', 'x', 1, 'orders', 'approved')`],
    ['a widget of an unknown type', `INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name) VALUES (gen_random_uuid(), 't', 'pie3d', 'monthly_revenue')`],
    ['a refresh with an unknown trigger', `INSERT INTO refresh_jobs (view_name, trigger) VALUES ('monthly_revenue', 'hourly')`],
  ])('refuse %s', async (_what, statement) => {
    expect((await errorOf(sql(statement))).code).toBe('23514');
  });

  it('keep one approved mapping per file layout, and one active execution per data source', async () => {
    const [v1] = await mappingVersion('approved', 1);
    expect((await errorOf(mappingVersion('approved', 2))).code).toBe('23505');
    await sql(`UPDATE mapping_versions SET status = 'superseded' WHERE id = $1`, [v1!.id]);
    const [v2] = await mappingVersion('approved', 2);
    expect((await errorOf(mappingVersion('draft', 2))).code).toBe('23505');

    const execute = () => sql(`INSERT INTO mapping_executions (business_id, data_source_id, mapping_version_id) VALUES ($1, $2, $3) RETURNING id`, [A, sourceA, v2!.id]);
    const [first] = await execute();
    expect((await errorOf(execute())).code).toBe('23505');
    await sql(`UPDATE mapping_executions SET status = 'succeeded', finished_at = now(), progress = 1 WHERE id = $1`, [first!.id]);
    await execute();
    await sql(`INSERT INTO mapping_rejects (mapping_execution_id, row_number, column_name, value, reason) VALUES ($1, 3, 'order_date', '31/02/2026', 'not a date')`, [first!.id]);
    const reject = await sql(`SELECT row_number, reason FROM mapping_rejects WHERE mapping_execution_id = $1`, [first!.id]);
    expect(reject).toEqual([{ row_number: 3, reason: 'not a date' }]);
  });

  it('grant dashboards to roles of the user_role enum only, and never "edit" without "view"', async () => {
    const [dashboard] = await sql<{ id: string }>(`INSERT INTO dashboards (name) VALUES ('Sales') RETURNING id`);
    await sql(`INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit) VALUES ($1, 'manager', true, false)`, [dashboard!.id]);
    expect((await errorOf(sql(`INSERT INTO dashboard_permissions (dashboard_id, role) VALUES ($1, 'ceo')`, [dashboard!.id]))).code).toBe('22P02');
    expect((await errorOf(sql(`INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit) VALUES ($1, 'ops', false, true)`, [dashboard!.id]))).code).toBe('23514');
    expect((await errorOf(sql(`INSERT INTO dashboards (name) VALUES ('Sales')`))).code).toBe('23505');
  });
});

describe('row-level security for the reporting role', () => {
  /** Rows each canonical table shows under the reporting role with the given settings, by business (and orders by manager). */
  async function visible(settings: { business?: string; manager?: string }) {
    return readAsReporter(database.db.pool, { businessId: settings.business, managerId: settings.manager }, async (client) => {
      const seen: Record<string, string[]> = {};
      for (const entity of Object.keys(canonicalTables)) {
        const rows = await client.query<{ business_id: string }>(`SELECT DISTINCT business_id FROM canonical_${entity} ORDER BY 1`);
        seen[entity] = rows.rows.map((r) => r.business_id);
      }
      const orders = await client.query<{ order_ref: string }>(`SELECT order_ref FROM canonical_orders WHERE order_ref LIKE 'RLS-%' ORDER BY 1`);
      const items = await client.query<{ order_ref: string }>(`SELECT DISTINCT order_ref FROM canonical_order_items WHERE order_ref LIKE 'RLS-%' ORDER BY 1`);
      return { seen, orders: orders.rows.map((r) => r.order_ref), items: items.rows.map((r) => r.order_ref) };
    });
  }

  beforeAll(async () => {
    // Both businesses have rows in every table (from the natural-key test); add team-scoped orders and lines.
    const order = (business: string, source: string, ref: string, manager: string | null) =>
      sql(`INSERT INTO canonical_orders (business_id, order_ref, total_amount, manager_id, data_source_id, source_row) VALUES ($1, $2, 10, $3, $4, 1)`, [business, ref, manager, source]);
    await order(A, sourceA, 'RLS-A1', managerA1);
    await order(A, sourceA, 'RLS-A2', managerA2);
    await order(A, sourceA, 'RLS-A0', null);
    await order(B, sourceB, 'RLS-B1', null);
    for (const [business, source, ref] of [[A, sourceA, 'RLS-A1'], [A, sourceA, 'RLS-A2'], [A, sourceA, 'RLS-A0'], [B, sourceB, 'RLS-B1']] as const) {
      await sql(`INSERT INTO canonical_order_items (business_id, order_ref, product_ref, quantity, data_source_id, source_row) VALUES ($1, $2, 'P-1', 1, $3, 1)`, [business, ref, source]);
    }
  });

  it('with business A set, shows A rows in every canonical table and no row of B', async () => {
    const { seen, orders, items } = await visible({ business: A });
    for (const [entity, businesses] of Object.entries(seen)) expect(businesses, entity).toEqual([A]);
    expect(orders).toEqual(['RLS-A0', 'RLS-A1', 'RLS-A2']);
    expect(items).toEqual(['RLS-A0', 'RLS-A1', 'RLS-A2']);
  });

  it('with a manager set too, shows only that team’s orders and order lines (other tables stay business-wide)', async () => {
    const { seen, orders, items } = await visible({ business: A, manager: managerA1 });
    expect(orders).toEqual(['RLS-A1']);
    expect(items).toEqual(['RLS-A1']);
    expect(seen.customers).toEqual([A]);
    expect(seen.invoices).toEqual([A]);
  });

  it('without the setting, shows nothing at all', async () => {
    const { seen, orders, items } = await visible({});
    for (const [entity, businesses] of Object.entries(seen)) expect(businesses, entity).toEqual([]);
    expect(orders).toEqual([]);
    expect(items).toEqual([]);
  });

  it('gives the reporting role no access to the metadata, while the app’s own role sees every business', async () => {
    const denied = await errorOf(readAsReporter(database.db.pool, { businessId: A }, (client) => client.query('SELECT count(*) FROM data_sources')));
    expect(denied.code).toBe('42501');
    const all = await sql<{ business_id: string }>(`SELECT DISTINCT business_id FROM canonical_orders ORDER BY 1`);
    expect(all.map((r) => r.business_id)).toEqual([A, B].sort());
  });
});
