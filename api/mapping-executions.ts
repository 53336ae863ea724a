import { Router } from 'express';
import { z } from 'zod';
import { getExecution, listRejects, rejectsCsv, requestExecution } from '../core/mapping/execute.js';
import type { JobQueue } from '../core/queue.js';
import { contextOf, handle, parse } from './http.js';

const executeBody = z.object({ data_source_id: z.string().min(1) });

/** Executing an approved mapping (mounted under /api/mapping): start, follow, download the rejects. */
export function mappingExecutionsRouter(jobs: JobQueue): Router {
  const router = Router();
  router.post(
    '/execute',
    handle(async (req, res) => {
      const body = parse(executeBody, req.body, 'body');
      res.status(202).json(await requestExecution(contextOf(req), jobs, { dataSourceId: body.data_source_id }));
    }),
  );
  router.get(
    '/executions/:id',
    handle(async (req, res) => {
      res.json(await getExecution(contextOf(req), req.params.id!));
    }),
  );
  router.get(
    '/executions/:id/rejects.csv',
    handle(async (req, res) => {
      const id = req.params.id!;
      const csv = rejectsCsv(await listRejects(contextOf(req), id));
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="rejects-${id}.csv"`);
      res.send(csv);
    }),
  );
  return router;
}
