import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { sendInTransaction } from '../transactionalJobs.js';

/**
 * Outbound notifications: the product's one way of telling other systems that something happened. A
 * capability calls `notify` in the transaction that makes the thing happen; every enabled webhook subscribed
 * to the event gets a delivery, sent after the commit, signed, retried with backoff (./deliver.ts).
 */

/** The events a webhook may subscribe to. */
export const notificationEventTypes = ['ingest.alert.critical', 'pipeline.run.completed', 'pipeline.run.failed', 'tekmetric.sync.failed'] as const;
export type NotificationEventType = (typeof notificationEventTypes)[number];

/** The event an admin's "Send test" sends to one webhook, whatever it subscribes to. */
export const TEST_EVENT_TYPE = 'webhook.test';

export interface NotificationEvent {
  type: string;
  /** The business the event belongs to; null for the system's own events (only webhooks for all businesses get those). */
  businessId: string | null;
  payload: Record<string, unknown>;
}

/** The queue of delivery jobs: one job at a time per webhook (policy `stately`, keyed by webhook). */
export const NOTIFY_DELIVER_QUEUE = 'notify.deliver';

/** The JSON every delivery of an event carries, as sent and signed. */
export function eventBody(eventId: string, event: NotificationEvent, createdAt: Date): string {
  return JSON.stringify({ id: eventId, type: event.type, created_at: createdAt.toISOString(), business_id: event.businessId, data: event.payload });
}

/**
 * Queues one delivery per enabled webhook subscribed to the event (webhooks of its business and webhooks for
 * all businesses), in the caller's transaction: the deliveries and their jobs exist if and only if it
 * commits, and are sent after. Returns the number of deliveries queued.
 */
export async function notify(client: pg.ClientBase, event: NotificationEvent): Promise<number> {
  if (!(notificationEventTypes as readonly string[]).includes(event.type)) {
    throw new Error(`notify: unknown event type "${event.type}"; add it to notificationEventTypes (core/notify/index.ts) first.`);
  }
  const eventId = randomUUID();
  const body = eventBody(eventId, event, new Date());
  const queued = await client.query<{ webhook_id: string }>(
    `INSERT INTO webhook_deliveries (webhook_id, business_id, event_id, event_type, payload, body, next_attempt_at)
     SELECT id, $1, $2, $3, $4, $5, now() FROM webhooks
      WHERE enabled AND $3 = ANY (event_types) AND (business_id IS NULL OR business_id = $1)
     RETURNING webhook_id`,
    [event.businessId, eventId, event.type, event.payload, body],
  );
  for (const webhookId of new Set(queued.rows.map((row) => row.webhook_id))) await queueDeliveryJob(client, webhookId, new Date());
  return queued.rowCount ?? 0;
}

/**
 * Makes sure the webhook's delivery job runs no later than `at`, on the caller's connection (in its
 * transaction). The queue holds at most one waiting job per webhook: a send while one waits is a no-op,
 * except that a job waiting for a later retry is moved forward. So a dead receiver costs one waiting job,
 * however many events pile up for it.
 */
export async function queueDeliveryJob(client: pg.ClientBase, webhookId: string, at: Date): Promise<void> {
  const id = await sendInTransaction(client, NOTIFY_DELIVER_QUEUE, { webhookId }, { singletonKey: webhookId, startAfter: at });
  if (id !== null) return;
  await client.query(`UPDATE pgboss.job SET start_after = $3 WHERE name = $1 AND singleton_key = $2 AND state = 'created' AND start_after > $3`, [NOTIFY_DELIVER_QUEUE, webhookId, at]);
}
