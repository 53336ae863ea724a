import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalTables, naturalKeys, requiredKeyColumns, storedTypeOf, type ColumnType } from '../../core/mapping/canonical.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * What the mapping code takes from the catalog in core/mapping/canonical.ts instead of asking the
 * database agrees with the migrated database: each table's natural key (the columns of its UNIQUE
 * constraint, and which of them a row must fill itself), and the type each column's values are stored as.
 */

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());

interface KeyColumn {
  name: string;
  not_null: boolean;
  has_default: boolean;
}

async function naturalKeyOf(table: string): Promise<KeyColumn[]> {
  const sqlTable = `canonical_${table}`;
  const result = await database.db.pool.query<KeyColumn>(
    `SELECT a.attname AS name, a.attnotnull AS not_null, a.atthasdef AS has_default
       FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
      WHERE c.conname = $1 AND c.contype = 'u' AND c.conrelid = to_regclass($2) ORDER BY k.ord`,
    [`${sqlTable}_natural_key`, sqlTable],
  );
  return result.rows;
}

describe('the catalog’s natural keys', () => {
  it('name a key for every canonical table and no other', () => {
    expect(Object.keys(naturalKeys).sort()).toEqual(Object.keys(canonicalTables).sort());
  });

  it.each(Object.keys(canonicalTables))('%s: the key columns are those of its natural-key constraint, in order, after business_id', async (table) => {
    const constraint = await naturalKeyOf(table);
    expect(constraint[0]?.name).toBe('business_id');
    expect(constraint.slice(1).map((column) => column.name)).toEqual(naturalKeys[table]!.columns);
  });

  it.each(Object.keys(canonicalTables))('%s: a row must fill exactly the key columns that are NOT NULL without a default', async (table) => {
    const constraint = await naturalKeyOf(table);
    const filledByRow = constraint.slice(1).filter((column) => column.not_null && !column.has_default).map((column) => column.name);
    expect(requiredKeyColumns(table)).toEqual(filledByRow);
  });
});

describe('the catalog’s column types', () => {
  const sqlOf = (type: ColumnType) => (type.kind === 'numeric' ? `numeric(${type.precision},${type.scale})` : type.kind);

  it.each(Object.keys(canonicalTables))('%s: each column is stored as the type its values are checked against', async (table) => {
    const result = await database.db.pool.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
      [`canonical_${table}`],
    );
    const stored = new Map(result.rows.map((row) => [row.name, row.type]));
    const columns = canonicalTables[table]!;
    expect(columns.map((column) => [column.name, sqlOf(storedTypeOf(column))])).toEqual(columns.map((column) => [column.name, stored.get(column.name)]));
  });
});
