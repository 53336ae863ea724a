import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@prisma/client';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from './embedded.js';
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
