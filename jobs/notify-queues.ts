import { z } from 'zod';
import { deliverDueWebhooks, deliverySettings, queueDueDeliveries } from '../core/notify/deliver.js';
import { NOTIFY_DELIVER_QUEUE } from '../core/notify/index.js';
import type { QueueDefinition } from './queues.js';

const deliverJob = z.object({ webhookId: z.string().uuid() });

/** Outbound notifications (core/notify): one delivery job per webhook at a time, and a sweep for lost ones. */
export const notifyQueues: QueueDefinition[] = [
  {
    // Sends one webhook's due deliveries. `stately` keyed by webhook: one runs and one waits per webhook,
    // however many events pile up for it; the concurrency lets several webhooks be served side by side.
    name: NOTIFY_DELIVER_QUEUE,
    options: { retryLimit: 5, retryDelay: 10, retryBackoff: true, expireInSeconds: 15 * 60, policy: 'stately' },
    concurrency: (config) => config.WEBHOOK_CONCURRENCY,
    handle: async (ctx, job, config) => deliverDueWebhooks(ctx, deliverJob.parse(job.data).webhookId, deliverySettings(config)),
  },
  {
    name: 'notify.sweep',
    options: { retryLimit: 1, retryDelay: 30, policy: 'singleton' },
    schedule: '* * * * *',
    handle: async (ctx) => queueDueDeliveries(ctx),
  },
];
