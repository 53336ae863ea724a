import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminClient, apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
});
afterAll(async () => app?.close());

interface JobState {
  state: string;
  retryCount: number;
  output: unknown;
  startedOn: Date | null;
}

async function jobState(id: string): Promise<JobState> {
  const rows = await app.db.pool.query<JobState>(`SELECT state::text, retry_count AS "retryCount", output, started_on AS "startedOn" FROM pgboss.job WHERE id = $1`, [id]);
  return rows.rows[0]!;
}

async function waitFor(id: string, states: string[], timeoutMs = 20_000): Promise<JobState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await jobState(id);
    if (job && states.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job?.state}, not ${states.join('/')}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('background jobs', () => {
  it('a job runs on a worker and completes with its output', async () => {
    const id = (await app.jobs.send('system.probe', { note: 'hello' }))!;
    const job = await waitFor(id, ['completed']);
    expect(job.output).toMatchObject({ note: 'hello', attempt: 0, pid: process.pid });
  });

  it('a failing job is retried with backoff and ends up failed, where an admin sees it and can retry it', async () => {
    const api = await apiClient(app.url, t.users.admin.email);
    const sent = await api.call('POST', '/api/jobs/probe', { note: 'always fails', failAttempts: 100 });
    expect(sent.status).toBe(202);
    const id = sent.body!.data.id as string;
    const failed = await waitFor(id, ['failed'], 30_000);
    // retryLimit 3: the first try and three retries.
    expect(failed.retryCount).toBe(3);
    expect(JSON.stringify(failed.output)).toContain('failed on purpose');

    const listed = await api.call('GET', '/api/jobs?state=failed&queue=system.probe');
    expect(listed.body!.data.map((j: { id: string }) => j.id)).toContain(id);

    const admin = await adminClient(app.url, t.users.admin.email);
    const screen = await admin.call('GET', '/admin/api/resources/Job/actions/list?filters.state=failed');
    expect(screen.status).toBe(200);
    const record = screen.body!.records.find((r: { id: string }) => r.id === id);
    expect(record.params).toMatchObject({ queue: 'system.probe', state: 'failed', retryCount: 3 });
    expect(record.recordActions.map((a: { name: string }) => a.name)).toContain('retry');

    const ops = await adminClient(app.url, t.users.opsA.email);
    expect((await ops.call('POST', `/admin/api/resources/Job/records/${id}/retry`)).status).toBe(403);
    expect((await (await apiClient(app.url, t.users.opsA.email)).call('POST', `/api/jobs/${id}/retry`)).status).toBe(403);

    const retried = await admin.call('POST', `/admin/api/resources/Job/records/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body!.notice).toMatchObject({ type: 'success' });
    expect(['retry', 'active', 'created', 'failed']).toContain((await jobState(id)).state);
    const audit = await app.db.prisma.auditLog.findFirst({ where: { resource: 'jobs', recordId: id, action: 'retry' } });
    expect(audit).toMatchObject({ userId: t.users.admin.id, before: { state: 'failed' } });
    // Retrying a job that is not failed is refused with a reason.
    const again = await api.call('POST', `/api/jobs/${(await app.jobs.send('system.probe', {}))!}/retry`);
    expect([409, 404]).toContain(again.status);
  });

  it('lists Backhouse\'s own jobs, leaving out pg-boss\'s housekeeping (several a minute) unless asked for it', async () => {
    await app.db.pool.query(`SELECT pgboss.create_queue('__pgboss__send-it', '{"policy": "standard"}'::json)`);
    await app.db.pool.query(`INSERT INTO pgboss.job (name, data, state, completed_on) SELECT '__pgboss__send-it', '{}', 'completed', now() FROM generate_series(1, 5)`);
    const own = (await app.jobs.send('system.probe', { note: 'own' }))!;
    const api = await apiClient(app.url, t.users.admin.email);
    const queues = async (query: string) => new Set(((await api.call('GET', `/api/jobs?perPage=500${query}`)).body!.data as { queue: string }[]).map((job) => job.queue));
    expect(await queues('')).not.toContain('__pgboss__send-it');
    expect(await queues('')).toContain('system.probe');
    expect([...(await queues('&kind=internal'))]).toEqual(['__pgboss__send-it']);
    expect(await queues('&kind=all')).toEqual(new Set([...(await queues('')), '__pgboss__send-it']));
    // Naming the queue finds its jobs whoever's they are.
    expect([...(await queues('&queue=__pgboss__send-it'))]).toEqual(['__pgboss__send-it']);
    const admin = await adminClient(app.url, t.users.admin.email);
    const screen = await admin.call('GET', '/admin/api/resources/Job/actions/list?perPage=100');
    const listed = screen.body!.records.map((r: { params: { queue: string; kind: string } }) => r.params);
    expect(listed.some((job: { queue: string }) => job.queue === '__pgboss__send-it')).toBe(false);
    expect(listed.find((job: { queue: string }) => job.queue === 'system.probe')).toMatchObject({ kind: 'product' });
    const internal = await admin.call('GET', '/admin/api/resources/Job/actions/list?filters.kind=internal');
    expect(internal.body!.meta.total).toBeGreaterThanOrEqual(5);
    expect(internal.body!.records.every((r: { params: { kind: string } }) => r.params.kind === 'internal')).toBe(true);
    expect(own).toBeTruthy();
  });

  it('backs off between attempts: each retry is scheduled twice as far out as the one before', async () => {
    // What the queue decided, not when a busy machine got round to it: after each failure the job waits in
    // `retry` until its start_after; the wait from the failed attempt's start is retryDelay (1 s) × 2^n, jittered
    // up to twice that (pg-boss's exponential backoff).
    const id = (await app.jobs.send('system.probe', { note: 'timed', failAttempts: 3 }))!;
    const waits: number[] = [];
    await vi.waitFor(async () => {
      const { rows } = await app.db.pool.query<{ state: string; retry_count: number; wait: number | null }>(
        `SELECT state::text, retry_count, extract(epoch FROM start_after - started_on)::float8 AS wait FROM pgboss.job WHERE id = $1`,
        [id],
      );
      const job = rows[0]!;
      if (job.state === 'retry' && job.wait !== null) waits[job.retry_count] = job.wait;
      expect(job.state).toBe('completed');
    }, { timeout: 40_000, interval: 50 });
    expect((await jobState(id)).output).toMatchObject({ attempt: 3 });
    expect(waits).toHaveLength(3);
    // The failing attempt itself takes a moment (its start is before the failure): half a second of slack.
    waits.forEach((wait, n) => {
      expect(wait).toBeGreaterThanOrEqual(2 ** n - 0.5);
      expect(wait).toBeLessThanOrEqual(2 ** (n + 1) + 0.5);
    });
  });

  it('a job sent by a process that works its queue starts at once, not at the worker\'s next poll', async () => {
    const { startJobs } = await import('../../jobs/runtime.js');
    const definitions = [{ name: 'test.wake', options: { retryLimit: 0 }, pollingIntervalSeconds: 60, concurrency: () => 1, handle: async (_ctx: unknown, job: { data: unknown }) => ({ received: job.data }) }];
    const waking = await startJobs(app.db, app.config, app.log, { work: true, definitions });
    try {
      // The worker's first poll (when it registers) has passed: on its own it would ask again in a minute.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const id = (await waking.send('test.wake', { n: 1 }))!;
      const job = await waitFor(id, ['completed'], 10_000);
      expect(job.output).toEqual({ received: { n: 1 } });
    } finally {
      await waking.stop();
    }
  });

  it('a job sent inside a transaction exists only if that transaction commits, and carries its queue\'s retry policy', async () => {
    const send = async (commit: boolean, note: string) => {
      const client = await app.db.pool.connect();
      try {
        await client.query('BEGIN');
        const id = await app.jobs.send('system.probe', { note }, { transaction: client });
        await client.query(commit ? 'COMMIT' : 'ROLLBACK');
        return id!;
      } finally {
        client.release();
      }
    };
    const rolledBack = await send(false, 'rolled back');
    expect(await jobState(rolledBack)).toBeUndefined();
    const committed = await send(true, 'committed');
    const job = await waitFor(committed, ['completed']);
    expect(job.output).toMatchObject({ note: 'committed' });
    const policy = await app.db.pool.query(`SELECT retry_limit, retry_delay, retry_backoff, expire_in FROM pgboss.job WHERE id = $1`, [committed]);
    expect(policy.rows[0]).toMatchObject({ retry_limit: 3, retry_delay: 1, retry_backoff: true, expire_in: { minutes: 1 } });
  });

  it('a graceful stop tells running jobs to wind up and waits for them to complete', async () => {
    const worker = await import('../../jobs/runtime.js');
    const second = await worker.startJobs(app.db, { ...app.config, JOB_CONCURRENCY: 1 }, app.log, { work: true });
    // A minute's work: without the stop signal, the stop would wait it out (beyond this test's timeout).
    const id = (await second.send('system.probe', { note: 'slow', delayMs: 60_000 }))!;
    await waitFor(id, ['active']);
    await Promise.all([second.stop(), app.jobs.stop()]);
    const job = await jobState(id);
    expect(job.state).toBe('completed');
    expect(job.output).toMatchObject({ note: 'slow', cutShort: true });
  });
});
