import fs from 'node:fs';
import readline from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { listMigrations, migrateDatabase } from './migrate.js';

/**
 * Backups of the product's database, written by Backhouse itself. pg_dump would be the tool of choice, but the
 * embedded server's package ships only `postgres`, `initdb` and `pg_ctl`, and a pg_dump older than the server
 * (Debian's is 15, the embedded server 18) refuses to run. The schema is the migrations' (plus pg-boss's), so
 * a backup holds what the migrations cannot make: the migrations it was taken at, the tables created at run
 * time (a large feed's fact partition, pg-boss's queue partitions), every table's rows in COPY format, and the
 * sequences. All of it from one snapshot (a repeatable-read transaction), so it is consistent while the
 * product keeps working. Unlogged tables are scratch space (a crash empties them) and are left out;
 * materialized views are refreshed after a restore.
 */
const FORMAT = 'backhouse-backup';
const VERSION = 1;
/** The schemas that hold the product's objects: every one but PostgreSQL's own. */
const OURS = `n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'`;
const END_OF_TABLE = '\\.';

interface CreatedTable {
  name: string;
  parent: string;
  bound: string;
  partitionKey: string | null;
  constraints: { name: string; definition: string }[];
  indexes: string[];
}

interface Header {
  format: typeof FORMAT;
  version: number;
  takenAt: string;
  serverVersion: string;
  migrations: string[];
  createdTables: CreatedTable[];
  sequences: { name: string; lastValue: string; isCalled: boolean }[];
  materializedViews: string[];
  tables: { name: string; columns: string[] }[];
}

export interface TableSummary {
  table: string;
  rows: number;
}

export interface BackupSummary {
  file: string;
  tables: TableSummary[];
  rows: number;
  bytes: number;
  takenAt: string;
}

/** Writes a consistent backup of the database at `url` to `file` (gzip), table by table, telling `progress`. */
export async function backupDatabase(url: string, file: string, progress: (table: TableSummary) => void = () => undefined): Promise<BackupSummary> {
  const client = new pg.Client({ connectionString: url, application_name: 'backhouse-backup' });
  client.on('error', () => undefined);
  await client.connect();
  const partial = `${file}.partial`;
  const gzip = zlib.createGzip();
  let written: Promise<void> | null = null;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // Row-level security must not hide rows from the backup: with it off, a table it would filter is an error.
    await client.query('SET LOCAL row_security = off');
    // Names and definitions read from the catalog then come schema-qualified and quoted as SQL needs them.
    await client.query('SET LOCAL search_path = pg_catalog');
    const header = await readCatalog(client);
    // No table may be dropped or altered under the backup (an abandoned load's tables being cleaned up, say).
    for (const table of header.tables) await client.query(`LOCK TABLE ${table.name} IN ACCESS SHARE MODE`);
    written = pipeline(gzip, fs.createWriteStream(partial));
    const write = (text: string) => new Promise<void>((resolve, reject) => gzip.write(text, (error) => (error ? reject(error) : resolve())));
    await write(`${JSON.stringify(header)}\n`);
    const tables: TableSummary[] = [];
    for (const table of header.tables) {
      await write(`${JSON.stringify({ table: table.name })}\n`);
      let rows = 0;
      const copy = client.query(copyTo(`COPY ${table.name} (${table.columns.map((column) => pg.escapeIdentifier(column)).join(', ')}) TO STDOUT`));
      await pipeline(
        copy,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            // COPY's text format writes one line per row (a newline inside a value is written as \n).
            for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) rows++;
            gzip.write(chunk, done);
          },
        }),
      );
      await write(`${END_OF_TABLE}\n`);
      const summary = { table: table.name, rows };
      tables.push(summary);
      progress(summary);
    }
    gzip.end();
    await written;
    await client.query('COMMIT');
    fs.renameSync(partial, file);
    return { file, tables, rows: tables.reduce((sum, table) => sum + table.rows, 0), bytes: fs.statSync(file).size, takenAt: header.takenAt };
  } catch (error) {
    gzip.destroy();
    await written?.catch(() => undefined);
    fs.rmSync(partial, { force: true });
    throw error;
  } finally {
    await client.end();
  }
}

async function readCatalog(client: pg.Client): Promise<Header> {
  const [{ now, version }] = (await client.query<{ now: Date; version: string }>(`SELECT now(), current_setting('server_version') AS version`)).rows as [{ now: Date; version: string }];
  const migrations = (
    await client.query<{ migration_name: string }>(`SELECT migration_name FROM public._prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`)
  ).rows.map((row) => row.migration_name);
  // Tables with rows of their own (partitions' leaves, not their parents), referenced tables before those that
  // reference them: a restore without the rights to switch foreign-key checks off then loads in that order.
  const tables = await client.query<{ name: string; columns: string[]; root: string }>(
    `SELECT c.oid::regclass::text AS name, pg_partition_root(c.oid)::regclass::text AS root,
            array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      WHERE ${OURS} AND c.relkind = 'r' AND c.relpersistence = 'p'
      GROUP BY c.oid ORDER BY c.oid::regclass::text`,
  );
  const references = await client.query<{ child: string; parent: string }>(
    `SELECT DISTINCT pg_partition_root(conrelid)::regclass::text AS child, pg_partition_root(confrelid)::regclass::text AS parent
       FROM pg_constraint WHERE contype = 'f' AND connamespace IN (SELECT n.oid FROM pg_namespace n WHERE ${OURS})`,
  );
  const rootOrder = dependencyOrder([...new Set(tables.rows.map((table) => table.root))], references.rows);
  const ordered = [...tables.rows].sort((a, b) => rootOrder.indexOf(a.root) - rootOrder.indexOf(b.root) || a.name.localeCompare(b.name));
  // Partitions are what the product creates at run time; each with what it holds beyond its parent's.
  const partitions = await client.query<CreatedTable & { depth: number }>(
    `WITH RECURSIVE tree AS (
       SELECT c.oid, i.inhparent, 1 AS depth FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
        WHERE c.relispartition AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND c.relnamespace IN (SELECT n.oid FROM pg_namespace n WHERE ${OURS})
          AND NOT (SELECT relispartition FROM pg_class WHERE oid = i.inhparent)
       UNION ALL
       SELECT i.inhrelid, i.inhparent, tree.depth + 1 FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind IN ('r', 'p'))
     SELECT t.oid::regclass::text AS name, t.inhparent::regclass::text AS parent, t.depth, pg_get_expr(c.relpartbound, c.oid) AS bound,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS "partitionKey",
            coalesce((SELECT json_agg(json_build_object('name', con.conname, 'definition', pg_get_constraintdef(con.oid)) ORDER BY con.conname)
                        FROM pg_constraint con WHERE con.conrelid = c.oid AND con.conislocal AND con.coninhcount = 0 AND con.conparentid = 0 AND con.contype IN ('c', 'f', 'u', 'p', 'x')), '[]') AS constraints,
            coalesce((SELECT json_agg(pg_get_indexdef(x.indexrelid) ORDER BY x.indexrelid)
                        FROM pg_index x WHERE x.indrelid = c.oid AND NOT EXISTS (SELECT 1 FROM pg_inherits ii WHERE ii.inhrelid = x.indexrelid)
                         AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid AND con.conrelid = c.oid)), '[]') AS indexes
       FROM tree t JOIN pg_class c ON c.oid = t.oid ORDER BY t.depth, name`,
  );
  const sequences = await client.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND ${OURS} ORDER BY 1`,
  );
  const sequenceValues = [];
  for (const { name } of sequences.rows) {
    const { rows } = await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${name}`);
    sequenceValues.push({ name, lastValue: rows[0]!.last_value, isCalled: rows[0]!.is_called });
  }
  const views = await client.query<{ name: string }>(`SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND c.relispopulated AND ${OURS} ORDER BY 1`);
  return {
    format: FORMAT,
    version: VERSION,
    takenAt: now.toISOString(),
    serverVersion: version,
    migrations,
    createdTables: partitions.rows.map(({ depth: _depth, ...table }) => table),
    sequences: sequenceValues,
    materializedViews: views.rows.map((view) => view.name),
    tables: ordered.map(({ name, columns }) => ({ name, columns })),
  };
}

/** `names` with every parent before the tables that reference it (a self-reference is no constraint on order). */
function dependencyOrder(names: string[], references: { child: string; parent: string }[]): string[] {
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (ordered.includes(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const reference of references) if (reference.child === name && reference.parent !== name) visit(reference.parent);
    visiting.delete(name);
    if (names.includes(name)) ordered.push(name);
  };
  [...names].sort().forEach(visit);
  return ordered;
}

export interface RestoreOptions {
  /** Empty the database first (its tables, rows and pg-boss's jobs) instead of refusing one that holds any. */
  replace?: boolean;
  progress?: (table: TableSummary) => void;
  log: Logger;
}

/**
 * Restores a backup into the database at `url`: the migrations it was taken at, pg-boss's schema, the tables
 * made at run time, every row, the sequences; then refreshes the materialized views. Refuses a database that
 * already holds tables unless `replace`, and a backup taken at other migrations than this code's.
 */
export async function restoreDatabase(url: string, file: string, options: RestoreOptions): Promise<BackupSummary> {
  if (!fs.existsSync(file)) throw new AppError('not_found', `There is no backup file ${file}.`);
  const lines = readline.createInterface({ input: fs.createReadStream(file).pipe(zlib.createGunzip()), crlfDelay: Infinity });
  const iterator = lines[Symbol.asyncIterator]();
  const next = async () => {
    const line = await iterator.next();
    return line.done ? null : line.value;
  };
  let header: Header;
  try {
    header = JSON.parse((await next()) ?? '') as Header;
  } catch {
    throw new AppError('bad_request', `${file} is not a Backhouse backup (made by npm run db:backup).`);
  }
  if (header.format !== FORMAT || header.version !== VERSION) throw new AppError('bad_request', `${file} is not a Backhouse backup of version ${VERSION} (made by npm run db:backup).`);
  const shipped = listMigrations();
  if (shipped.join() !== header.migrations.join()) {
    throw new AppError(
      'conflict',
      `The backup was taken at migration ${header.migrations.at(-1) ?? '(none)'} and this Backhouse is at ${shipped.at(-1)}: restore it with the Backhouse version that took it, then start this one to migrate.`,
    );
  }
  const client = new pg.Client({ connectionString: url, application_name: 'backhouse-restore' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const present = await client.query<{ name: string }>(`SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND ${OURS} LIMIT 5`);
    if (present.rowCount! > 0) {
      if (!options.replace) {
        throw new AppError('conflict', `The database is not empty (it has ${present.rows.map((row) => row.name).join(', ')}…): restore into an empty database (--database NAME makes one), or add --replace to drop what it holds first.`);
      }
      options.log.warn('dropping everything in the database before the restore (--replace)');
      const schemas = await client.query<{ name: string }>(`SELECT quote_ident(n.nspname) AS name FROM pg_namespace n WHERE ${OURS}`);
      await client.query(`DROP SCHEMA ${schemas.rows.map((schema) => schema.name).join(', ')} CASCADE; CREATE SCHEMA public`);
    }
    await migrateDatabase(url, options.log);
    await installJobQueueSchema(url);
    await client.query('BEGIN');
    // Foreign keys and triggers off while rows arrive in any order (needs a superuser, as the embedded one is);
    // otherwise the backup's order (referenced tables first) carries it.
    await client.query('SAVEPOINT replica');
    await client.query(`SET LOCAL session_replication_role = replica`).then(
      () => client.query('RELEASE SAVEPOINT replica'),
      () => client.query('ROLLBACK TO SAVEPOINT replica'),
    );
    for (const table of header.createdTables) {
      const exists = (await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table.name])).rows[0]!.t;
      if (exists) continue;
      await client.query(`CREATE TABLE ${table.name} PARTITION OF ${table.parent} ${table.bound}${table.partitionKey ? ` PARTITION BY ${table.partitionKey}` : ''}`);
      for (const constraint of table.constraints) await client.query(`ALTER TABLE ${table.name} ADD CONSTRAINT ${pg.escapeIdentifier(constraint.name)} ${constraint.definition}`);
      for (const index of table.indexes) await client.query(index);
    }
    // What the migrations and pg-boss's install wrote (their history, seeded dashboards, pg-boss's version) is the
    // backup's to say: the same migrations, applied when the backup's were.
    if (header.tables.length > 0) await client.query(`TRUNCATE ${header.tables.map((table) => table.name).join(', ')}`);
    const tables: TableSummary[] = [];
    for (const expected of header.tables) {
      const marker = JSON.parse((await next()) ?? 'null') as { table?: string } | null;
      if (marker?.table !== expected.name) throw new AppError('bad_request', `${file} is cut short or damaged: expected the rows of ${expected.name}.`);
      const rows = await copyRowsIn(client, expected, next);
      const summary = { table: expected.name, rows };
      tables.push(summary);
      options.progress?.(summary);
    }
    for (const sequence of header.sequences) await client.query('SELECT setval($1::regclass, $2::bigint, $3)', [sequence.name, sequence.lastValue, sequence.isCalled]);
    await client.query('COMMIT');
    await refreshMaterializedViews(client, header.materializedViews);
    return { file, tables, rows: tables.reduce((sum, table) => sum + table.rows, 0), bytes: fs.statSync(file).size, takenAt: header.takenAt };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    lines.close();
    await client.end();
  }
}

/** One table's COPY lines from the backup into the table; answers how many rows. */
async function copyRowsIn(client: pg.Client, table: Header['tables'][number], next: () => Promise<string | null>): Promise<number> {
  let rows = 0;
  const source = Readable.from(
    (async function* () {
      for (;;) {
        const line = await next();
        if (line === null) throw new AppError('bad_request', `The backup is cut short in the rows of ${table.name}.`);
        if (line === END_OF_TABLE) return;
        rows++;
        yield `${line}\n`;
      }
    })(),
  );
  await pipeline(source, client.query(copyFrom(`COPY ${table.name} (${table.columns.map((column) => pg.escapeIdentifier(column)).join(', ')}) FROM STDIN`)));
  return rows;
}

/** pg-boss creates its schema on its first start; the queue partitions then come from the backup. */
async function installJobQueueSchema(url: string): Promise<void> {
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss', supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, wait: true });
}

/**
 * Refreshes the views that were populated in the backup, each after the materialized views it reads (also
 * through plain views): refreshed first, one that reads another would be refreshed over its empty rows.
 */
async function refreshMaterializedViews(client: pg.Client, views: string[]): Promise<void> {
  // By oid: names as the backup wrote them may be qualified where the catalog's are not.
  const oids = await client.query<{ name: string; oid: string }>('SELECT name, to_regclass(name)::oid::text AS oid FROM unnest($1::text[]) AS name', [views]);
  const nameOf = new Map(oids.rows.map((row) => [row.oid, row.name]));
  const reads = await client.query<{ view: string; reads: string }>(
    `WITH RECURSIVE edge AS (
       SELECT DISTINCT r.ev_class AS view, d.refobjid AS reads
       FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
       WHERE d.refobjid <> r.ev_class
     ), reach AS (
       SELECT view, reads FROM edge
       UNION
       SELECT reach.view, edge.reads FROM reach JOIN edge ON edge.view = reach.reads
         JOIN pg_class through ON through.oid = reach.reads AND through.relkind = 'v'
     )
     SELECT DISTINCT reach.view::text AS view, reach.reads::text AS reads
     FROM reach JOIN pg_class v ON v.oid = reach.view AND v.relkind = 'm' JOIN pg_class m ON m.oid = reach.reads AND m.relkind = 'm'`,
  );
  const before = new Map(views.map((view) => [view, [] as string[]]));
  for (const edge of reads.rows) {
    const view = nameOf.get(edge.view);
    const first = nameOf.get(edge.reads);
    if (view !== undefined && first !== undefined) before.get(view)!.push(first);
  }
  const done = new Set<string>();
  const refresh = async (view: string, path: string[]): Promise<void> => {
    if (done.has(view) || path.includes(view)) return;
    for (const first of before.get(view) ?? []) await refresh(first, [...path, view]);
    await client.query(`REFRESH MATERIALIZED VIEW ${view}`);
    done.add(view);
  };
  for (const view of views) await refresh(view, []);
}
