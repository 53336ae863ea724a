import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../core/db/embedded.js';
import { createLogger } from '../../core/log.js';
import { freePort } from '../helpers/net.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-embedded-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('the embedded PostgreSQL', () => {
  it('stops only once the connections just closed have left, so none is cut off with an error', async () => {
    const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), log: createLogger('warn', 'test') });
    const errors: string[] = [];
    const pool = new pg.Pool({ connectionString: server.adminUrl, max: 40 });
    pool.on('error', (error) => errors.push(error.message));
    // Forty connections open at once, then the pool ends: pg's pool resolves end() before its sockets have closed.
    await Promise.all(Array.from({ length: 40 }, () => pool.query('SELECT pg_sleep(0.05)')));
    await pool.end();
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(errors).toEqual([]);
  }, 120_000);
});
