import fs from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { embeddedUrl, ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from './embedded.js';
import { migrateDatabase } from './migrate.js';

export { migrateDatabase } from './migrate.js';

/** The database handles a process shares: Prisma for records, a pg pool for set-based SQL. */
export interface Db {
  url: string;
  prisma: PrismaClient;
  pool: pg.Pool;
}

export function connectDb(url: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server (a restart, a killed backend) must not crash the process.
  pool.on('error', () => undefined);
  // Nor one that is checked out (pg-pool hears only idle clients): lost between its queries (a transaction
  // waiting for an upload's next bytes), it fails its next query, which its holder hears.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
  return { url, prisma, pool };
}

/**
 * Runs `work` in one transaction on one pooled connection: committed when it returns, rolled back when it
 * throws. A connection that cannot even roll back is broken and is closed rather than handed out again.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await inTransaction(client, work, begin, (rollbackError) => (broken = rollbackError));
  } finally {
    client.release(broken);
  }
}

/**
 * Runs `work` in one transaction on a connection the caller holds (and keeps): committed when it returns,
 * rolled back when it throws. `onBroken` hears of a connection that could not even roll back.
 */
export async function inTransaction<C extends pg.ClientBase, T>(client: C, work: (client: C) => Promise<T>, begin = 'BEGIN', onBroken?: (error: Error) => void): Promise<T> {
  await client.query(begin);
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => onBroken?.(rollbackError));
    throw error;
  }
}

/** A statement's rows: a pg client's, or Prisma's `$queryRawUnsafe` in a transaction. */
export type SqlQuery = <T>(sql: string, params: unknown[]) => Promise<T[]>;

/** The `SqlQuery` of a pg pool or client. */
export function sqlOf(client: pg.Pool | pg.ClientBase): SqlQuery {
  return async <T>(sql: string, params: unknown[]) => (await client.query(sql, params)).rows as T[];
}

/**
 * Takes the advisory lock on `key` for the caller's transaction when nobody holds it, without waiting, and
 * answers whether it did. `withAdvisoryLock` holds one across transactions; this one ends with the transaction.
 */
export async function tryTransactionLock(query: SqlQuery, key: string): Promise<boolean> {
  const [lock] = await query<{ taken: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS taken', [key]);
  return lock?.taken === true;
}

export interface AdvisoryLockWait {
  /** Give up after this long with a conflict error carrying `message` (default: wait as long as it takes). */
  timeout?: { seconds: number; message: string };
}

/**
 * Runs `work` on one pooled connection that holds a PostgreSQL session advisory lock on `key` throughout,
 * across the transactions `work` runs. A process that dies releases the lock with its connection; a
 * connection that cannot give it back is closed instead of pooled, which releases it too. With
 * `skipIfHeld`, answers null at once, without running `work`, when someone else holds the lock.
 */
export async function withAdvisoryLock<T>(pool: pg.Pool, key: string, work: (client: pg.PoolClient) => Promise<T>, wait?: AdvisoryLockWait): Promise<T>;
export async function withAdvisoryLock<T>(pool: pg.Pool, key: string, work: (client: pg.PoolClient) => Promise<T>, wait: { skipIfHeld: true }): Promise<T | null>;
export async function withAdvisoryLock<T>(pool: pg.Pool, key: string, work: (client: pg.PoolClient) => Promise<T>, wait: AdvisoryLockWait & { skipIfHeld?: boolean } = {}): Promise<T | null> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (!(await takeAdvisoryLock(client, key, wait))) return null;
    try {
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch((error: Error) => (broken = error));
    }
  } finally {
    client.release(broken);
  }
}

async function takeAdvisoryLock(client: pg.PoolClient, key: string, wait: AdvisoryLockWait & { skipIfHeld?: boolean }): Promise<boolean> {
  if (wait.skipIfHeld) return (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [key])).rows[0]!.locked;
  if (!wait.timeout) {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    return true;
  }
  try {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${wait.timeout.seconds * 1000}`]);
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') throw new AppError('conflict', wait.timeout.message);
    throw error;
  } finally {
    await client.query('RESET lock_timeout');
  }
}

export async function closeDb(db: Db): Promise<void> {
  await Promise.allSettled([db.prisma.$disconnect(), db.pool.end()]);
}

export interface DatabaseServer {
  url: string;
  embedded: EmbeddedServer | null;
  stop(): Promise<void>;
}

/**
 * Where the product's data lives: `DATABASE_URL` when set, otherwise an embedded PostgreSQL under
 * DATA_DIR with a `backhouse` database. Migrations are applied either way.
 */
export async function provideDatabase(config: Config, log: Logger, opts: { migrate?: boolean } = {}): Promise<DatabaseServer> {
  let url = config.DATABASE_URL;
  let embedded: EmbeddedServer | null = null;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: `${config.DATA_DIR}/postgres`, port: config.EMBEDDED_PG_PORT, log });
    await ensureDatabase(embedded.adminUrl, 'backhouse');
    url = embedded.urlFor('backhouse');
    log.info({ port: config.EMBEDDED_PG_PORT, dataDir: config.DATA_DIR }, 'embedded PostgreSQL started');
  }
  try {
    if (opts.migrate !== false) await migrateDatabase(url, log);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return { url, embedded, stop: async () => embedded?.stop() };
}

export interface ReachedServer {
  /** The product's database. */
  url: string;
  /** Another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/**
 * The product's database server for a command run beside the product (backup, restore): DATABASE_URL's, or
 * the embedded one, used as it runs under `npm start`, or else started for the command and stopped after it.
 * An embedded server that was never set up is made only when `create` (a restore onto a new machine).
 */
export async function reachDatabaseServer(config: Config, log: Logger, opts: { create: boolean }): Promise<ReachedServer> {
  const urlFor = (base: string) => (database: string) => {
    const parsed = new URL(base);
    parsed.pathname = `/${database}`;
    return parsed.toString();
  };
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, urlFor: urlFor(config.DATABASE_URL), stop: async () => undefined };
  const running = new pg.Client({ connectionString: embeddedUrl(config.EMBEDDED_PG_PORT, 'postgres') });
  running.on('error', () => undefined);
  const isRunning = await running.connect().then(
    () => true,
    () => false,
  );
  await running.end().catch(() => undefined);
  const url = embeddedUrl(config.EMBEDDED_PG_PORT, 'backhouse');
  if (isRunning) return { url, urlFor: urlFor(url), stop: async () => undefined };
  const dataDir = path.join(config.DATA_DIR, 'postgres');
  if (!opts.create && !fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    throw new AppError('not_found', `There is no embedded database in ${dataDir} (nor one listening on port ${config.EMBEDDED_PG_PORT}): start Backhouse once, or set DATABASE_URL or DATA_DIR to where the data is.`);
  }
  log.info({ dataDir }, 'the embedded PostgreSQL is not running: starting it for this command');
  const embedded = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT, log });
  return { url, urlFor: embedded.urlFor, stop: () => embedded.stop() };
}
