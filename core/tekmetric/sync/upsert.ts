import type pg from 'pg';

/** A column written by a set-based upsert: its name and the SQL type `jsonb_to_recordset` reads it as. */
export interface UpsertColumn {
  name: string;
  type: string;
}

export interface UpsertSpec {
  table: string;
  columns: readonly UpsertColumn[];
  /** The conflict key (a unique index's columns). */
  key: readonly string[];
  /** Set to now() whenever the row is inserted or changes (`synced_at`). */
  touched?: string;
  /** What to answer per inserted or changed row (default: nothing but the count). */
  returning?: string;
}

const statements = new Map<UpsertSpec, string>();

/**
 * The statement of an upsert: every row of `$1` (a JSON array of objects keyed by column name) inserted in one
 * INSERT … SELECT, a row already there updated only when one of its values differs, so an unchanged row is
 * not rewritten (no dead tuple, no trigger, not counted). Answers one row per inserted or changed row.
 */
function upsertStatement(spec: UpsertSpec): string {
  let sql = statements.get(spec);
  if (sql) return sql;
  const names = spec.columns.map((c) => c.name);
  const record = spec.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  const updatable = names.filter((name) => !spec.key.includes(name));
  const set = updatable.map((name) => `${name} = EXCLUDED.${name}`);
  if (spec.touched) set.push(`${spec.touched} = now()`);
  const target = updatable.map((name) => `${spec.table}.${name}`).join(', ');
  const excluded = updatable.map((name) => `EXCLUDED.${name}`).join(', ');
  sql =
    `INSERT INTO ${spec.table} (${names.join(', ')}) SELECT ${names.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(${record}) ` +
    `ON CONFLICT (${spec.key.join(', ')}) DO UPDATE SET ${set.join(', ')} WHERE (${target}) IS DISTINCT FROM (${excluded}) RETURNING ${spec.returning ?? '1'}`;
  statements.set(spec, sql);
  return sql;
}

/** Upserts `rows` into `spec.table` in one statement; answers the inserted or changed rows (`spec.returning`). */
export async function upsertRows<R = unknown>(client: pg.ClientBase, spec: UpsertSpec, rows: readonly object[]): Promise<R[]> {
  if (rows.length === 0) return [];
  const result = await client.query(upsertStatement(spec), [JSON.stringify(rows)]);
  return result.rows as R[];
}
