import { Router } from 'express';
import { z } from 'zod';
import { assertCan } from '../core/auth/permissions.js';
import { getJob, jobKinds, jobStates, listJobs, retryJob, type JobQueue } from '../core/queue.js';
import { pageParam, perPageParam } from '../core/paging.js';
import { probeInput } from '../core/system/probe.js';
import { writeAudit } from '../core/auth/audit.js';
import { contextOf, handle, parse } from './http.js';

const listQuery = z.object({
  queue: z.string().max(200).optional(),
  state: z.enum(jobStates).optional(),
  kind: z.enum(jobKinds).optional(),
  page: pageParam.default(1),
  perPage: perPageParam.default(50),
});

export function jobsRouter(queue: JobQueue): Router {
  const router = Router();
  router.get(
    '/',
    handle(async (req, res) => {
      const query = parse(listQuery, req.query, 'query');
      const { rows, total } = await listJobs(contextOf(req), { queue: query.queue, state: query.state, kind: query.kind }, { skip: (query.page - 1) * query.perPage, take: query.perPage });
      res.json({ data: rows, meta: { total, page: query.page, perPage: query.perPage } });
    }),
  );
  router.get(
    '/:id',
    handle(async (req, res) => {
      res.json({ data: await getJob(contextOf(req), String(req.params.id)) });
    }),
  );
  router.post(
    '/:id/retry',
    handle(async (req, res) => {
      res.json({ data: await retryJob(contextOf(req), queue, String(req.params.id)) });
    }),
  );
  router.post(
    '/probe',
    handle(async (req, res) => {
      const ctx = contextOf(req);
      assertCan(ctx.user, 'jobs', 'retry');
      const input = parse(probeInput, req.body ?? {}, 'probe');
      const id = await queue.send('system.probe', input);
      await writeAudit(ctx, { resource: 'jobs', recordId: id, action: 'probe', after: input });
      res.status(202).json({ data: { id, queue: 'system.probe' } });
    }),
  );
  return router;
}
