import type { PageContext } from 'adminjs';
import { ForbiddenError } from 'adminjs';
import { can } from '../core/auth/permissions.js';
import { listRecords } from '../core/records/service.js';
import { listDashboards } from '../core/warehouse/dashboards.js';
import { coreContext, type AdminDeps } from '../resources/context.js';

/** The Dashboards page's starting data: the dashboards the caller may open (and, for admins, the businesses to look at). */
export function dashboardsPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = coreContext(deps, context);
    if (!can(ctx.user, 'dashboards', 'view')) throw new ForbiddenError('Your role may not view dashboards.');
    const businesses = ctx.scope.kind === 'all' ? (await listRecords(ctx, 'businesses', { orderBy: { name: 'asc' }, take: 500 })).rows.map((b) => ({ id: b.id as string, name: b.name as string })) : null;
    return { businesses, dashboards: await listDashboards(ctx) };
  };
}
