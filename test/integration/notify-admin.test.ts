import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SIGNATURE_HEADER, verifySignature } from '../../core/notify/signature.js';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

/** The admin's Webhooks and Webhook deliveries screens, through the admin's own API, as the pages call it. */
let app: TestApp;
let t: Tenants;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
const warnings: string[] = [];

beforeAll(async () => {
  for (const level of ['warn', 'error'] as const) {
    const original = console[level];
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
      original(...args);
    });
  }
  // The first request is refused for good, the ones after are taken.
  receiver = await startWebhookReceiver((_path, count) => (count === 1 ? { status: 404, body: 'no such hook' } : { status: 204 }));
  app = await startTestApp({ SECRETS_KEY: randomBytes(32).toString('hex'), WEBHOOK_RETRY_BASE_SECONDS: '0.05' });
  t = await seedTenants(app.system);
}, 120_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await app?.close();
  await receiver?.close();
});

describe('the Webhooks screens', () => {
  it('an admin creates a webhook (its secret in the notice, once), sends a test, sees the delivery and redelivers it', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const created = await admin.call('POST', '/admin/api/resources/Webhook/actions/new', {
      name: 'Ops chat',
      url: `${receiver.url}/hooks`,
      'eventTypes.0': 'pipeline.run.failed',
      'eventTypes.1': 'tekmetric.sync.failed',
      businessId: t.businessA,
      enabled: 'true',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const secret = /shown this once \(copy it now\): (whsec_[\w-]+)$/.exec(created.body!.notice.message)?.[1];
    expect(secret).toBeDefined();
    expect(JSON.stringify(created.body!.record)).not.toContain(secret!);
    const id = created.body!.record.id as string;
    const shown = await admin.call('GET', `/admin/api/resources/Webhook/records/${id}/show`);
    expect(shown.body!.record.params).toMatchObject({ name: 'Ops chat', 'eventTypes.0': 'pipeline.run.failed', 'eventTypes.1': 'tekmetric.sync.failed', businessId: t.businessA, enabled: true });
    expect(JSON.stringify(shown.body)).not.toContain(secret!);
    const list = await admin.call('GET', '/admin/api/resources/Webhook/actions/list');
    expect(list.body!.records.map((record: { id: string }) => record.id)).toEqual([id]);

    const test = await admin.call('POST', `/admin/api/resources/Webhook/records/${id}/sendTest`);
    expect(test.status, JSON.stringify(test.body)).toBe(200);
    expect(test.body!.notice.message).toMatch(/^Test event sent as delivery \d+/);
    const deliveries = async () => (await admin.call('GET', `/admin/api/resources/WebhookDelivery/actions/list?filters.webhookId=${id}`)).body!.records.map((record: { id: string; params: Record<string, unknown> }) => ({ id: record.id, ...record.params }));
    await expect.poll(async () => (await deliveries())[0]?.status, { timeout: 20_000 }).toBe('failed');
    const [failed] = await deliveries();
    expect(failed).toMatchObject({ eventType: 'webhook.test', attempts: 1, lastStatusCode: 404, webhookName: 'Ops chat' });

    const again = await admin.call('POST', `/admin/api/resources/WebhookDelivery/records/${failed!.id}/redeliver`);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    await expect.poll(async () => (await deliveries()).map((d: Record<string, unknown>) => d.status), { timeout: 20_000 }).toEqual(['delivered', 'failed']);
    const last = receiver.received.at(-1)!;
    expect(verifySignature(secret!, last.body, last.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(true);

    const edited = await admin.call('POST', `/admin/api/resources/Webhook/records/${id}/edit`, { name: 'Ops chat', url: `${receiver.url}/hooks`, 'eventTypes.0': 'pipeline.run.completed', businessId: '', enabled: 'false' });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect((await admin.call('GET', `/admin/api/resources/Webhook/records/${id}/show`)).body!.record.params).toMatchObject({ 'eventTypes.0': 'pipeline.run.completed', businessId: null, enabled: false });
    const audit = await app.db.pool.query(`SELECT resource, action FROM audit_log WHERE resource IN ('webhooks', 'webhookDeliveries') ORDER BY id`);
    expect(audit.rows.map((row) => `${row.resource} ${row.action}`)).toEqual(['webhooks create', 'webhooks send_test', 'webhookDeliveries redeliver', 'webhooks update']);
    expect((await admin.call('POST', `/admin/api/resources/Webhook/records/${id}/delete`)).status).toBe(200);
    expect(warnings.filter((w) => w.includes('[AdminJS]'))).toEqual([]);
  });

  it('a bad URL is refused on the form with what is wrong', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const res = await admin.call('POST', '/admin/api/resources/Webhook/actions/new', { name: 'x', url: 'not a url', 'eventTypes.0': 'pipeline.run.failed' });
    expect(JSON.stringify(res.body)).toMatch(/must be a full address/);
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM webhooks')).rows[0].n).toBe(0);
  });

  it('ops and managers neither see nor use them', async () => {
    for (const email of [t.users.opsA.email, t.users.managerA.email]) {
      const user = await adminClient(app.url, email);
      for (const path of ['Webhook/actions/list', 'WebhookDelivery/actions/list']) expect((await user.call('GET', `/admin/api/resources/${path}`)).status, `${email} ${path}`).toBe(403);
      const created = await user.call('POST', '/admin/api/resources/Webhook/actions/new', { name: 'x', url: `${receiver.url}/x`, 'eventTypes.0': 'pipeline.run.failed' });
      expect(created.status).toBe(403);
    }
    expect((await app.db.pool.query('SELECT count(*)::int AS n FROM webhooks')).rows[0].n).toBe(0);
  });
});
