import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackhouse, type Running } from '../../app/runtime.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/** `npm run web` and `npm run worker` as separate processes on one database, as when scaled out. */
let web: TestApp;
let worker: Running | null = null;
let t: Tenants;

beforeAll(async () => {
  web = await startTestApp({}, 'web');
  t = await seedTenants(web.system);
});
afterAll(async () => {
  await worker?.stop();
  await web?.close();
});

async function stateOf(id: string): Promise<string> {
  const rows = await web.db.pool.query<{ state: string }>('SELECT state::text FROM pgboss.job WHERE id = $1', [id]);
  return rows.rows[0]!.state;
}

describe('web and worker processes apart', () => {
  it('a web-only process queues work without running it; a worker process then runs it', async () => {
    expect(web.url).toMatch(/^http/);
    const api = await apiClient(web.url, t.users.admin.email);
    const sent = await api.call('POST', '/api/jobs/probe', { note: 'split' });
    expect(sent.status).toBe(202);
    const id = sent.body!.data.id as string;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await stateOf(id)).toBe('created');

    worker = await startBackhouse('worker', web.config, web.log);
    expect(worker.url).toBeNull();
    const deadline = Date.now() + 15_000;
    while ((await stateOf(id)) !== 'completed') {
      if (Date.now() > deadline) throw new Error(`job is ${await stateOf(id)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('the scheduled housekeeping job clears expired sessions and sign-in counters', async () => {
    await web.db.pool.query(`INSERT INTO admin_sessions (sid, sess, expire) VALUES ('old', '{}', now() - interval '1 day'), ('new', '{}', now() + interval '1 day')`);
    await web.db.pool.query(`INSERT INTO login_attempts (key, points, expire) VALUES ('account:old', 3, $1), ('account:new', 1, $2)`, [Date.now() - 1000, Date.now() + 600_000]);
    const schedules = await web.db.pool.query<{ name: string; cron: string }>('SELECT name, cron FROM pgboss.schedule');
    expect(schedules.rows).toContainEqual({ name: 'system.housekeeping', cron: '*/15 * * * *' });
    // Run it now rather than wait for the clock.
    const id = (await web.jobs.send('system.housekeeping', {}))!;
    const deadline = Date.now() + 15_000;
    while ((await stateOf(id)) !== 'completed') {
      if (Date.now() > deadline) throw new Error(`housekeeping is ${await stateOf(id)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const sessions = await web.db.pool.query<{ sid: string }>(`SELECT sid FROM admin_sessions WHERE sid IN ('old', 'new')`);
    expect(sessions.rows.map((r) => r.sid)).toEqual(['new']);
    const attempts = await web.db.pool.query<{ key: string }>(`SELECT key FROM login_attempts WHERE key LIKE 'account:%'`);
    expect(attempts.rows.map((r) => r.key)).toEqual(['account:new']);
  });
});
