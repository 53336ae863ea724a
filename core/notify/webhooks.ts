import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { listWindow } from '../paging.js';
import { sealSecret } from '../sealedSecrets.js';
import { eventBody, notificationEventTypes, queueDeliveryJob, TEST_EVENT_TYPE } from './index.js';
import { generateWebhookSecret } from './signature.js';

/** Webhooks and their deliveries, for admins: every change audited, the signing secret shown once. */

const url = z
  .string()
  .trim()
  .max(2000)
  .url('must be a full address, such as https://example.com/hooks/backhouse')
  // Runs after a failed `url` check too (zod goes on past it): an address that does not parse is left to that check.
  .refine((value) => !URL.canParse(value) || /^https?:$/.test(new URL(value).protocol), 'must start with https:// (or http://)');

export const webhookInput = z.object({
  name: z.string().trim().min(1).max(200),
  url,
  eventTypes: z.array(z.enum(notificationEventTypes)).min(1, 'name at least one event type').transform((types) => [...new Set(types)]),
  /** The business whose events it receives; null for every business's (and the system's). */
  businessId: z.string().uuid().nullable().default(null),
  enabled: z.boolean().default(true),
});
export type WebhookInput = z.input<typeof webhookInput>;

export const webhookPatch = webhookInput.partial();
export type WebhookPatch = z.input<typeof webhookPatch>;

export interface Webhook {
  id: string;
  businessId: string | null;
  name: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const webhookColumns = `id::text, business_id::text AS "businessId", name, url, event_types AS "eventTypes", enabled, created_by::text AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt"`;

export const deliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  webhookName: string;
  businessId: string | null;
  eventId: string;
  eventType: string;
  payload: unknown;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  redeliveryOf: string | null;
  createdAt: Date;
}

const deliveryColumns = `d.id::text, d.webhook_id::text AS "webhookId", w.name AS "webhookName", d.business_id::text AS "businessId", d.event_id::text AS "eventId",
  d.event_type AS "eventType", d.payload, d.status, d.attempts, d.last_status_code AS "lastStatusCode", d.last_error AS "lastError", d.last_attempt_at AS "lastAttemptAt",
  d.next_attempt_at AS "nextAttemptAt", d.delivered_at AS "deliveredAt", d.redelivery_of::text AS "redeliveryOf", d.created_at AS "createdAt"`;

function checked<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new AppError(
    'validation_failed',
    `The webhook is not valid: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'input'} ${issue.message}`).join('; ')}.`,
    parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), reason: issue.message })),
  );
}

const isUuid = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

/** Creates a webhook; its signing secret is returned this once and kept only sealed. */
export async function createWebhook(ctx: Context, input: WebhookInput | Record<string, unknown>): Promise<{ webhook: Webhook; secret: string }> {
  assertCan(ctx.user, 'webhooks', 'new');
  const values = checked(webhookInput, input);
  const secret = generateWebhookSecret();
  const webhook = await withTransaction(ctx.db.pool, async (tx) => {
    const created = await tx.query<Webhook>(
      `INSERT INTO webhooks (business_id, name, url, event_types, secret_sealed, enabled, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${webhookColumns}`,
      [values.businessId, values.name, values.url, values.eventTypes, sealSecret(secret), values.enabled, ctx.user.kind === 'user' ? ctx.user.id : null],
    ).catch(businessMissing);
    const row = created.rows[0]!;
    await writeAudit(ctx, { resource: 'webhooks', recordId: row.id, action: 'create', businessId: row.businessId, after: row }, tx);
    return row;
  });
  return { webhook, secret };
}

export async function updateWebhook(ctx: Context, id: string, patch: WebhookPatch | Record<string, unknown>): Promise<Webhook> {
  assertCan(ctx.user, 'webhooks', 'edit');
  const values = checked(webhookPatch, patch);
  return withTransaction(ctx.db.pool, async (tx) => {
    const before = await webhookFor(tx, id, true);
    const after = { ...before, ...Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) } as Webhook;
    const updated = await tx.query<Webhook>(
      `UPDATE webhooks SET name = $2, url = $3, event_types = $4, business_id = $5, enabled = $6, updated_at = now() WHERE id = $1 RETURNING ${webhookColumns}`,
      [id, after.name, after.url, after.eventTypes, after.businessId, after.enabled],
    ).catch(businessMissing);
    const row = updated.rows[0]!;
    await writeAudit(ctx, { resource: 'webhooks', recordId: id, action: 'update', businessId: row.businessId, before, after: row }, tx);
    // Enabled again: its pending deliveries go out now rather than at the next sweep.
    if (!before.enabled && row.enabled) await queueDeliveryJob(tx, id, new Date());
    return row;
  });
}

/** Deletes a webhook with its deliveries. */
export async function deleteWebhook(ctx: Context, id: string): Promise<void> {
  assertCan(ctx.user, 'webhooks', 'delete');
  await withTransaction(ctx.db.pool, async (tx) => {
    const before = await webhookFor(tx, id, true);
    await tx.query(`DELETE FROM webhooks WHERE id = $1`, [id]);
    await writeAudit(ctx, { resource: 'webhooks', recordId: id, action: 'delete', businessId: before.businessId, before }, tx);
  });
}

export async function getWebhook(ctx: Context, id: string): Promise<Webhook> {
  assertCan(ctx.user, 'webhooks', 'show');
  return webhookFor(ctx.db.pool, id, false);
}

export async function listWebhooks(ctx: Context, page: { skip: number; take: number }): Promise<{ rows: Webhook[]; total: number }> {
  assertCan(ctx.user, 'webhooks', 'list');
  const { skip, take } = listWindow(page);
  const [rows, total] = await Promise.all([
    ctx.db.pool.query<Webhook>(`SELECT ${webhookColumns} FROM webhooks ORDER BY created_at DESC, id OFFSET ${skip} LIMIT ${take}`),
    ctx.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhooks`),
  ]);
  return { rows: rows.rows, total: total.rows[0]?.n ?? 0 };
}

export interface DeliveryFilter {
  webhookId?: string;
  status?: DeliveryStatus;
  eventType?: string;
}

/** Deliveries newest first, with their status, attempts and last answer. */
export async function listDeliveries(ctx: Context, filter: DeliveryFilter, page: { skip: number; take: number }): Promise<{ rows: WebhookDelivery[]; total: number }> {
  assertCan(ctx.user, 'webhookDeliveries', 'list');
  const { skip, take } = listWindow(page);
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.webhookId !== undefined) {
    if (!isUuid(filter.webhookId)) return { rows: [], total: 0 };
    params.push(filter.webhookId);
    clauses.push(`d.webhook_id = $${params.length}`);
  }
  if (filter.status) {
    params.push(filter.status);
    clauses.push(`d.status = $${params.length}`);
  }
  if (filter.eventType) {
    params.push(filter.eventType);
    clauses.push(`d.event_type = $${params.length}`);
  }
  const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  const [rows, total] = await Promise.all([
    ctx.db.pool.query<WebhookDelivery>(`SELECT ${deliveryColumns} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id ${where} ORDER BY d.id DESC OFFSET ${skip} LIMIT ${take}`, params),
    ctx.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_deliveries d ${where}`, params),
  ]);
  return { rows: rows.rows, total: total.rows[0]?.n ?? 0 };
}

export async function getDelivery(ctx: Context, id: string): Promise<WebhookDelivery> {
  assertCan(ctx.user, 'webhookDeliveries', 'show');
  return deliveryFor(ctx.db.pool, id);
}

/** Sends a `webhook.test` event to this webhook alone, whatever it subscribes to (and even while disabled), to check the receiver. */
export async function sendTestEvent(ctx: Context, webhookId: string): Promise<WebhookDelivery> {
  assertCan(ctx.user, 'webhooks', 'retry');
  return withTransaction(ctx.db.pool, async (tx) => {
    const webhook = await webhookFor(tx, webhookId, false);
    const eventId = randomUUID();
    const event = { type: TEST_EVENT_TYPE, businessId: webhook.businessId, payload: { message: 'A test event from Backhouse: the webhook works when this arrives with a valid signature.', webhook_id: webhook.id, sent_by: ctx.user.kind === 'user' ? ctx.user.email : ctx.user.name } };
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (webhook_id, business_id, event_id, event_type, payload, body, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id::text`,
      [webhook.id, webhook.businessId, eventId, event.type, event.payload, eventBody(eventId, event, new Date())],
    );
    const deliveryId = inserted.rows[0]!.id;
    await queueDeliveryJob(tx, webhook.id, new Date());
    await writeAudit(ctx, { resource: 'webhooks', recordId: webhook.id, action: 'send_test', businessId: webhook.businessId, after: { delivery: deliveryId } }, tx);
    return deliveryFor(tx, deliveryId);
  });
}

/** Sends a delivery's event again, as a new delivery with the same event id and body (receivers may deduplicate by the event id). */
export async function redeliver(ctx: Context, deliveryId: string): Promise<WebhookDelivery> {
  assertCan(ctx.user, 'webhookDeliveries', 'retry');
  return withTransaction(ctx.db.pool, async (tx) => {
    const original = await deliveryFor(tx, deliveryId);
    if (original.status === 'pending') throw new AppError('conflict', `Delivery ${deliveryId} is still being sent (attempt ${original.attempts + 1} is due ${original.nextAttemptAt?.toISOString() ?? 'now'}); redeliver it once it has been delivered or has failed.`);
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (webhook_id, business_id, event_id, event_type, payload, body, next_attempt_at, redelivery_of)
       SELECT webhook_id, business_id, event_id, event_type, payload, body, now(), id FROM webhook_deliveries WHERE id = $1 RETURNING id::text`,
      [deliveryId],
    );
    const id = inserted.rows[0]!.id;
    await queueDeliveryJob(tx, original.webhookId, new Date());
    await writeAudit(ctx, { resource: 'webhookDeliveries', recordId: deliveryId, action: 'redeliver', businessId: original.businessId, after: { delivery: id } }, tx);
    return deliveryFor(tx, id);
  });
}

type Queryable = Pick<import('pg').ClientBase, 'query'>;

async function webhookFor(db: Queryable, id: string, forUpdate: boolean): Promise<Webhook> {
  const row = isUuid(id) ? (await db.query<Webhook>(`SELECT ${webhookColumns} FROM webhooks WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id])).rows[0] : undefined;
  if (!row) throw new AppError('not_found', `Webhook ${id} was not found.`);
  return row;
}

async function deliveryFor(db: Queryable, id: string): Promise<WebhookDelivery> {
  const row = /^\d{1,18}$/.test(id) ? (await db.query<WebhookDelivery>(`SELECT ${deliveryColumns} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1`, [id])).rows[0] : undefined;
  if (!row) throw new AppError('not_found', `Webhook delivery ${id} was not found.`);
  return row;
}

/** A business id that names no business (the foreign key) as the person's error, not a 500. */
function businessMissing(error: unknown): never {
  if ((error as { code?: string; constraint?: string }).code === '23503') throw new AppError('validation_failed', 'The business the webhook is for does not exist.', [{ field: 'businessId', reason: 'names no business' }]);
  throw error;
}
