import type { PageContext } from 'adminjs';
import { can } from '../core/auth/permissions.js';
import { mappingCatalog } from '../core/mapping/mappings.js';
import { businessChoices, pageContext, type AdminDeps } from '../resources/context.js';

/** The Data Sources page's starting data: the catalog to map onto, and what the caller's role may do (the API checks again). */
export function mappingPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = pageContext(deps, context, 'dataSources', 'list', 'Your role may not see data sources.');
    return {
      businesses: await businessChoices(ctx),
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
