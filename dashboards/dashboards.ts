import type { PageContext } from 'adminjs';
import { listDashboards } from '../core/warehouse/dashboards.js';
import { businessChoices, pageContext, type AdminDeps } from '../resources/context.js';

/** The Dashboards page's starting data: the dashboards the caller may open (and, for admins, the businesses to look at). */
export function dashboardsPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = pageContext(deps, context, 'dashboards', 'view', 'Your role may not view dashboards.');
    return { businesses: await businessChoices(ctx), dashboards: await listDashboards(ctx) };
  };
}
