import { Router } from 'express';
import { z } from 'zod';
import { pageParam, perPageParam } from '../core/paging.js';
import { runStatuses } from '../core/pipelines/lifecycle.js';
import { getRun, listFailedFileJobs, listRuns, pipelineMetrics, retryFailedFiles, runOutputFile, storeTracking } from '../core/pipelines/runs.js';
import type { JobQueue } from '../core/queue.js';
import { listSources, pollSourceNow } from '../core/pipelines/sourcesAdmin.js';
import { todayIn } from '../core/warehouse/ranges.js';
import { contextOf, handle, parse } from './http.js';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD');

const runsQuery = z.object({
  pipeline: z.string().max(63).optional(),
  status: z.enum(runStatuses).optional(),
  from: day.optional(),
  to: day.optional(),
  businessId: z.string().uuid().optional(),
  page: pageParam.default(1),
  perPage: perPageParam.default(50),
});

/** The admin API of file pipelines: monitoring, runs with their file jobs, per-store tracking, retry. */
export function pipelinesRouter(queue: JobQueue, dataDir: string): Router {
  const router = Router();
  router.get(
    '/',
    handle(async (req, res) => {
      const query = parse(z.object({ date: day.optional() }), req.query, 'query');
      res.json({ data: await pipelineMetrics(contextOf(req), query.date ?? todayIn('UTC')) });
    }),
  );
  router.get(
    '/runs',
    handle(async (req, res) => {
      const query = parse(runsQuery, req.query, 'query');
      const { rows, total } = await listRuns(contextOf(req), { pipelineName: query.pipeline, status: query.status, from: query.from, to: query.to, businessId: query.businessId }, { skip: (query.page - 1) * query.perPage, take: query.perPage });
      res.json({ data: rows, meta: { total, page: query.page, perPage: query.perPage } });
    }),
  );
  router.get(
    '/runs/:id',
    handle(async (req, res) => {
      res.json({ data: await getRun(contextOf(req), String(req.params.id)) });
    }),
  );
  router.get(
    '/runs/:id/outputs/:name',
    handle(async (req, res) => {
      const output = await runOutputFile(contextOf(req), String(req.params.id), String(req.params.name));
      res.type('text/csv').attachment(output.fileName).sendFile(output.path);
    }),
  );
  router.post(
    '/runs/:id/retry',
    handle(async (req, res) => {
      const result = await retryFailedFiles(contextOf(req), queue, { runId: String(req.params.id) });
      res.status(202).json({ data: { run: result.run, requeued: result.requeued.map((job) => job.id) } });
    }),
  );
  router.get(
    '/stores',
    handle(async (req, res) => {
      const query = parse(z.object({ pipeline: z.string().max(63), date: day, businessId: z.string().uuid() }), req.query, 'query');
      res.json({ data: await storeTracking(contextOf(req), { businessId: query.businessId, pipelineName: query.pipeline, date: query.date }) });
    }),
  );
  router.get(
    '/failed-jobs',
    handle(async (req, res) => {
      const query = parse(z.object({ businessId: z.string().uuid().optional() }), req.query, 'query');
      res.json({ data: await listFailedFileJobs(contextOf(req), { businessId: query.businessId }) });
    }),
  );
  router.get(
    '/sources',
    handle(async (req, res) => {
      res.json({ data: await listSources(contextOf(req)) });
    }),
  );
  router.post(
    '/sources/:id/poll',
    handle(async (req, res) => {
      const result = await pollSourceNow(contextOf(req), queue, String(req.params.id), dataDir);
      res.status(202).json({ data: { listed: result.listed, taken: result.taken, unrouted: result.unrouted, queued: result.queued.length, runs: result.runs.map((run) => run.id) } });
    }),
  );
  return router;
}
