import type { PageContext } from 'adminjs';
import { listDashboards } from '../core/warehouse/dashboards.js';
import { businessChoices, pageContext, type AdminDeps } from '../resources/context.js';

/** The dashboard the Metrics page shows (prisma/migrations/*_sales_dashboard). */
export const METRICS_DASHBOARD_SLUG = 'sales';

/** The Metrics page's starting data: the sales dashboard, when the caller's role is granted it. */
export function metricsPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = pageContext(deps, context, 'metrics', 'view', 'Your role may not view metrics.');
    const dashboards = (await listDashboards(ctx)).filter((dashboard) => dashboard.slug === METRICS_DASHBOARD_SLUG);
    return { businesses: await businessChoices(ctx), dashboards };
  };
}
