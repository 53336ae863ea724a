import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type Context } from '../../core/context.js';
import { CopyWriter } from '../../core/db/copy.js';
import { withTransaction } from '../../core/db/index.js';
import { storeUpload } from '../../core/feeds/uploads.js';
import { createLogger } from '../../core/log.js';
import { createRecord } from '../../core/records/service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/**
 * A connection that PostgreSQL ends while it is held (a killed backend, a restart) while its holder waits for
 * something else (an upload's next bytes): the holder's next step fails with the reason, and the process goes
 * on. Both the pg client and the COPY stream emitted an 'error' event nobody heard, which ends a process (and
 * fails this test run).
 */
let database: TestDatabase;
let ctx: Context;
let businessId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ctx = systemContext('test', database.db, createLogger('silent'));
  businessId = (await createRecord(ctx, 'businesses', { name: 'Lost Connections Ltd', timezone: 'Europe/London', currency: 'GBP' })).id as string;
});
afterAll(async () => database?.drop());

/** Ends the backends of this database whose current statement starts with `statement`, once there is one. */
async function killBackend(statement: string): Promise<void> {
  const find = () => database.db.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1`, [`${statement}%`]);
  await expect.poll(async () => (await find()).rows.length, { timeout: 10_000 }).toBeGreaterThan(0);
  for (const { pid } of (await find()).rows) await database.db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
}

describe('a held connection that PostgreSQL ends', () => {
  it('an upload waiting for its next bytes fails with the lost connection, and keeps nothing', async () => {
    const input = new PassThrough();
    const stored = storeUpload(ctx, { businessId, dataType: 'sales', filename: 'slow.csv', stream: input }, { maxBytes: 10 * 1024 * 1024, ttlSeconds: 60 });
    stored.catch(() => undefined);
    input.write(Buffer.alloc(100 * 1024, 'a'));
    await killBackend('COPY upload_chunks');
    // The rest of the file arrives after the connection is gone.
    input.end(Buffer.alloc(100 * 1024, 'b'));
    await expect(stored).rejects.toThrow(/terminat|Connection|EPIPE|ECONNRESET/i);
    expect((await database.db.pool.query(`SELECT count(*)::int AS n FROM upload_files WHERE filename = 'slow.csv'`)).rows[0].n).toBe(0);
    // The pool hands out working connections afterwards.
    expect((await database.db.pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });

  it('a COPY of lines waiting between its writes fails at its next write', async () => {
    let release!: () => void;
    const waiting = new Promise<void>((resolve) => (release = resolve));
    const copied = withTransaction(database.db.pool, async (client) => {
      await client.query('CREATE TEMP TABLE lines (line text)');
      const writer = new CopyWriter(client, 'COPY lines (line) FROM STDIN');
      try {
        writer.add('first\n');
        await writer.flush();
        await waiting;
        writer.add('second\n');
        await writer.end();
      } catch (error) {
        await writer.abandon(error as Error);
        throw error;
      }
    });
    copied.catch(() => undefined);
    await killBackend('COPY lines');
    release();
    await expect(copied).rejects.toThrow(/terminat|Connection|EPIPE|ECONNRESET/i);
  });

  it("a transaction between its queries: its next query fails, and the pool's next connection works", async () => {
    let release!: () => void;
    const waiting = new Promise<void>((resolve) => (release = resolve));
    const work = withTransaction(database.db.pool, async (client) => {
      await client.query(`SELECT 'between queries'`);
      await waiting;
      await client.query('SELECT 1');
    });
    work.catch(() => undefined);
    await killBackend(`SELECT 'between queries'`);
    // The client hears of the lost connection while nothing is running on it.
    await expect.poll(async () => (await database.db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query = $1`, [`SELECT 'between queries'`])).rows[0].n).toBe(0);
    release();
    await expect(work).rejects.toThrow(/terminat|not queryable|Connection|EPIPE|ECONNRESET/i);
    expect((await database.db.pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });
});
