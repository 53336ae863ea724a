import type { PageContext } from 'adminjs';
import { ForbiddenError } from 'adminjs';
import { can } from '../core/auth/permissions.js';
import { listRecords } from '../core/records/service.js';
import { coreContext, type AdminDeps } from '../resources/context.js';

/** The Metrics page's starting data. Pages have no access option in AdminJS: the handler checks. */
export function metricsPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = coreContext(deps, context);
    if (!can(ctx.user, 'metrics', 'view')) throw new ForbiddenError('Your role may not view metrics.');
    const businesses = ctx.scope.kind === 'all' ? (await listRecords(ctx, 'businesses', { orderBy: { name: 'asc' }, take: 500 })).rows.map((b) => ({ id: b.id as string, name: b.name as string })) : null;
    return { businesses, canSeeFeeds: can(ctx.user, 'feeds', 'list') };
  };
}
