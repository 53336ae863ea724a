import express, { Router } from 'express';
import { AppError } from '../core/errors.js';
import type { JobQueue } from '../core/queue.js';
import { authRouter, identifyCaller, userSessionsRouter, type AuthDeps } from './auth.js';
import { contextOf, errorMiddleware, handle, jsonBodies, wellFormedText } from './http.js';
import { dashboardsRouter } from './dashboards.js';
import { jobsRouter } from './jobs.js';
import { pipelinesRouter } from './pipelines.js';
import { mappingRouter } from './mapping.js';
import { mappingExecutionsRouter } from './mapping-executions.js';
import { feedsRouter } from './feeds.js';
import { catalogRouter } from './catalog.js';
import { metricsRouter } from './metrics.js';
import type { FeedSettings } from '../core/feeds/settings.js';
import { recordsRouter } from './records.js';
import { warehouseRouter } from './warehouse.js';
import { ingestRouter } from './ingest.js';
import { silverRouter } from './silver.js';
import { tekmetricConnectionsRouter, tekmetricMetricsRouter, tekmetricPayRatesRouter, tekmetricSyncRouter } from './tekmetric.js';
import { webhooksRouter } from './webhooks.js';
import { checkHealth } from '../core/system/health.js';
import { DATABASE_RETRY_AFTER_SECONDS } from '../core/db/availability.js';

export interface ApiDeps extends AuthDeps {
  jobs: JobQueue;
}

/**
 * The data-feed and metrics endpoints under /dashboard (the paths the source documents give them),
 * with the same authentication and error shape as /api.
 */
export function dashboardRouter(deps: ApiDeps & { settings: FeedSettings }): Router {
  const router = Router();
  router.use(jsonBodies, express.json({ limit: '1mb' }), wellFormedText);
  router.use(identifyCaller(deps));
  router.use(feedsRouter(deps));
  router.use(catalogRouter());
  router.use(metricsRouter());
  router.use(
    handle(async (req) => {
      throw new AppError('not_found', `There is no endpoint ${req.method} ${req.originalUrl}.`);
    }),
  );
  router.use(errorMiddleware);
  return router;
}

/** Everything under /api. JSON in and out; one error shape. */
export function apiRouter(deps: ApiDeps): Router {
  const router = Router();
  // Point-of-sale devices: their own keys, body limit, CORS and rate, before the API's parser and callers.
  router.use('/ingest', ingestRouter(deps));
  router.use(jsonBodies, express.json({ limit: '1mb' }), wellFormedText);
  router.get(
    '/healthz',
    handle(async (_req, res) => {
      const health = await checkHealth(deps.db, deps.jobs);
      if (health.status !== 'ok') res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      res.status(health.status === 'ok' ? 200 : 503).json(health);
    }),
  );
  router.use('/auth', authRouter(deps));
  router.use(identifyCaller(deps));
  router.get(
    '/me',
    handle(async (req, res) => {
      const ctx = contextOf(req);
      res.json({ data: { user: ctx.user, scope: ctx.scope } });
    }),
  );
  router.use('/products', recordsRouter('products'));
  router.use('/businesses', recordsRouter('businesses'));
  router.use('/shops', recordsRouter('shops'));
  router.use('/users', userSessionsRouter(), recordsRouter('users'));
  router.use('/audit-log', recordsRouter('auditLog', { readOnly: true }));
  router.use('/jobs', jobsRouter(deps.jobs));
  router.use(mappingRouter(deps));
  router.use('/mapping', mappingExecutionsRouter(deps.jobs));
  router.use(dashboardsRouter());
  router.use('/warehouse', warehouseRouter(deps.jobs));
  router.use('/silver', silverRouter());
  router.use('/sync', tekmetricSyncRouter(deps.jobs));
  router.use('/tekmetric/metrics', tekmetricMetricsRouter());
  router.use('/tekmetric/connections', tekmetricConnectionsRouter());
  router.use('/tekmetric', tekmetricPayRatesRouter());
  router.use('/pipelines', pipelinesRouter(deps.jobs, deps.config.PIPELINE_DATA_DIR));
  router.use(webhooksRouter());
  router.use(
    handle(async (req) => {
      throw new AppError('not_found', `There is no endpoint ${req.method} ${req.originalUrl}.`);
    }),
  );
  router.use(errorMiddleware);
  return router;
}
