import type { PageContext } from 'adminjs';
import { can } from '../core/auth/permissions.js';
import { allPipelines } from '../core/pipelines/registry.js';
import { todayIn } from '../core/warehouse/ranges.js';
import { businessChoices, pageContext, type AdminDeps } from '../resources/context.js';

/** The Pipelines page's starting data: businesses to pick (admins), the pipelines, today, and what the role may do (the API checks again). */
export function pipelinesPageHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined) => {
    const ctx = pageContext(deps, context, 'pipelineRuns', 'list', 'Your role may not see pipeline runs.');
    const businesses = await businessChoices(ctx);
    const ownBusiness = ctx.scope.kind === 'business' ? ctx.scope.businessId : null;
    const zone = ownBusiness ? ((await ctx.db.pool.query<{ timezone: string }>(`SELECT timezone FROM businesses WHERE id = $1`, [ownBusiness])).rows[0]?.timezone ?? 'UTC') : 'UTC';
    return {
      businesses,
      businessId: ownBusiness,
      today: todayIn(zone),
      pipelines: allPipelines().map((p) => ({ name: p.name, title: p.title })),
      may: { retry: can(ctx.user, 'pipelineRuns', 'retry'), runNow: can(ctx.user, 'pipelineRuns', 'new'), sources: can(ctx.user, 'pipelineSources', 'list') },
    };
  };
}
