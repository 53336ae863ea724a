import { Router } from 'express';
import { z } from 'zod';
import type { JobQueue } from '../core/queue.js';
import { requestViewRefresh, warehouseViewStates } from '../core/warehouse/views.js';
import { contextOf, handle, parse } from './http.js';

const refreshBody = z.object({ views: z.array(z.string()).max(100).optional() });

/** The warehouse views for administrators: each view's freshness and last attempt, and "refresh now". */
export function warehouseRouter(queue: Pick<JobQueue, 'send'>): Router {
  const router = Router();
  router.get(
    '/views',
    handle(async (req, res) => {
      res.json({ data: await warehouseViewStates(contextOf(req)) });
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
