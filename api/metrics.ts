import { Router } from 'express';
import { z } from 'zod';
import { kpiSummary, topProducts, trend } from '../core/warehouse/metrics.js';
import { comparisons, groupings, rangeNames } from '../core/warehouse/ranges.js';
import { contextOf, handle, parse } from './http.js';

const query = z.object({
  range: z.enum(rangeNames).default('last_30_days'),
  from: z.string().optional(),
  to: z.string().optional(),
  group_by: z.enum(groupings).default('day'),
  compare: z.enum(comparisons).default('previous_period'),
  product_id: z.string().uuid().optional(),
  business_id: z.string().uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

function metricsQuery(input: unknown) {
  const q = parse(query, input, 'query');
  return { range: q.range, from: q.from, to: q.to, groupBy: q.group_by, compare: q.compare, productId: q.product_id, businessId: q.business_id, limit: q.limit };
}

/** KPI JSON for the Metrics page: GET /dashboard/metrics/kpi, /top-products, /trend. */
export function metricsRouter(): Router {
  const router = Router();
  router.get('/metrics/kpi', handle(async (req, res) => res.json(await kpiSummary(contextOf(req), metricsQuery(req.query)))));
  router.get('/metrics/top-products', handle(async (req, res) => res.json(await topProducts(contextOf(req), metricsQuery(req.query)))));
  router.get('/metrics/trend', handle(async (req, res) => res.json(await trend(contextOf(req), metricsQuery(req.query)))));
  return router;
}
