import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlOf } from '../../core/db/index.js';
import { reserveToken, takeToken, waitForToken } from '../../core/ratelimit/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.drop());

describe('rate limits kept in PostgreSQL', () => {
  it('grants a burst, then refuses and says when the next token is back', async () => {
    const query = sqlOf(database.db.pool);
    const limit = { key: 'test:burst', perSecond: 1, burst: 3 };
    const takes = [];
    for (let i = 0; i < 4; i += 1) takes.push(await takeToken(query, limit));
    expect(takes.slice(0, 3).every((take) => take.granted)).toBe(true);
    expect(takes[3]).toMatchObject({ granted: false });
    expect(takes[3]!.waitMs).toBeGreaterThan(500);
    expect(takes[3]!.waitMs).toBeLessThanOrEqual(1000);
  });

  it('a refused take costs nothing: the bucket refills for the callers after it', async () => {
    const query = sqlOf(database.db.pool);
    const limit = { key: 'test:refused', perSecond: 1000, burst: 1 };
    expect((await takeToken(query, limit)).granted).toBe(true);
    for (let i = 0; i < 20; i += 1) await takeToken(query, limit);
    await expect.poll(async () => (await takeToken(query, limit)).granted).toBe(true);
    const [bucket] = await query<{ tokens: number }>('SELECT tokens FROM rate_limit_buckets WHERE key = $1', [limit.key]);
    expect(bucket!.tokens).toBeGreaterThanOrEqual(0);
  });

  it('concurrent takers on separate connections never share the last tokens', async () => {
    const limit = { key: 'test:concurrent', perSecond: 0.001, burst: 10 };
    const clients = await Promise.all(Array.from({ length: 8 }, async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return client;
    }));
    try {
      const takes = await Promise.all(clients.flatMap((client) => Array.from({ length: 5 }, () => takeToken(sqlOf(client), limit))));
      expect(takes.filter((take) => take.granted)).toHaveLength(10);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });

  it('reservations are spaced at the rate, in the order asked', async () => {
    const query = sqlOf(database.db.pool);
    const limit = { key: 'test:reserve', perSecond: 10, burst: 1 };
    const waits = [];
    for (let i = 0; i < 4; i += 1) waits.push((await reserveToken(query, limit)).waitMs);
    expect(waits[0]).toBe(0);
    // Each reservation waits about 100 ms more than the one before (less the time the statements took).
    for (let i = 1; i < 4; i += 1) {
      expect(waits[i]!).toBeGreaterThan(waits[i - 1]! + 50);
      expect(waits[i]!).toBeLessThanOrEqual(i * 100);
    }
  });

  it('an aborted wait ends at once with the reason', async () => {
    const query = sqlOf(database.db.pool);
    const limit = { key: 'test:abort', perSecond: 0.01, burst: 1 };
    await waitForToken(query, limit);
    const controller = new AbortController();
    const waiting = waitForToken(query, limit, 1, controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
  });

  it('refuses a cost larger than the burst', async () => {
    await expect(takeToken(sqlOf(database.db.pool), { key: 'test:cost', perSecond: 1, burst: 2 }, 3)).rejects.toThrow(RangeError);
  });
});
