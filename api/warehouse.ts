import { Router } from 'express';
import { z } from 'zod';
import type { JobQueue } from '../core/queue.js';
import { forbidden } from '../core/errors.js';
import { requestViewRefresh, viewFreshness } from '../core/warehouse/views.js';
import { contextOf, handle, parse } from './http.js';

const refreshBody = z.object({ views: z.array(z.string()).max(100).optional() });

/** The warehouse views for administrators: each view's freshness and last attempt, and "refresh now". */
export function warehouseRouter(queue: Pick<JobQueue, 'send'>): Router {
  const router = Router();
  router.get(
    '/views',
    handle(async (req, res) => {
      const ctx = contextOf(req);
      // Refresh history speaks of every business's data at once: administrators only.
      if (ctx.scope.kind !== 'all') throw forbidden('Only administrators see the warehouse views’ refresh state.');
      res.json({ data: await viewFreshness(ctx) });
    }),
  );
  router.post(
    '/refresh',
    handle(async (req, res) => {
      const body = parse(refreshBody, req.body ?? {}, 'body');
      res.status(202).json({ data: await requestViewRefresh(contextOf(req), queue, body.views) });
    }),
  );
  return router;
}
