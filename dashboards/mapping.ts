import type { PageContext } from 'adminjs';
import { ForbiddenError } from 'adminjs';
import { can } from '../core/auth/permissions.js';
import { mappingCatalog } from '../core/mapping/mappings.js';
import { listRecords } from '../core/records/service.js';
import { coreContext, type AdminDeps } from '../resources/context.js';

/** The Data Sources page's starting data: the catalog to map onto, and what the caller's role may do (the API checks again). */
export function mappingPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = coreContext(deps, context);
    if (!can(ctx.user, 'dataSources', 'list')) throw new ForbiddenError('Your role may not see data sources.');
    const businesses = ctx.scope.kind === 'all' ? (await listRecords(ctx, 'businesses', { orderBy: { name: 'asc' }, take: 500 })).rows.map((b) => ({ id: b.id as string, name: b.name as string })) : null;
    return {
      businesses,
      catalog: mappingCatalog(),
      may: {
        upload: can(ctx.user, 'dataSources', 'new'),
        save: can(ctx.user, 'mappings', 'new'),
        approve: can(ctx.user, 'mappings', 'approve'),
        execute: can(ctx.user, 'mappingExecutions', 'new'),
        preview: can(ctx.user, 'mappings', 'new') && can(ctx.user, 'pii', 'view'),
      },
    };
  };
}
