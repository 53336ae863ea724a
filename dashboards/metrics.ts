import type { PageContext } from 'adminjs';
import { can } from '../core/auth/permissions.js';
import { businessChoices, pageContext, type AdminDeps } from '../resources/context.js';

/** The Metrics page's starting data. */
export function metricsPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = pageContext(deps, context, 'metrics', 'view', 'Your role may not view metrics.');
    return { businesses: await businessChoices(ctx), canSeeFeeds: can(ctx.user, 'feeds', 'list') };
  };
}
