import { Router } from 'express';
import { z } from 'zod';
import { dashboardData, getDashboard, listDashboards } from '../core/warehouse/dashboards.js';
import { comparisons, groupings, rangeNames } from '../core/warehouse/ranges.js';
import { contextOf, handle, parse } from './http.js';

const dataQuery = z.object({
  business_id: z.string().uuid().optional(),
  widget_id: z.string().uuid().optional(),
  // The dashboard's filters (only those it offers): a range (custom: from and to), the grouping of date axes, a product, what KPIs are compared with.
  range: z.enum(rangeNames).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  group_by: z.enum(groupings).optional(),
  product_id: z.string().uuid().optional(),
  compare: z.enum(comparisons).optional(),
});

/** Dashboards under /api: the list, one dashboard's widget specs, and their data (GET /api/dashboard/:id/data). */
export function dashboardsRouter(): Router {
  const router = Router();
  router.get('/dashboards', handle(async (req, res) => res.json({ data: await listDashboards(contextOf(req)) })));
  router.get('/dashboard/:id', handle(async (req, res) => res.json({ data: await getDashboard(contextOf(req), String(req.params.id)) })));
  router.get(
    '/dashboard/:id/data',
    handle(async (req, res) => {
      const query = parse(dataQuery, req.query, 'query');
      const filters = { range: query.range, from: query.from, to: query.to, groupBy: query.group_by, productId: query.product_id, compare: query.compare };
      res.json({ data: await dashboardData(contextOf(req), String(req.params.id), { businessId: query.business_id, widgetId: query.widget_id, filters }) });
    }),
  );
  return router;
}
