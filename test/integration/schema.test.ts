import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDmmf, type DmmfModel } from '../../admin/dmmf.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/** PostgreSQL types each Prisma scalar may be stored as (udt_name from information_schema). */
const compatible: Record<string, string[]> = {
  String: ['text', 'varchar', 'bpchar', 'uuid'],
  Int: ['int4'],
  BigInt: ['int8'],
  Boolean: ['bool'],
  DateTime: ['timestamptz', 'timestamp', 'date'],
  Json: ['jsonb', 'json'],
  Decimal: ['numeric'],
  Float: ['float8'],
  Bytes: ['bytea'],
};

/** The native type named by @db.X, where one is given, must be the exact column type. */
const nativeTypes: Record<string, string> = { Uuid: 'uuid', Timestamptz: 'timestamptz', Timestamp: 'timestamp', VarChar: 'varchar', Char: 'bpchar', Date: 'date' };

interface Column {
  column_name: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
}

let database: TestDatabase;
let models: DmmfModel[];

beforeAll(async () => {
  database = await createTestDatabase();
  models = [...(await loadDmmf()).models.values()];
});
afterAll(async () => database?.drop());

async function columnsOf(table: string): Promise<Map<string, Column>> {
  const rows = await database.db.pool.query<Column>(
    `SELECT column_name, udt_name, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
    [table],
  );
  return new Map(rows.rows.map((row) => [row.column_name, row]));
}

describe('schema.prisma agrees with the migrated database', () => {
  it('has models to check', () => {
    expect(models.length).toBeGreaterThanOrEqual(8);
  });

  it('every model has its table, and every field its column of a compatible type and nullability', async () => {
    const problems: string[] = [];
    for (const model of models) {
      const table = model.dbName ?? model.name;
      const columns = await columnsOf(table);
      if (columns.size === 0) {
        problems.push(`${model.name}: table ${table} is missing`);
        continue;
      }
      for (const field of model.fields) {
        if (field.kind === 'object') continue;
        const name = field.dbName ?? field.name;
        const column = columns.get(name);
        if (!column) {
          problems.push(`${model.name}.${field.name}: column ${table}.${name} is missing`);
          continue;
        }
        const udt = field.isList ? column.udt_name.replace(/^_/, '') : column.udt_name;
        if (field.isList && !column.udt_name.startsWith('_')) problems.push(`${model.name}.${field.name}: expected an array column, found ${column.udt_name}`);
        if (field.kind === 'enum') {
          const values = await database.db.pool.query<{ enumlabel: string }>(
            `SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
            [udt],
          );
          if (values.rowCount === 0) problems.push(`${model.name}.${field.name}: ${udt} is not an enum type`);
        } else if (!compatible[field.type]?.includes(udt)) {
          problems.push(`${model.name}.${field.name}: ${field.type} is stored as ${udt}`);
        }
        const native = (field as { nativeType?: [string, string[]] | null }).nativeType?.[0];
        if (native && nativeTypes[native] && nativeTypes[native] !== udt) problems.push(`${model.name}.${field.name}: @db.${native} but the column is ${udt}`);
        const nullable = column.is_nullable === 'YES';
        if (field.isRequired === nullable && !field.isList) problems.push(`${model.name}.${field.name}: required=${field.isRequired} but the column is ${nullable ? 'nullable' : 'NOT NULL'}`);
        if (field.hasDefaultValue && column.column_default === null) problems.push(`${model.name}.${field.name}: has a default in the schema but not in the database`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every enum of the schema exists with the same values', async () => {
    const { clientModule } = await loadDmmf();
    const enums = (clientModule as { Prisma: { dmmf: { datamodel: { enums: { name: string; dbName?: string | null; values: { name: string }[] }[] } } } }).Prisma.dmmf.datamodel.enums;
    for (const en of enums) {
      const rows = await database.db.pool.query<{ enumlabel: string }>(
        `SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [en.dbName ?? en.name],
      );
      expect(rows.rows.map((r) => r.enumlabel), en.name).toEqual(en.values.map((v) => v.name));
    }
  });
});
