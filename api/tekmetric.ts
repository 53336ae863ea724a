import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import type { JobQueue } from '../core/queue.js';
import { createConnection } from '../core/tekmetric/connections.js';
import { setShopDefaultPayRate, setTechnicianPayRate } from '../core/tekmetric/pay-rates.js';
import { listDailyShopMetrics, listSyncStatus, listTechDailyMetrics, metricsRange } from '../core/tekmetric/reports.js';
import { boards, getSyncRun, requestSyncRun, type RunParams, type SyncRunView } from '../core/tekmetric/sync/runs.js';
import type { SyncEntity } from '../core/tekmetric/sync/streams.js';
import { contextOf, handle, parse } from './http.js';

/** The seed's sync endpoints, as POST since they change state; each answers 202 with the run to follow. */
const syncBody = z.object({
  shop_id: z.coerce.number().int().positive(),
  days_back: z.coerce.number().int().min(1).max(3650).optional(),
  board: z
    .string()
    .transform((value) => value.toUpperCase())
    .pipe(z.enum(boards))
    .optional(),
  limit: z.coerce.number().int().min(1).max(1_000_000).optional(),
  store_raw: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
});

const backfillBody = z.object({
  shop_id: z.coerce.number().int().positive(),
  days_back: z.coerce.number().int().min(1).max(3650).default(90),
  store_raw: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
});

const entityPaths: Record<string, SyncEntity> = { employees: 'employees', customers: 'customers', vehicles: 'vehicles', 'repair-orders': 'repair_orders', appointments: 'appointments' };

const accepted = (run: SyncRunView) => ({ data: { sync_run_id: run.id, status: run.status, kind: run.kind, shop_id: run.shopId, links: { self: `/api/sync/runs/${run.id}` } } });

export function tekmetricSyncRouter(queue: JobQueue): Router {
  const router = Router();
  router.post(
    '/full-backfill',
    handle(async (req, res) => {
      const body = parse(backfillBody, { ...req.query, ...(req.body ?? {}) }, 'body');
      const run = await requestSyncRun(contextOf(req), queue, { kind: 'backfill', shopId: body.shop_id, params: { daysBack: body.days_back, storeRaw: body.store_raw } });
      res.status(202).json(accepted(run));
    }),
  );
  router.post(
    '/repair-orders/:roId',
    handle(async (req, res) => {
      const roId = parse(z.coerce.number().int().positive(), req.params.roId, 'repair order id');
      const body = parse(syncBody.pick({ shop_id: true, store_raw: true }), { ...req.query, ...(req.body ?? {}) }, 'body');
      const run = await requestSyncRun(contextOf(req), queue, { kind: 'repair_order', shopId: body.shop_id, params: { repairOrderId: roId, storeRaw: body.store_raw } });
      res.status(202).json(accepted(run));
    }),
  );
  router.post(
    '/:entity',
    handle(async (req, res) => {
      const entity = entityPaths[String(req.params.entity)];
      if (!entity) throw new AppError('not_found', `There is no sync of "${String(req.params.entity)}": sync ${Object.keys(entityPaths).join(', ')}.`);
      const body = parse(syncBody, { ...req.query, ...(req.body ?? {}) }, 'body');
      const params: RunParams = { entities: [entity], daysBack: body.days_back, board: entity === 'repair_orders' ? body.board : undefined, limit: body.limit, storeRaw: body.store_raw };
      const run = await requestSyncRun(contextOf(req), queue, { kind: 'entities', shopId: body.shop_id, params });
      res.status(202).json(accepted(run));
    }),
  );
  router.get(
    '/runs/:id',
    handle(async (req, res) => {
      res.json({ data: await getSyncRun(contextOf(req), String(req.params.id)) });
    }),
  );
  router.get(
    '/status',
    handle(async (req, res) => {
      const query = parse(z.object({ shop_id: z.coerce.number().int().positive().optional(), business_id: z.string().uuid().optional() }), req.query, 'query');
      res.json({ data: await listSyncStatus(contextOf(req), { shopId: query.shop_id, businessId: query.business_id }) });
    }),
  );
  return router;
}

const connectionBody = z.object({
  name: z.string(),
  base_url: z.string(),
  client_id: z.string(),
  client_secret: z.string(),
  requests_per_minute: z.number().int().optional(),
  sync_interval_minutes: z.number().int().optional(),
  business_id: z.string().uuid().optional(),
  timezone: z.string().min(1).max(100).optional(),
});

/** Connections (admins): store one with its own credentials (checked, secret sealed) and link its shops. */
export function tekmetricConnectionsRouter(): Router {
  const router = Router();
  router.post(
    '/',
    handle(async (req, res) => {
      const body = parse(connectionBody, req.body ?? {}, 'body');
      const { connection, shops } = await createConnection(
        contextOf(req),
        { name: body.name, baseUrl: body.base_url, clientId: body.client_id, clientSecret: body.client_secret, requestsPerMinute: body.requests_per_minute, syncIntervalMinutes: body.sync_interval_minutes },
        { businessId: body.business_id, timezone: body.timezone },
      );
      const { clientSecretSealed: _sealed, ...shown } = connection;
      res.status(201).json({ data: { ...shown, shops } });
    }),
  );
  return router;
}

const rangeQuery = z.object({ shop_id: z.string().optional(), business_id: z.string().optional(), from: z.string(), to: z.string() }).transform((q) => ({ shopId: q.shop_id, businessId: q.business_id, from: q.from, to: q.to }));

/** Phase 4's metrics by range, scoped like the dashboard (row-level security as the reporting role). */
export function tekmetricMetricsRouter(): Router {
  const router = Router();
  router.get(
    '/daily',
    handle(async (req, res) => {
      const range = parse(metricsRange, parse(rangeQuery, req.query, 'query'), 'query');
      res.json({ data: await listDailyShopMetrics(contextOf(req), range) });
    }),
  );
  router.get(
    '/technicians',
    handle(async (req, res) => {
      const range = parse(metricsRange, parse(rangeQuery, req.query, 'query'), 'query');
      res.json({ data: await listTechDailyMetrics(contextOf(req), range) });
    }),
  );
  return router;
}

const payRateBody = z.object({ pay_rate_cents: z.number().int().nullable() });

/**
 * Pay rates (ops and admins of the shop): a technician's own rate (null removes it) and the shop's default.
 * Each edit recomputes the past days' technician metrics and gross profit it changes; answers those days.
 */
export function tekmetricPayRatesRouter(): Router {
  const router = Router();
  const id = (value: unknown, what: string) => parse(z.coerce.number().int().positive(), value, what);
  router.put(
    '/shops/:shopId/employees/:employeeId/pay-rate',
    handle(async (req, res) => {
      const body = parse(payRateBody, req.body ?? {}, 'body');
      res.json({ data: await setTechnicianPayRate(contextOf(req), id(req.params.shopId, 'shop id'), id(req.params.employeeId, 'employee id'), body.pay_rate_cents) });
    }),
  );
  router.put(
    '/shops/:shopId/default-pay-rate',
    handle(async (req, res) => {
      const body = parse(payRateBody.extend({ pay_rate_cents: z.number().int() }), req.body ?? {}, 'body');
      res.json({ data: await setShopDefaultPayRate(contextOf(req), id(req.params.shopId, 'shop id'), body.pay_rate_cents) });
    }),
  );
  return router;
}
