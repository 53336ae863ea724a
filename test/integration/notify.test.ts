import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../core/db/index.js';
import { notify, NOTIFY_DELIVER_QUEUE, type NotificationEvent } from '../../core/notify/index.js';
import { SIGNATURE_HEADER, verifySignature } from '../../core/notify/signature.js';
import { apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { startWebhookReceiver, type Answer } from '../helpers/webhook-receiver.js';

/**
 * Webhooks against a small local receiver, through the real worker: signed bodies, retries with backoff on
 * 5xx, none on 4xx, capped attempts, one waiting job per webhook however many events pile up, nothing sent
 * for a transaction that rolls back, and the admin's list, test and redeliver.
 */
let app: TestApp;
let t: Tenants;
let admin: Awaited<ReturnType<typeof apiClient>>;
let ops: Awaited<ReturnType<typeof apiClient>>;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
/** What each path of the receiver answers; 200 unless set. */
const script = new Map<string, (count: number) => Answer>();

beforeAll(async () => {
  receiver = await startWebhookReceiver((path, count) => script.get(path)?.(count) ?? { status: 200 });
  app = await startTestApp({
    SECRETS_KEY: randomBytes(32).toString('base64'),
    WEBHOOK_RETRY_BASE_SECONDS: '0.05',
    WEBHOOK_RETRY_MAX_SECONDS: '0.2',
    WEBHOOK_MAX_ATTEMPTS: '3',
    WEBHOOK_TIMEOUT_SECONDS: '5',
  });
  t = await seedTenants(app.system);
  admin = await apiClient(app.url, 'admin@test.local');
  ops = await apiClient(app.url, t.users.opsA.email);
}, 120_000);
afterEach(async () => {
  // Each test's webhooks (and their deliveries) go, so that the next one's counts are its own.
  receiver.release(200);
  script.clear();
  await app.db.pool.query('DELETE FROM webhooks');
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

async function createWebhook(path: string, eventTypes: string[] = ['pipeline.run.completed'], businessId: string | null = null): Promise<{ id: string; secret: string }> {
  const res = await admin.call('POST', '/api/webhooks', { name: `hook ${path}`, url: `${receiver.url}${path}`, event_types: eventTypes, business_id: businessId });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body!.data;
}

/** Waits for a delivery's outcome: the worker polls its queue, and retries wait their backoff. */
const eventually = <T>(read: () => Promise<T> | T, timeout = 20_000) => expect.poll(read, { timeout, interval: 50 });

const event = (payload: Record<string, unknown> = {}, businessId: string | null = null): NotificationEvent => ({ type: 'pipeline.run.completed', businessId, payload: { run_id: 42, ...payload } });

async function send(ev: NotificationEvent): Promise<number> {
  return withTransaction(app.db.pool, (tx) => notify(tx, ev));
}

async function deliveries(webhookId: string): Promise<Record<string, any>[]> {
  const res = await admin.call('GET', `/api/webhook-deliveries?webhook_id=${webhookId}`);
  expect(res.status).toBe(200);
  return res.body!.data;
}

describe('a delivery', () => {
  it('is signed over its exact body with HMAC-SHA256 and a timestamp, and verifies with the secret shown at creation', async () => {
    const hook = await createWebhook('/signed', ['pipeline.run.completed'], t.businessA);
    expect(hook.secret).toMatch(/^whsec_[\w-]{43}$/);
    expect(await send(event({ rows: 1234 }, t.businessA))).toBe(1);
    await eventually(() => receiver.on('/signed').length).toBe(1);
    const [request] = receiver.on('/signed');
    const header = request!.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(header).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(verifySignature(hook.secret, request!.body, header)).toBe(true);
    // A body changed on the way, another secret, or an old timestamp do not verify.
    expect(verifySignature(hook.secret, request!.body.replace('1234', '1235'), header)).toBe(false);
    expect(verifySignature('whsec_other', request!.body, header)).toBe(false);
    expect(verifySignature(hook.secret, request!.body, header, 300, Date.now() + 301_000)).toBe(false);
    const body = JSON.parse(request!.body);
    expect(body).toMatchObject({ type: 'pipeline.run.completed', business_id: t.businessA, data: { run_id: 42, rows: 1234 } });
    expect(request!.headers['x-backhouse-event-id']).toBe(body.id);
    expect(request!.headers['content-type']).toBe('application/json');
    await eventually(async () => (await deliveries(hook.id))[0]?.status).toBe('delivered');
    expect((await deliveries(hook.id))[0]).toMatchObject({ attempts: 1, lastStatusCode: 200, eventType: 'pipeline.run.completed' });
  });

  it('goes only to enabled webhooks subscribed to its type, of its business or of all businesses', async () => {
    const other = await createWebhook('/other-business', ['pipeline.run.completed'], t.businessB);
    const failedOnly = await createWebhook('/failed-only', ['pipeline.run.failed']);
    const disabled = await createWebhook('/disabled');
    expect((await admin.call('PATCH', `/api/webhooks/${disabled.id}`, { enabled: false })).status).toBe(200);
    const all = await createWebhook('/all-businesses');
    const own = await createWebhook('/business-a', ['pipeline.run.completed'], t.businessA);
    expect(await send(event({}, t.businessA))).toBe(2);
    await eventually(() => receiver.on('/all-businesses').length).toBe(1);
    await eventually(() => receiver.on('/business-a').length).toBe(1);
    // The system's own events (no business) go only to webhooks for all businesses.
    expect(await send(event({ system: true }, null))).toBe(1);
    await eventually(() => receiver.on('/all-businesses').length).toBe(2);
    expect((await deliveries(own.id)).length).toBe(1);
    expect(await deliveries(other.id)).toEqual([]);
    expect(await deliveries(failedOnly.id)).toEqual([]);
    expect(await deliveries(disabled.id)).toEqual([]);
    expect((await deliveries(all.id)).length).toBe(2);
    expect((await admin.call('DELETE', `/api/webhooks/${other.id}`)).status).toBe(204);
    expect(await deliveries(other.id)).toEqual([]);
  });

  it('is retried with backoff after a 500, and delivered', async () => {
    script.set('/flaky', (count) => (count === 1 ? { status: 500, body: 'database down' } : { status: 200 }));
    const hook = await createWebhook('/flaky');
    await send(event());
    await eventually(async () => (await deliveries(hook.id))[0]?.status).toBe('delivered');
    const [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ attempts: 2, lastStatusCode: 200, lastError: null });
    const [first, second] = receiver.on('/flaky');
    expect(second!.body).toBe(first!.body);
    expect(second!.headers['x-backhouse-event-id']).toBe(first!.headers['x-backhouse-event-id']);
  });

  it('is not retried after a 400, and its attempts are capped after 5xx', async () => {
    script.set('/refuses', () => ({ status: 400, body: 'unknown event' }));
    script.set('/down', () => ({ status: 503 }));
    const refuses = await createWebhook('/refuses');
    const down = await createWebhook('/down');
    await send(event());
    await eventually(async () => (await deliveries(refuses.id))[0]?.status).toBe('failed');
    expect((await deliveries(refuses.id))[0]).toMatchObject({ attempts: 1, lastStatusCode: 400 });
    expect((await deliveries(refuses.id))[0]!.lastError).toMatch(/refused it with 400: unknown event \(not retried/);
    await eventually(async () => (await deliveries(down.id))[0]?.status).toBe('failed');
    expect((await deliveries(down.id))[0]).toMatchObject({ attempts: 3, lastStatusCode: 503 });
    expect((await deliveries(down.id))[0]!.lastError).toMatch(/answered 503 \(gave up after 3 attempts\)/);
    // A later event, answered, arrives after them: nothing more was sent for the failed ones.
    script.set('/refuses', () => ({ status: 200 }));
    await send(event({ later: true }));
    await eventually(async () => (await deliveries(refuses.id)).map((d) => d.status)).toEqual(['delivered', 'failed']);
    expect(receiver.on('/refuses').length).toBe(2);
    expect(receiver.on('/down').filter((request) => !JSON.parse(request.body).data.later).length).toBe(3);
  });
});

describe('no retry storm', () => {
  it('a dead receiver with a backlog has at most one waiting job, one request per backoff step, and every attempt accounted for', async () => {
    script.set('/dead', () => ({ status: 503 }));
    const hook = await createWebhook('/dead');
    for (let i = 0; i < 6; i++) await send(event({ i }));
    let mostJobs = 0;
    await expect
      .poll(
        async () => {
          const jobs = await app.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry', 'active')`, [NOTIFY_DELIVER_QUEUE, hook.id]);
          mostJobs = Math.max(mostJobs, jobs.rows[0]!.n);
          return (await deliveries(hook.id)).filter((d) => d.status === 'failed').length;
        },
        { timeout: 60_000, interval: 50 },
      )
      .toBe(6);
    // One running and one waiting at most, however many events waited.
    expect(mostJobs).toBeLessThanOrEqual(2);
    const rows = await deliveries(hook.id);
    expect(rows.every((d) => d.attempts === 3)).toBe(true);
    // Exactly the attempts recorded reached the receiver: 6 deliveries × 3.
    expect(receiver.on('/dead').length).toBe(18);
  }, 90_000);

  it('one endpoint that hangs does not hold back another', async () => {
    script.set('/hangs', () => 'hold');
    const slow = await createWebhook('/hangs');
    await send(event({ first: true }));
    await eventually(() => receiver.on('/hangs').length).toBe(1);
    const fast = await createWebhook('/fast');
    for (let i = 0; i < 3; i++) await send(event({ i }));
    await eventually(async () => (await deliveries(fast.id)).filter((d) => d.status === 'delivered').length).toBe(3);
    // Meanwhile a request to the slow receiver is still open, and nothing of it has been delivered.
    expect(receiver.heldCount()).toBeGreaterThan(0);
    expect((await deliveries(slow.id)).filter((d) => d.status === 'delivered')).toEqual([]);
    script.set('/hangs', () => ({ status: 200 }));
    receiver.release(200);
    await eventually(async () => (await deliveries(slow.id)).filter((d) => d.status === 'delivered').length).toBe(4);
  });
});

describe('in the caller’s transaction', () => {
  it('a transaction that rolls back sends nothing; the one that commits sends its event once', async () => {
    const hook = await createWebhook('/transactional');
    await expect(
      withTransaction(app.db.pool, async (tx) => {
        expect(await notify(tx, event({ rolled_back: true }))).toBe(1);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await deliveries(hook.id)).toEqual([]);
    const jobs = await app.db.pool.query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND singleton_key = $2`, [NOTIFY_DELIVER_QUEUE, hook.id]);
    expect(jobs.rowCount).toBe(0);
    await send(event({ committed: true }));
    await eventually(async () => (await deliveries(hook.id))[0]?.status).toBe('delivered');
    expect(receiver.on('/transactional').map((request) => JSON.parse(request.body).data)).toEqual([{ run_id: 42, committed: true }]);
  });

  it('an event type nobody may subscribe to is a programming error', async () => {
    await expect(send({ type: 'pipeline.run.exploded', businessId: null, payload: {} })).rejects.toThrow(/unknown event type "pipeline.run.exploded"/);
  });
});

describe('the admin’s webhooks', () => {
  it('admins only: ops may not list, create or redeliver; every change is audited without the secret', async () => {
    expect((await ops.call('GET', '/api/webhooks')).status).toBe(403);
    expect((await ops.call('POST', '/api/webhooks', { name: 'x', url: `${receiver.url}/x`, event_types: ['pipeline.run.failed'] })).status).toBe(403);
    expect((await ops.call('GET', '/api/webhook-deliveries')).status).toBe(403);
    expect((await ops.call('POST', '/api/webhook-deliveries/1/redeliver')).status).toBe(403);
    const hook = await createWebhook('/audited', ['pipeline.run.failed', 'tekmetric.sync.failed']);
    const shown = await admin.call('GET', `/api/webhooks/${hook.id}`);
    expect(shown.body!.data).toMatchObject({ url: `${receiver.url}/audited`, eventTypes: ['pipeline.run.failed', 'tekmetric.sync.failed'], enabled: true });
    expect(JSON.stringify(shown.body)).not.toContain(hook.secret);
    const stored = await app.db.pool.query(`SELECT secret_sealed FROM webhooks WHERE id = $1`, [hook.id]);
    expect(stored.rows[0].secret_sealed).toMatch(/^v1\./);
    expect(stored.rows[0].secret_sealed).not.toContain(hook.secret.slice(6));
    const audit = await app.db.pool.query(`SELECT action, after::text FROM audit_log WHERE resource = 'webhooks' AND record_id = $1`, [hook.id]);
    expect(audit.rows.map((row) => row.action)).toEqual(['create']);
    expect(audit.rows[0].after).not.toContain(hook.secret.slice(6));
  });

  it('refuses a bad URL, unknown event types and a business that does not exist, naming each', async () => {
    const res = await admin.call('POST', '/api/webhooks', { name: 'bad', url: 'ftp://example.com/x', event_types: ['pipeline.run.failed', 'nope'] });
    expect(res.status).toBe(422);
    expect(res.body!.error.message).toMatch(/url must start with https:\/\//);
    expect(res.body!.error.message).toMatch(/eventTypes\.1/);
    const noBusiness = await admin.call('POST', '/api/webhooks', { name: 'x', url: `${receiver.url}/x`, event_types: ['pipeline.run.failed'], business_id: '00000000-0000-4000-8000-000000000000' });
    expect(noBusiness.status).toBe(422);
    expect(noBusiness.body!.error.message).toMatch(/business the webhook is for does not exist/);
  });

  it('"Send test" reaches the receiver; "Redeliver" sends a failed delivery again with the same event', async () => {
    script.set('/redeliver', (count) => (count === 1 ? { status: 410, body: 'gone' } : { status: 200 }));
    const hook = await createWebhook('/redeliver', ['pipeline.run.failed']);
    const test = await admin.call('POST', `/api/webhooks/${hook.id}/test`);
    expect(test.status).toBe(202);
    await eventually(async () => (await admin.call('GET', `/api/webhook-deliveries/${test.body!.data.id}`)).body!.data.status).toBe('failed');
    const retried = await admin.call('POST', `/api/webhook-deliveries/${test.body!.data.id}/redeliver`);
    expect(retried.status).toBe(202);
    expect(retried.body!.data).toMatchObject({ redeliveryOf: test.body!.data.id, eventId: test.body!.data.eventId, status: 'pending' });
    await eventually(async () => (await admin.call('GET', `/api/webhook-deliveries/${retried.body!.data.id}`)).body!.data.status).toBe('delivered');
    const [first, second] = receiver.on('/redeliver');
    expect(JSON.parse(first!.body)).toMatchObject({ type: 'webhook.test', data: { webhook_id: hook.id } });
    expect(second!.body).toBe(first!.body);
    expect(verifySignature(hook.secret, second!.body, second!.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(true);
    // A delivery still pending cannot be redelivered; the list shows status and attempts.
    const listed = await deliveries(hook.id);
    expect(listed.map((d) => [d.status, d.attempts, d.eventType])).toEqual([
      ['delivered', 1, 'webhook.test'],
      ['failed', 1, 'webhook.test'],
    ]);
    const audit = await app.db.pool.query(`SELECT resource, action FROM audit_log WHERE action IN ('send_test', 'redeliver') ORDER BY id`);
    expect(audit.rows).toEqual([
      { resource: 'webhooks', action: 'send_test' },
      { resource: 'webhookDeliveries', action: 'redeliver' },
    ]);
  });
});
