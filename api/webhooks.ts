import { Router } from 'express';
import { z } from 'zod';
import { pageParam, perPageParam } from '../core/paging.js';
import { createWebhook, deleteWebhook, deliveryStatuses, getDelivery, getWebhook, listDeliveries, listWebhooks, redeliver, sendTestEvent, updateWebhook } from '../core/notify/webhooks.js';
import { contextOf, handle, parse } from './http.js';

const page = z.object({ page: pageParam.default(1), perPage: perPageParam.default(50) });
const deliveriesQuery = page.extend({ webhook_id: z.string().max(100).optional(), status: z.enum(deliveryStatuses).optional(), event_type: z.string().max(100).optional() });
// The body's shape is checked here; its values (URL, event types) by core, which answers 422 with each problem.
const webhookBody = z.object({ name: z.unknown(), url: z.unknown(), event_types: z.unknown(), business_id: z.unknown(), enabled: z.unknown() }).partial().strict();

const toCore = (body: z.infer<typeof webhookBody>) =>
  Object.fromEntries(Object.entries({ name: body.name, url: body.url, eventTypes: body.event_types, businessId: body.business_id, enabled: body.enabled }).filter(([, value]) => value !== undefined));

/** Outbound webhooks and their deliveries (admins only; core checks and audits). The secret is in the creation's answer only. */
export function webhooksRouter(): Router {
  const router = Router();
  router.get(
    '/webhooks',
    handle(async (req, res) => {
      const query = parse(page, req.query, 'query');
      const { rows, total } = await listWebhooks(contextOf(req), { skip: (query.page - 1) * query.perPage, take: query.perPage });
      res.json({ data: rows, meta: { total, page: query.page, perPage: query.perPage } });
    }),
  );
  router.post(
    '/webhooks',
    handle(async (req, res) => {
      const { webhook, secret } = await createWebhook(contextOf(req), toCore(parse(webhookBody, req.body ?? {}, 'webhook')));
      res.status(201).json({ data: { ...webhook, secret } });
    }),
  );
  router.get(
    '/webhooks/:id',
    handle(async (req, res) => {
      res.json({ data: await getWebhook(contextOf(req), String(req.params.id)) });
    }),
  );
  router.patch(
    '/webhooks/:id',
    handle(async (req, res) => {
      res.json({ data: await updateWebhook(contextOf(req), String(req.params.id), toCore(parse(webhookBody, req.body ?? {}, 'webhook'))) });
    }),
  );
  router.delete(
    '/webhooks/:id',
    handle(async (req, res) => {
      await deleteWebhook(contextOf(req), String(req.params.id));
      res.status(204).end();
    }),
  );
  router.post(
    '/webhooks/:id/test',
    handle(async (req, res) => {
      res.status(202).json({ data: await sendTestEvent(contextOf(req), String(req.params.id)) });
    }),
  );
  router.get(
    '/webhook-deliveries',
    handle(async (req, res) => {
      const query = parse(deliveriesQuery, req.query, 'query');
      const { rows, total } = await listDeliveries(contextOf(req), { webhookId: query.webhook_id, status: query.status, eventType: query.event_type }, { skip: (query.page - 1) * query.perPage, take: query.perPage });
      res.json({ data: rows, meta: { total, page: query.page, perPage: query.perPage } });
    }),
  );
  router.get(
    '/webhook-deliveries/:id',
    handle(async (req, res) => {
      res.json({ data: await getDelivery(contextOf(req), String(req.params.id)) });
    }),
  );
  router.post(
    '/webhook-deliveries/:id/redeliver',
    handle(async (req, res) => {
      res.status(202).json({ data: await redeliver(contextOf(req), String(req.params.id)) });
    }),
  );
  return router;
}
